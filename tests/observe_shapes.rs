//! `#[observe]` on every supported function shape, checked through the parsed Prometheus exposition.

mod common;

use common::{buckets, calls, errors, in_flight, scrape, telemetry, value};
use sightline::{observe, ErrorLabel};
use std::sync::Arc;

#[derive(Debug, ErrorLabel)]
enum ShapeError {
    PaymentDeclined,
    #[allow(dead_code)]
    OutOfStock {
        sku: String,
    },
    #[error_label("gateway_timeout")]
    Timeout(u32),
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShapeError::PaymentDeclined => f.write_str("payment declined"),
            ShapeError::OutOfStock { sku } => write!(f, "out of stock: {sku}"),
            ShapeError::Timeout(ms) => write!(f, "timed out after {ms} ms"),
        }
    }
}

impl From<std::num::ParseIntError> for ShapeError {
    fn from(_: std::num::ParseIntError) -> Self {
        ShapeError::Timeout(0)
    }
}

#[observe]
fn free_fn(x: u64) -> u64 {
    x + 1
}

#[observe]
fn fails(decline: bool) -> Result<u32, ShapeError> {
    if decline {
        return Err(ShapeError::PaymentDeclined);
    }
    Ok(7)
}

#[observe]
fn question_mark(s: &str) -> Result<u64, ShapeError> {
    let n: u64 = s.parse()?;
    Ok(n * 2)
}

#[observe]
fn question_in_macro(s: &str) -> Result<String, ShapeError> {
    Ok(format!("n={}", s.parse::<u8>()?))
}

type Res<T> = Result<T, ShapeError>;

#[observe]
fn aliased(fail: bool) -> Res<()> {
    if fail {
        Err(ShapeError::Timeout(30))
    } else {
        Ok(())
    }
}

#[observe]
fn io_alias(path: &str) -> std::io::Result<usize> {
    std::fs::read(path).map(|b| b.len())
}

#[observe]
fn maybe(x: Option<u8>) -> Option<u8> {
    let v = x?;
    Some(v + 1)
}

#[observe]
fn generic<T: std::fmt::Debug + Clone, U>(t: &T, _u: U) -> Vec<T>
where
    U: Into<u64>,
{
    vec![t.clone(), t.clone()]
}

#[observe]
fn impl_arg(items: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    items
        .into_iter()
        .map(|x| x * 2)
        .collect::<Vec<_>>()
        .into_iter()
}

#[observe]
fn collects(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[observe]
fn mut_param(mut v: Vec<u8>) -> usize {
    v.push(1);
    v.len()
}

#[observe]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

#[observe]
fn panics(really: bool) -> Result<(), ShapeError> {
    if really {
        panic!("boom");
    }
    Ok(())
}

#[observe]
fn borrowed_return(v: &mut Vec<u8>) -> &mut u8 {
    v.push(0);
    v.last_mut().unwrap()
}

#[observe(name = "renamed_op")]
fn original_name() {}

#[observe(buckets = [0.000_001, 0.000_01, 0.001])]
fn fast() -> u8 {
    1
}

#[observe(skip_metrics)]
fn unmetered() -> u8 {
    1
}

struct Repo {
    hits: u32,
}

impl Repo {
    #[observe]
    fn get(&self, id: u32) -> Result<u32, ShapeError> {
        if id == 0 {
            Err(ShapeError::OutOfStock { sku: "none".into() })
        } else {
            Ok(id + self.hits)
        }
    }

    #[observe]
    fn bump(&mut self) -> u32 {
        self.hits += 1;
        self.hits
    }

    #[observe]
    fn shared(self: Arc<Self>) -> u32 {
        self.hits
    }

    #[observe]
    fn build(hits: u32) -> Self {
        Repo { hits }
    }

    #[observe]
    async fn load(&self, id: u32) -> Result<u32, ShapeError> {
        tokio::task::yield_now().await;
        if id == 0 {
            return Err(ShapeError::PaymentDeclined);
        }
        Ok(id)
    }
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[observe]
    fn inner(&self) -> T {
        self.0.clone()
    }
}

trait Store {
    fn put(&self, v: u32) -> Result<u32, ShapeError>;
    #[observe(name = "Store::describe")]
    fn describe(&self) -> String {
        "store".to_string()
    }
}

impl Store for Repo {
    #[observe]
    fn put(&self, v: u32) -> Result<u32, ShapeError> {
        Ok(v)
    }
}

#[async_trait::async_trait]
trait AsyncStore {
    async fn fetch(&self, id: u32) -> Result<u32, ShapeError>;
}

struct AsyncRepo;

#[async_trait::async_trait]
impl AsyncStore for AsyncRepo {
    #[observe]
    async fn fetch(&self, id: u32) -> Result<u32, ShapeError> {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if id == 0 {
            return Err(ShapeError::Timeout(20));
        }
        Ok(id)
    }
}

#[observe]
async fn async_free(n: u32) -> Vec<u32> {
    tokio::task::yield_now().await;
    (0..n).collect()
}

#[observe]
async fn async_question(s: &str) -> Result<u64, ShapeError> {
    tokio::task::yield_now().await;
    let n: u64 = s.parse()?;
    Ok(n)
}

#[observe]
fn sleeps(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

#[observe]
async fn never_finishes() -> Result<(), ShapeError> {
    std::future::pending::<()>().await;
    Ok(())
}

#[observe]
async fn async_panics() -> u32 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

// Non-`async` functions that return futures: the call is the future's whole life.

async fn pause() {
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
}

#[observe]
fn fails_later(fail: bool) -> impl std::future::Future<Output = Result<u32, ShapeError>> + Send {
    tracing::info!(marker = "fails_later", "making the future");
    async move {
        pause().await;
        if fail {
            Err(ShapeError::PaymentDeclined)
        } else {
            Ok(1)
        }
    }
}

#[observe]
fn boxed_without_move(
    code: String,
) -> futures::future::BoxFuture<'static, Result<usize, ShapeError>> {
    Box::pin(async {
        let code = code;
        pause().await;
        if code.is_empty() {
            Err(ShapeError::Timeout(15))
        } else {
            Ok(code.len())
        }
    })
}

#[observe]
fn boxed_from_a_binding(
    n: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, ShapeError>> + Send>> {
    let fut = async move {
        pause().await;
        if n == 0 {
            Err(ShapeError::OutOfStock {
                sku: "sku-0".into(),
            })
        } else {
            Ok(n)
        }
    };
    Box::pin(fut)
}

#[observe]
fn boxed_with_early_return(
    n: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, ShapeError>> + Send>> {
    if n == 0 {
        return Box::pin(async { Err(ShapeError::PaymentDeclined) });
    }
    use futures::FutureExt as _;
    async move {
        pause().await;
        Ok(n)
    }
    .boxed()
}

#[observe]
fn future_that_panics() -> impl std::future::Future<Output = u32> {
    async {
        pause().await;
        panic!("boom later")
    }
}

#[observe]
fn future_never_ready() -> impl std::future::Future<Output = Result<(), ShapeError>> {
    async {
        std::future::pending::<()>().await;
        Ok(())
    }
}

impl Repo {
    #[observe]
    fn later(
        &self,
        fail: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, ShapeError>> + Send + '_>>
    {
        Box::pin(async move {
            pause().await;
            if fail {
                Err(ShapeError::Timeout(1))
            } else {
                Ok(self.hits)
            }
        })
    }
}

/// Every one of these was timed at construction (0 ms) and counted `ok` whatever its future returned.
#[tokio::test]
async fn functions_returning_futures_are_timed_and_judged_by_their_future() {
    let out = telemetry();
    let pending = fails_later(true);
    assert_eq!(
        in_flight("fails_later"),
        Some(1.0),
        "the call started when made"
    );
    assert_eq!(
        calls("fails_later", "error"),
        0.0,
        "not over before it is awaited"
    );
    assert!(pending.await.is_err());
    assert_eq!(fails_later(false).await.unwrap(), 1);
    assert_eq!(
        boxed_without_move(String::new())
            .await
            .unwrap_err()
            .to_string(),
        "timed out after 15 ms"
    );
    assert_eq!(boxed_without_move("abc".into()).await.unwrap(), 3);
    assert!(boxed_from_a_binding(0).await.is_err());
    assert_eq!(boxed_from_a_binding(4).await.unwrap(), 4);
    assert!(boxed_with_early_return(0).await.is_err());
    assert_eq!(boxed_with_early_return(2).await.unwrap(), 2);
    let repo = Repo { hits: 9 };
    assert!(repo.later(true).await.is_err());
    assert_eq!(repo.later(false).await.unwrap(), 9);

    for (function, kind) in [
        ("fails_later", "payment_declined"),
        ("boxed_without_move", "gateway_timeout"),
        ("boxed_from_a_binding", "out_of_stock"),
        ("boxed_with_early_return", "payment_declined"),
        ("Repo::later", "gateway_timeout"),
    ] {
        assert_eq!(calls(function, "error"), 1.0, "{function}");
        assert_eq!(errors(function, kind), 1.0, "{function}");
        assert_eq!(calls(function, "ok"), 1.0, "{function}");
        assert_eq!(in_flight(function), Some(0.0), "{function}");
        // The future sleeps 15 ms before it is ready: that is the call's duration, not 0.
        let b = buckets(
            "function_call_duration_seconds",
            &[("function", function), ("result", "ok")],
        )
        .unwrap();
        let under_10ms = b.iter().find(|(le, _)| *le == 0.01).unwrap().1;
        assert_eq!(under_10ms, 0.0, "{function} timed to completion: {b:?}");
        let line = out
            .for_function(function)
            .into_iter()
            .find(|l| l["result"] == "ok")
            .unwrap_or_else(|| panic!("{function}: a completion line"));
        assert!(line["duration_ms"].as_f64().unwrap() >= 15.0, "{line}");
    }
    // The future's construction runs inside the call's span: its line carries the call's trace ids, as
    // the completion line does.
    let made = out
        .lines()
        .into_iter()
        .find(|l| l["marker"] == "fails_later")
        .expect("the line written while making the future");
    let completion = out
        .for_function("fails_later")
        .into_iter()
        .find(|l| l["result"] == "error")
        .unwrap();
    assert_eq!(completion["error"], "payment declined");
    assert_eq!(completion["level"], "error");
    assert!(
        made["span_id"].is_string() && made["trace_id"].is_string(),
        "{made}"
    );
}

#[tokio::test]
async fn a_returned_future_that_is_dropped_or_panics_is_recorded_so() {
    telemetry();
    let r = tokio::time::timeout(std::time::Duration::from_millis(5), future_never_ready()).await;
    assert!(r.is_err());
    assert_eq!(calls("future_never_ready", "cancelled"), 1.0);
    assert_eq!(calls("future_never_ready", "ok"), 0.0);
    assert_eq!(in_flight("future_never_ready"), Some(0.0));

    let handle = tokio::spawn(future_that_panics());
    assert!(handle.await.expect_err("the task panicked").is_panic());
    assert_eq!(calls("future_that_panics", "error"), 1.0);
    assert_eq!(errors("future_that_panics", "panic"), 1.0);
    assert_eq!(calls("future_that_panics", "ok"), 0.0);
    assert_eq!(in_flight("future_that_panics"), Some(0.0));
}

/// A default method: one call site shared by every type that implements the trait.
trait Handler {
    fn fail(&self) -> bool;

    #[observe]
    fn handle(&self) -> Result<(), ShapeError> {
        if self.fail() {
            Err(ShapeError::PaymentDeclined)
        } else {
            Ok(())
        }
    }
}

macro_rules! handlers {
    ($($name:ident),*) => {$(
        struct $name(bool);
        impl Handler for $name {
            fn fail(&self) -> bool {
                self.0
            }
        }
    )*};
}
handlers!(Alpha, Beta, Gamma, Delta, Epsilon, Zeta, Eta, Theta, Iota, Kappa);

struct Generic<T>(T);
impl<T> Handler for Generic<T> {
    fn fail(&self) -> bool {
        false
    }
}

#[test]
fn a_default_method_is_named_after_each_type_that_calls_it() {
    let out = telemetry();
    Alpha(false).handle().unwrap();
    Beta(true).handle().unwrap_err();
    Beta(false).handle().unwrap();
    Alpha(false).handle().unwrap();
    Generic(1u8).handle().unwrap();
    Generic("s").handle().unwrap();
    assert_eq!(calls("Alpha::handle", "ok"), 2.0);
    assert_eq!(
        calls("Alpha::handle", "error"),
        0.0,
        "Beta's error is Beta's"
    );
    assert_eq!(calls("Beta::handle", "ok"), 1.0);
    assert_eq!(calls("Beta::handle", "error"), 1.0);
    assert_eq!(errors("Beta::handle", "payment_declined"), 1.0);
    assert_eq!(
        calls("Generic::handle", "ok"),
        2.0,
        "generic instances share a name"
    );
    assert_eq!(
        out.for_function("Beta::handle")
            .iter()
            .filter(|l| l["result"] == "error")
            .count(),
        1
    );
    // Alpha, Beta and Generic, then five more names; the ninth type on is counted as `*::handle`, said
    // once in a warning.
    Gamma(false).handle().unwrap();
    Delta(false).handle().unwrap();
    Epsilon(false).handle().unwrap();
    Zeta(false).handle().unwrap();
    Eta(false).handle().unwrap();
    Theta(true).handle().unwrap_err();
    Iota(false).handle().unwrap();
    Kappa(false).handle().unwrap();
    for name in ["Gamma", "Delta", "Epsilon", "Zeta", "Eta"] {
        assert_eq!(calls(&format!("{name}::handle"), "ok"), 1.0, "{name}");
    }
    assert_eq!(calls("Theta::handle", "error"), 0.0);
    assert_eq!(calls("*::handle", "error"), 1.0);
    assert_eq!(calls("*::handle", "ok"), 2.0);
    let warnings: Vec<_> = out
        .lines()
        .into_iter()
        .filter(|l| {
            l["target"] == "sightline"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("`handle` is called with more than 8 `Self` types"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0]["message"].as_str().unwrap().contains("name = "));
}

#[test]
fn free_function_counts_ok_and_timing() {
    telemetry();
    for i in 0..3 {
        assert_eq!(free_fn(i), i + 1);
    }
    assert_eq!(calls("free_fn", "ok"), 3.0);
    assert_eq!(calls("free_fn", "error"), 0.0);
    assert_eq!(
        value(
            "function_calls_total",
            &[
                ("function", "free_fn"),
                ("module", "observe_shapes"),
                ("result", "ok")
            ]
        ),
        Some(3.0)
    );
    let b = buckets(
        "function_call_duration_seconds",
        &[("function", "free_fn"), ("result", "ok")],
    )
    .expect("histogram exists");
    let bounds: Vec<f64> = b.iter().map(|(le, _)| *le).collect();
    assert_eq!(
        bounds,
        vec![
            0.01,
            0.05,
            0.1,
            0.2,
            0.25,
            0.5,
            1.0,
            2.0,
            2.5,
            5.0,
            10.0,
            f64::INFINITY
        ]
    );
    assert!(b.iter().all(|(_, count)| *count == 3.0), "{b:?}");
    assert_eq!(in_flight("free_fn"), Some(0.0));
}

#[test]
fn durations_land_in_the_right_buckets() {
    telemetry();
    sleeps(60);
    sleeps(1);
    let b = buckets(
        "function_call_duration_seconds",
        &[("function", "sleeps"), ("result", "ok")],
    )
    .unwrap();
    let count_at = |le: f64| b.iter().find(|(bound, _)| *bound == le).unwrap().1;
    assert_eq!(count_at(0.01), 1.0, "the 1 ms call: {b:?}");
    assert_eq!(count_at(0.05), 1.0, "the 60 ms call is above 50 ms: {b:?}");
    assert_eq!(count_at(0.1), 2.0, "{b:?}");
    assert_eq!(count_at(f64::INFINITY), 2.0);
    let sum = common::value(
        "function_call_duration_seconds_sum",
        &[("function", "sleeps"), ("result", "ok")],
    )
    .unwrap();
    assert!((0.061..1.0).contains(&sum), "sum {sum}");
}

#[test]
fn errors_are_decided_on_the_type_and_labelled() {
    telemetry();
    assert!(fails(true).is_err());
    assert!(fails(false).is_ok());
    assert_eq!(calls("fails", "error"), 1.0);
    assert_eq!(calls("fails", "ok"), 1.0);
    assert_eq!(errors("fails", "payment_declined"), 1.0);
    // Every label of the error type is exported ahead, at zero.
    assert_eq!(errors("fails", "out_of_stock"), 0.0);
    assert_eq!(
        value(
            "function_errors_total",
            &[("function", "fails"), ("error_kind", "gateway_timeout")]
        ),
        Some(0.0)
    );

    assert!(aliased(true).is_err());
    assert_eq!(errors("aliased", "gateway_timeout"), 1.0);
    assert!(io_alias("/definitely/not/here").is_err());
    assert_eq!(calls("io_alias", "error"), 1.0);
    assert_eq!(errors("io_alias", "error"), 1.0);
}

#[test]
fn question_mark_exits_are_errors_with_the_converted_kind() {
    telemetry();
    assert_eq!(question_mark("21").unwrap(), 42);
    assert!(question_mark("x").is_err());
    assert_eq!(calls("question_mark", "ok"), 1.0);
    assert_eq!(calls("question_mark", "error"), 1.0);
    assert_eq!(errors("question_mark", "gateway_timeout"), 1.0);

    assert!(question_in_macro("300").is_err());
    assert_eq!(question_in_macro("3").unwrap(), "n=3");
    assert_eq!(errors("question_in_macro", "gateway_timeout"), 1.0);
    assert_eq!(calls("question_in_macro", "ok"), 1.0);
}

#[test]
fn none_is_not_an_error() {
    telemetry();
    assert_eq!(maybe(None), None);
    assert_eq!(maybe(Some(1)), Some(2));
    assert_eq!(calls("maybe", "ok"), 2.0);
    assert_eq!(calls("maybe", "error"), 0.0);
}

#[test]
fn generics_impl_trait_and_inference_keep_working() {
    telemetry();
    assert_eq!(generic(&"a", 3u8), vec!["a", "a"]);
    assert_eq!(impl_arg(vec![1, 2]).collect::<Vec<_>>(), vec![2, 4]);
    assert_eq!(collects(3), vec![0, 1, 2]);
    assert_eq!(mut_param(vec![]), 1);
    let mut v = vec![];
    *borrowed_return(&mut v) = 9;
    assert_eq!(v, vec![9]);
    for f in [
        "generic",
        "impl_arg",
        "collects",
        "mut_param",
        "borrowed_return",
    ] {
        assert_eq!(calls(f, "ok"), 1.0, "{f}");
    }
}

#[test]
fn track_caller_still_reports_the_caller() {
    telemetry();
    let line = line!() + 1;
    let reported = caller_line();
    assert_eq!(reported, line);
}

#[test]
fn panics_propagate_and_count_once() {
    telemetry();
    let caught = std::panic::catch_unwind(|| panics(true));
    let payload = caught.expect_err("the panic propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(calls("panics", "error"), 1.0);
    assert_eq!(errors("panics", "panic"), 1.0);
    assert_eq!(in_flight("panics"), Some(0.0));
}

#[test]
fn names_options_and_buckets() {
    telemetry();
    original_name();
    assert_eq!(calls("renamed_op", "ok"), 1.0);
    assert_eq!(calls("original_name", "ok"), 0.0);

    fast();
    let b = buckets(
        "function_call_duration_seconds",
        &[("function", "fast"), ("result", "ok")],
    )
    .unwrap();
    let bounds: Vec<f64> = b.iter().map(|(le, _)| *le).collect();
    assert_eq!(bounds, vec![0.000_001, 0.000_01, 0.001, f64::INFINITY]);
    assert_eq!(b.last().unwrap().1, 1.0);

    unmetered();
    assert!(value("function_calls_total", &[("function", "unmetered")]).is_none());
}

#[test]
fn methods_are_named_after_their_type() {
    telemetry();
    let mut repo = Repo::build(1);
    assert_eq!(repo.get(2).unwrap(), 3);
    assert!(repo.get(0).is_err());
    assert_eq!(repo.bump(), 2);
    assert_eq!(Arc::new(Repo { hits: 5 }).shared(), 5);
    assert_eq!(repo.put(4).unwrap(), 4);
    assert_eq!(repo.describe(), "store");
    assert_eq!(Wrapper(String::from("w")).inner(), "w");

    assert_eq!(calls("Repo::get", "ok"), 1.0);
    assert_eq!(calls("Repo::get", "error"), 1.0);
    assert_eq!(errors("Repo::get", "out_of_stock"), 1.0);
    assert_eq!(calls("Repo::bump", "ok"), 1.0);
    assert_eq!(calls("Repo::shared", "ok"), 1.0);
    assert_eq!(calls("Repo::put", "ok"), 1.0);
    assert_eq!(
        calls("build", "ok"),
        1.0,
        "associated functions use the bare name"
    );
    assert_eq!(calls("Store::describe", "ok"), 1.0);
    assert_eq!(
        calls("Wrapper::inner", "ok"),
        1.0,
        "generic arguments are stripped"
    );
}

#[tokio::test]
async fn async_functions_methods_and_async_trait() {
    telemetry();
    assert_eq!(async_free(2).await, vec![0, 1]);
    assert_eq!(async_question("5").await.unwrap(), 5);
    assert!(async_question("five").await.is_err());
    let repo = Repo { hits: 0 };
    assert!(repo.load(0).await.is_err());
    assert_eq!(repo.load(3).await.unwrap(), 3);
    assert_eq!(AsyncRepo.fetch(1).await.unwrap(), 1);
    assert!(AsyncRepo.fetch(0).await.is_err());

    assert_eq!(calls("async_free", "ok"), 1.0);
    assert_eq!(calls("async_question", "ok"), 1.0);
    assert_eq!(errors("async_question", "gateway_timeout"), 1.0);
    assert_eq!(calls("Repo::load", "error"), 1.0);
    assert_eq!(errors("Repo::load", "payment_declined"), 1.0);
    assert_eq!(calls("AsyncRepo::fetch", "ok"), 1.0);
    assert_eq!(errors("AsyncRepo::fetch", "gateway_timeout"), 1.0);
    // The async_trait body is timed, not just the boxing of its future: each call sleeps 20 ms.
    let b = buckets(
        "function_call_duration_seconds",
        &[("function", "AsyncRepo::fetch"), ("result", "ok")],
    )
    .unwrap();
    let under_10ms = b.iter().find(|(le, _)| *le == 0.01).unwrap().1;
    assert_eq!(under_10ms, 0.0, "the 20 ms body was timed: {b:?}");
    assert_eq!(in_flight("AsyncRepo::fetch"), Some(0.0));
}

#[tokio::test]
async fn dropped_futures_are_cancelled_and_unpolled_ones_not_counted() {
    telemetry();
    let unpolled = never_finishes();
    drop(unpolled);
    assert_eq!(calls("never_finishes", "cancelled"), 0.0);

    let r = tokio::time::timeout(std::time::Duration::from_millis(5), never_finishes()).await;
    assert!(r.is_err(), "timed out");
    assert_eq!(calls("never_finishes", "cancelled"), 1.0);
    assert_eq!(calls("never_finishes", "error"), 0.0);
    assert_eq!(in_flight("never_finishes"), Some(0.0));
    assert_eq!(
        scrape()
            .find("function_errors_total", &[("function", "never_finishes")])
            .map(|s| s.value)
            .sum::<f64>(),
        0.0,
        "a cancellation is not an error"
    );
}

#[tokio::test]
async fn async_panics_are_errors_not_cancellations() {
    telemetry();
    let handle = tokio::spawn(async_panics());
    let err = handle.await.expect_err("the task panicked");
    assert!(err.is_panic());
    assert_eq!(calls("async_panics", "error"), 1.0);
    assert_eq!(calls("async_panics", "cancelled"), 0.0);
    assert_eq!(errors("async_panics", "panic"), 1.0);
    assert_eq!(in_flight("async_panics"), Some(0.0));
    let line = telemetry()
        .for_function("async_panics")
        .into_iter()
        .next()
        .expect("a completion line");
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("panicked at tests/observe_shapes.rs:")
            && error.ends_with(": async boom"),
        "the panic's message and location: {error:?}"
    );
}
