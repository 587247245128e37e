//! Malformed input never panics a macro: each case of [`CASES`] gives an expansion that parses as Rust,
//! passes a half-written function through untouched, or gives `compile_error!`s spanned at the offending
//! token, with the item still emitted beside them.
//!
//! Inputs are parsed from strings with `proc-macro2`'s `span-locations`, so every token knows where it
//! came from and an error's span can be compared with the text it should point at.

use crate::arguments::Mode;
use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

#[derive(Clone, Copy, Debug)]
enum Entry {
    /// `#[observe(..)] item`: the source is the attribute followed by the item.
    Observe,
    /// `#[business_span(..)] item`.
    Business,
    /// `objective!(..)`: the source is what goes between the parentheses.
    Objective,
    /// `#[derive(LabelValue)]`: the source is the item.
    LabelValue,
    /// `#[derive(ErrorLabel)]`.
    ErrorLabel,
}
use Entry::*;

enum Expect {
    /// An expansion without `compile_error!` that parses as Rust.
    Expands,
    /// The item is given back as it is: a function that does not parse yet, where the compiler's own
    /// syntax error is the useful one.
    Untouched,
    /// Exactly these errors, each `(text, fragment)`: spanned at the first occurrence of `text` in the
    /// source, with `fragment` in the message.
    Errors(&'static [(&'static str, &'static str)]),
    /// One error with `fragment` in its message, at the call site: the input has no token to point at.
    AtCallSite(&'static str),
}
use Expect::*;

struct Case {
    entry: Entry,
    source: &'static str,
    expect: Expect,
}

const fn ok(entry: Entry, source: &'static str) -> Case {
    Case {
        entry,
        source,
        expect: Expands,
    }
}

const fn err(
    entry: Entry,
    source: &'static str,
    errors: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        entry,
        source,
        expect: Errors(errors),
    }
}

const fn untouched(entry: Entry, source: &'static str) -> Case {
    Case {
        entry,
        source,
        expect: Untouched,
    }
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // name
    err(Observe, r#"#[observe(name = 5)] fn f() {}"#, &[("5", r#"`name` must be a string literal, e.g. name = "charge""#)]),
    err(Observe, r#"#[observe(name = charge)] fn f() {}"#, &[("charge", "must be a string literal")]),
    err(Observe, r#"#[observe(name "charge")] fn f() {}"#, &[(r#""charge""#, "expected `=`")]),
    err(Observe, r#"#[observe(name)] fn f() {}"#, &[("name", "expected `=`")]),
    err(Observe, r#"#[observe(name =)] fn f() {}"#, &[("=", "expected an expression")]),
    err(Observe, r#"#[observe(name = "")] fn f() {}"#, &[(r#""""#, "`name` must not be empty")]),
    err(Observe, r#"#[observe(name = "a", name = "b")] fn f() {}"#, &[(r#"name = "b""#, "duplicate argument `name`")]),
    err(Observe, r#"#[observe(name = "a" "b")] fn f() {}"#, &[(r#""b""#, "expected `,`")]),
    // unknown arguments
    err(Observe, r#"#[observe(nmae = "x")] fn f() {}"#, &[("nmae", "did you mean `name`?")]),
    err(Observe, r#"#[observe(bucket = [1.0])] fn f() {}"#, &[("bucket", "did you mean `buckets`?")]),
    err(Observe, r#"#[observe(foo)] fn f() {}"#, &[("foo", "expected one of: name, route")]),
    err(Observe, r#"#[observe(attrs(a = 1))] fn f() {}"#, &[("attrs", "write `fields(...)` on #[observe]")]),
    err(Observe, r#"#[observe(r#name = "x")] fn f() {}"#, &[("r#name", "did you mean `name`?")]),
    // route and method
    err(Observe, r#"#[observe(route = "/orders/{id}")] fn f() {}"#, &[(r#""/orders/{id}""#, "needs both `route` and `method`")]),
    err(Observe, r#"#[observe(method = "GET")] fn f() {}"#, &[(r#""GET""#, "needs both `route` and `method`")]),
    err(Observe, r#"#[observe(route = "orders", method = "GET")] fn f() {}"#, &[(r#""orders""#, r#"starts with `/`, e.g. route = "/orders""#)]),
    err(Observe, r#"#[observe(route = "/orders?page=1", method = "GET")] fn f() {}"#, &[(r#""/orders?"#, "no spaces, query or fragment")]),
    err(Observe, r#"#[observe(route = "/o", method = "get")] fn f() {}"#, &[(r#""get""#, r#"write it in upper case: method = "GET""#)]),
    err(Observe, r#"#[observe(route = "/o", method = "FETCH")] fn f() {}"#, &[(r#""FETCH""#, "expected one of: GET, POST")]),
    err(Observe, r#"#[observe(route = "/o", method = GET)] fn f() {}"#, &[("GET", r#"e.g. method = "POST""#)]),
    err(Observe, r#"#[observe(route = /orders, method = "GET")] fn f() {}"#, &[("/orders", "expected an expression")]),
    err(Observe, r#"#[observe(route = "/o", method = "GET", route = "/p")] fn f() {}"#, &[(r#"route = "/p""#, "duplicate argument `route`")]),
    // fields and redact
    err(Observe, r#"#[observe(fields(password = pw))] fn f(pw: &str) {}"#, &[("password", "redact(password = ...)")]),
    err(Observe, r#"#[observe(fields(API_KEY = key))] fn f(key: &str) {}"#, &[("API_KEY", "it contains `api_key`")]),
    err(Observe, r#"#[observe(fields(user.password_hash = h))] fn f(h: u64) {}"#, &[("user.password_hash", "looks like a secret")]),
    err(Observe, r#"#[observe(fields(a))] fn f() {}"#, &[("a))", "expected `a = <expression>`")]),
    err(Observe, r#"#[observe(fields(a = ))] fn f() {}"#, &[("))", "expected an expression")]),
    err(Observe, r#"#[observe(fields = (a = 1))] fn f() {}"#, &[("fields", "`fields` takes a list: fields(name = expr")]),
    err(Observe, r#"#[observe(fields[a = 1])] fn f() {}"#, &[("fields", "`fields` takes a list")]),
    err(Observe, r#"#[observe(fields(a = 1), fields(b = 2))] fn f() {}"#, &[("fields(b", "duplicate argument `fields`")]),
    err(Observe, r#"#[observe(fields(), fields(b = 2))] fn f() {}"#, &[("fields(b", "duplicate argument `fields`")]),
    err(Observe, r#"#[observe(fields(a = 1, a = 2))] fn f() {}"#, &[("a = 2", "field `a` is given twice")]),
    err(Observe, r#"#[observe(fields(a = 1), redact(a = 2))] fn f() {}"#, &[("a = 2", "field `a` is given twice")]),
    err(Observe, r#"#[observe(fields(result = r))] fn f(r: u8) {}"#, &[("result", "choose another name, e.g. `result_value`")]),
    err(Observe, r#"#[observe(fields(a = 1,, b = 2))] fn f() {}"#, &[(",, b", "expected ident")]),
    err(Observe, r#"#[observe(fields(7 = x))] fn f() {}"#, &[("7", "expected ident")]),
    err(Observe, r#"#[observe(redact(token))] fn f() {}"#, &[("token", "expected `token = <expression>`")]),
    err(Observe, r#"#[observe(redact = 1)] fn f() {}"#, &[("redact", "`redact` takes a list")]),
    err(Observe, r#"#[observe(redact(), redact(b = 2))] fn f() {}"#, &[("redact(b", "duplicate argument `redact`")]),
    ok(Observe, r#"#[observe(fields(order.total = order.total(), r#type = kind), redact(password = pw))] fn f(order: &Order, kind: u8, pw: &str) {}"#),
    ok(Observe, r#"#[observe(fields())] fn f() {}"#),
    // log and level
    err(Observe, r#"#[observe(log = "verbose")] fn f() {}"#, &[(r#""verbose""#, r#"expected one of: "all" (default), "errors", "off""#)]),
    err(Observe, r#"#[observe(log = errors)] fn f() {}"#, &[("errors", r#"e.g. log = "errors""#)]),
    err(Observe, r#"#[observe(log = "errors", level = "debug")] fn f() {}"#, &[(r#""debug""#, "writes no success line")]),
    err(Observe, r#"#[observe(level = "DEBUG")] fn f() {}"#, &[(r#""DEBUG""#, "unknown level")]),
    err(Observe, r#"#[observe(level = 3)] fn f() {}"#, &[("3", r#"e.g. level = "debug""#)]),
    err(Observe, r#"#[observe(level = "debug", level = "warn")] fn f() {}"#, &[(r#"level = "warn""#, "duplicate argument `level`")]),
    // buckets and skip_metrics
    err(Observe, r#"#[observe(buckets = [])] fn f() {}"#, &[("[]", "needs at least one bound")]),
    err(Observe, r#"#[observe(buckets = [0.5, 0.1])] fn f() {}"#, &[("0.1", "strictly increasing: 0.1 comes after 0.5")]),
    err(Observe, r#"#[observe(buckets = [0.1, 0.1])] fn f() {}"#, &[("0.1]", "strictly increasing")]),
    err(Observe, r#"#[observe(buckets = [-1.0, 1.0])] fn f() {}"#, &[("-1.0", "number literals in seconds")]),
    err(Observe, r#"#[observe(buckets = [0.0, 1.0])] fn f() {}"#, &[("0.0", "greater than 0")]),
    err(Observe, r#"#[observe(buckets = [1e999])] fn f() {}"#, &[("1e999", "finite")]),
    err(Observe, r#"#[observe(buckets = [NaN])] fn f() {}"#, &[("NaN", "number literals in seconds")]),
    err(Observe, r#"#[observe(buckets = ["0.1"])] fn f() {}"#, &[(r#""0.1""#, "number literals")]),
    err(Observe, r#"#[observe(buckets = 0.1)] fn f() {}"#, &[("0.1", "expected square brackets")]),
    err(Observe, r#"#[observe(buckets)] fn f() {}"#, &[("buckets", "expected `=`")]),
    err(Observe, r#"#[observe(buckets = [0.1], skip_metrics)] fn f() {}"#, &[("skip_metrics", "`skip_metrics` records no histogram")]),
    err(Observe, r#"#[observe(skip_metrics, skip_metrics)] fn f() {}"#, &[("skip_metrics)", "duplicate argument `skip_metrics`")]),
    err(Observe, r#"#[observe(skip_metrics = true)] fn f() {}"#, &[("= true", "expected `,`")]),
    // metric, labels, max_series
    err(Observe, r#"#[observe(metric = "payments_total")] fn f() {}"#, &[(r#""payments_total""#, "give `metric` the bare name")]),
    err(Observe, r#"#[observe(metric = "2fast")] fn f() {}"#, &[(r#""2fast""#, "not a valid Prometheus metric name")]),
    err(Observe, r#"#[observe(metric = "sightline_x")] fn f() {}"#, &[(r#""sightline_x""#, "prefix is reserved")]),
    err(Observe, r#"#[observe(metric = "function_calls")] fn f() {}"#, &[(r#""function_calls""#, "choose another name")]),
    err(Observe, r#"#[observe(labels(region = "eu"))] fn f() {}"#, &[("labels", r#"needs `metric = "...""#)]),
    err(Observe, r#"#[observe(metric = "pay", labels(user_id = id))] fn f(id: u64) {}"#, &[("user_id", "record it with fields(user_id = ...) instead")]),
    err(Observe, r#"#[observe(metric = "pay", labels(session_token = t))] fn f(t: &str) {}"#, &[("session_token", "redact(session_token = ...)")]),
    err(Observe, r#"#[observe(metric = "pay", labels(email = e))] fn f(e: &str) {}"#, &[("email", "one series per email address")]),
    err(Observe, r#"#[observe(metric = "pay", labels(order.kind = k))] fn f() {}"#, &[("order", "no dots")]),
    err(Observe, r#"#[observe(metric = "pay", labels(region))] fn f() {}"#, &[("region", "each label needs a value")]),
    err(Observe, r#"#[observe(metric = "pay", labels(region = 5))] fn f() {}"#, &[("5", r#"e.g. region = "eu""#)]),
    err(Observe, r#"#[observe(metric = "pay", labels(result = "x"))] fn f() {}"#, &[("result", "shadows a label sightline sets itself")]),
    err(Observe, r#"#[observe(metric = "pay", labels(__x = "a"))] fn f() {}"#, &[("__x", "not a valid Prometheus label name")]),
    err(Observe, r#"#[observe(metric = "pay", labels(region = "eu", region = "us"))] fn f() {}"#, &[(r#"region = "us""#, "label `region` is given twice")]),
    err(Observe, r#"#[observe(metric = "pay", labels = "eu")] fn f() {}"#, &[("labels", "`labels` takes a list")]),
    err(Observe, r#"#[observe(metric = "pay", labels(region = "eu"), skip_metrics)] fn f() {}"#, &[("skip_metrics", "`labels(...)` would have no effect")]),
    err(Observe, r#"#[observe(route = "/o", method = "GET", metric = "pay", labels(region = "eu"))] fn f() {}"#, &[(r#""/o""#, "put `labels(...)` on the functions the handler calls")]),
    err(Observe, r#"#[observe(metric = "pay", labels(region = "eu"), max_series = 0)] fn f() {}"#, &[("0)", "`max_series` is a positive number")]),
    err(Observe, r#"#[observe(metric = "pay", labels(region = "eu"), max_series = 99999999999999999999999)] fn f() {}"#, &[("999", "`max_series` is a positive number")]),
    err(Observe, r#"#[observe(max_series = 100)] fn f() {}"#, &[("100", "this function has none")]),
    err(Observe, r#"#[observe(max_series = "100")] fn f() {}"#, &[(r#""100""#, "e.g. max_series = 5000")]),
    ok(Observe, r#"#[observe(metric = "payment_charges", labels(provider = req.provider, region = "eu"), max_series = 5000)] fn f(req: &Req) {}"#),
    // objective
    err(Observe, r#"#[observe(objective)] fn f() {}"#, &[("objective", "or objective = NAME for a shared `const`")]),
    err(Observe, r#"#[observe(objective =)] fn f() {}"#, &[("=", "expected identifier")]),
    err(Observe, r#"#[observe(objective = "fast")] fn f() {}"#, &[(r#""fast""#, "expected identifier")]),
    err(Observe, r#"#[observe(objective(latency = "2"))] fn f() {}"#, &[(r#""2""#, r#"needs a unit: "2s""#)]),
    err(Observe, r#"#[observe(objective(latency = "3s"))] fn f() {}"#, &[(r#""3s""#, "must be a histogram bucket bound")]),
    err(Observe, r#"#[observe(objective(percentile = 99))] fn f() {}"#, &[("percentile", "give latency = \"...\" too")]),
    err(Observe, r#"#[observe(objective())] fn f() {}"#, &[("objective", "an objective needs latency")]),
    err(Observe, r#"#[observe(objective(latency = "2s", percentile = 100))] fn f() {}"#, &[("100", "a number in (0, 100)")]),
    err(Observe, r#"#[observe(objective(error_rate = 1))] fn f() {}"#, &[("1)", r#"such as "1%""#)]),
    err(Observe, r#"#[observe(objective(latncy = "2s"))] fn f() {}"#, &[("latncy", "unknown objective setting `latncy`")]),
    err(Observe, r#"#[observe(objective(latency "2s"))] fn f() {}"#, &[(r#""2s""#, "expected `=`")]),
    err(Observe, r#"#[observe(objective(latency))] fn f() {}"#, &[("latency", "expected `=`")]),
    err(Observe, r#"#[observe(objective = A, objective(error_rate = "1%"))] fn f() {}"#, &[("objective(", "duplicate argument `objective`")]),
    ok(Observe, r#"#[observe(objective(latency = "1s", percentile = 99.9, error_rate = "0.1%"))] fn f() {}"#),
    ok(Observe, r#"#[observe(objective = slo::CHECKOUT)] fn f() {}"#),
    // crate
    err(Observe, r#"#[observe(crate)] fn f() {}"#, &[("crate", "expected `=`")]),
    err(Observe, r#"#[observe(crate =)] fn f() {}"#, &[("=", "expected identifier")]),
    err(Observe, r#"#[observe(crate = "sightline")] fn f() {}"#, &[(r#""sightline""#, "expected identifier")]),
    ok(Observe, r#"#[observe(crate = ::my::sightline)] fn f() {}"#),
    // stray punctuation and literals
    err(Observe, r#"#[observe(,)] fn f() {}"#, &[(",", "expected an argument of #[observe]: name, route")]),
    err(Observe, r#"#[observe(name = "a",, log = "off")] fn f() {}"#, &[(",, log", "expected an argument of #[observe]")]),
    err(Observe, r#"#[observe(name = "a"; log = "off")] fn f() {}"#, &[(";", "expected `,`")]),
    err(Observe, r#"#[observe(name = "a" log = "off")] fn f() {}"#, &[("log", "expected `,`")]),
    err(Observe, r#"#[observe("charge")] fn f() {}"#, &[(r#""charge""#, "expected an argument of #[observe]")]),
    err(Observe, r#"#[observe(@)] fn f() {}"#, &[("@", "expected an argument of #[observe]")]),
    err(Observe, r#"#[observe(42, name = 7)] fn f() {}"#, &[("42", "expected an argument of #[observe]"), ("7", "must be a string literal")]),
    err(Observe, r#"#[observe((name = "a"))] fn f() {}"#, &[("(name", "expected an argument of #[observe]")]),
    ok(Observe, r#"#[observe(name = "a",)] fn f() {}"#),
    // An unknown key hides neither a bad value nor a mistake the checks find.
    err(Observe, r#"#[observe(nmae = "x", log = 1, buckets = [])] fn f() {}"#, &[("nmae", "did you mean `name`?"), ("1,", "must be a string literal"), ("[]", "at least one bound")]),
    err(Observe, r#"#[observe(route = "/refunds/:id/*rest", method = "POST")] fn f() {}"#, &[(r#""/refunds"#, "`{id}` for `:id`, `{*rest}` for `*rest`, i.e. route = \"/refunds/{id}/{*rest}\"")]),
    err(Observe, r#"#[observe(route = "/x", method = 5)] fn f() {}"#, &[("5", "`method` must be a string literal")]),
    // items that are not functions
    err(Observe, r#"#[observe] struct S;"#, &[("struct", "#[observe] goes on a function, not on a struct")]),
    err(Observe, r#"#[observe] pub struct S { a: u8 }"#, &[("pub", "not on a struct")]),
    err(Observe, r#"#[observe] const C: u8 = 1;"#, &[("const", "not on a const")]),
    err(Observe, r#"#[observe] static S: u8 = 1;"#, &[("static", "not on a static")]),
    err(Observe, r#"#[observe] use std::fmt;"#, &[("use", "not on a use declaration")]),
    err(Observe, r#"#[observe] enum E { A }"#, &[("enum", "not on an enum")]),
    err(Observe, r#"#[observe] impl S { fn f(&self) {} }"#, &[("impl", "put it on the methods instead")]),
    err(Observe, r#"#[observe] trait T { fn f(&self) {} }"#, &[("trait", "put it on the default methods")]),
    err(Observe, r#"#[observe] mod m {}"#, &[("mod", "not on a module")]),
    err(Observe, r#"#[observe] type A = u8;"#, &[("type", "not on a type alias")]),
    err(Observe, r#"#[observe] extern "C" { fn f(); }"#, &[("extern", "not on this item")]),
    err(Observe, r#"#[observe] macro_rules! m { () => {} }"#, &[("macro_rules", "not on a macro invocation")]),
    // functions that cannot be observed
    err(Observe, r#"#[observe] const fn f() -> u8 { 1 }"#, &[("const", "cannot instrument a `const fn`")]),
    err(Observe, r#"#[observe] fn f(&self);"#, &[(";", "needs a function body")]),
    err(Observe, r#"#[observe] fn f() -> ! { loop {} }"#, &[("!", "returning `!`")]),
    err(Observe, r#"#[observe] unsafe extern "C" fn f(a: i32, ...) {}"#, &[("...", "variadic")]),
    err(Observe, r#"#[observe(fields(password = p), log = "never", buckets = [2.0, 1.0])] const fn f() -> ! { loop {} }"#, &[
        ("const", "`const fn`"),
        ("!", "returning `!`"),
        ("password", "looks like a secret"),
        (r#""never""#, "unknown log mode"),
        ("1.0", "strictly increasing"),
    ]),
    // functions that do not parse yet: passed through for the compiler to report
    untouched(Observe, r#"#[observe]"#),
    untouched(Observe, r#"#[observe] fn f(x: ) {}"#),
    untouched(Observe, r#"#[observe] fn f() { let x = ; }"#),
    untouched(Observe, r#"#[observe] fn f() -> { 1 }"#),
    untouched(Observe, r#"#[observe] @ # $ ~"#),
    untouched(Observe, r#"#[observe] fn f() {} fn g() {}"#),
    untouched(Observe, r#"#[observe(nmae = "x")] fn f() { if }"#),
    // shapes that expand
    ok(Observe, r#"#[observe] extern "C" fn f() {}"#),
    ok(Observe, r#"#[observe] async fn f() -> Result<u8, E> { g().await?; Ok(1) }"#),
    ok(Observe, r#"#[observe] pub unsafe fn f<'a, T: Clone, const N: usize>(x: [T; N], s: &'a str) -> impl Iterator<Item = T> + 'a where T: Default + 'a { x.into_iter() }"#),
    ok(Observe, r#"#[observe] async fn f(x: impl Into<u8>) -> impl Future<Output = ()> { async {} }"#),
    ok(Observe, r#"#[observe] fn f() -> Result<u8, E> {
        let c = |x: u8| -> Result<u8, E> { if x > 1 { return Ok(x); } let y = g(x)?; Ok(y) };
        let d = move || async move { h().await?; Ok::<_, E>(()) };
        let v = c(1)?;
        if v == 0 { return Err(E); }
        'l: loop { break 'l; }
        Ok(v)
    }"#),
    ok(Observe, r#"#[observe] fn f() -> Result<String, E> {
        let s = format!("{}", load()?);
        assert_eq!(parse(&s)?, 3);
        my_macro!(a => b?);
        vec![1, 2, 3].len();
        Ok(s)
    }"#),
    ok(Observe, r#"#[observe] fn f() -> Option<u8> { fn inner() -> Option<u8> { Some(1)?; None } const _: () = (); inner() }"#),
    ok(Observe, r#"#[observe] fn f() { #![allow(unused)] let x = 1; return; }"#),
    ok(Observe, r#"#[observe] #[track_caller] #[must_use] pub(crate) fn f(&mut self, mut x: u8) -> u8 { x += 1; x }"#),
    ok(Observe, r#"#[observe] fn f(self: Arc<Self>) {}"#),
    ok(Observe, r#"#[observe] fn r#match() -> Result<(), E> { return Err(E)?; }"#),
    ok(Observe, r#"#[observe] fn f<'a>(&'a self) -> Pin<Box<dyn Future<Output = u8> + Send + 'a>> { Box::pin(async move { 1 }) }"#),
    ok(Observe, r#"#[observe(route = "/api/v1/orders/{id}", method = "POST", buckets = [0.01, 0.1, 1], log = "errors")] async fn create(id: u64) -> StatusCode { StatusCode::OK }"#),
    // business_span
    ok(Business, r#"#[business_span] fn process_order() {}"#),
    ok(Business, r#"#[business_span("process-order", attrs(order.total = total), redact(password = pw), log = "all", level = "warn")] async fn f(total: u64, pw: &str) {}"#),
    err(Business, r#"#[business_span(process_order)] fn f() {}"#, &[("process_order", r#"e.g. #[business_span("process-order")]"#)]),
    err(Business, r#"#[business_span(42)] fn f() {}"#, &[("42", "the operation name is a string literal")]),
    err(Business, r#"#[business_span("")] fn f() {}"#, &[(r#""""#, "must not be empty")]),
    err(Business, "#[business_span(\"a\tb\")] fn f() {}", &[("\"a", "at most 100 printable characters")]),
    err(Business, r#"#[business_span("op", name = "x")] fn f() {}"#, &[("name", "the name is the first argument")]),
    err(Business, r#"#[business_span("op", fields(a = 1))] fn f() {}"#, &[("fields", "write `attrs(...)` on a business span")]),
    err(Business, r#"#[business_span("op", route = "/x")] fn f() {}"#, &[("route", "handler mode is #[observe(route = .., method = ..)]")]),
    err(Business, r#"#[business_span("op", attrs(card_number = n))] fn f(n: u64) {}"#, &[("card_number", "exported in clear")]),
    err(Business, r#"#[business_span("op" "op2")] fn f() {}"#, &[(r#""op2""#, "expected `,`")]),
    err(Business, r#"#[business_span("op", "op2")] fn f() {}"#, &[(r#""op2""#, "expected an argument of #[business_span]: a name literal first, then attrs(...)")]),
    err(Business, r#"#[business_span("op", attrs = 1)] fn f() {}"#, &[("attrs", "`attrs` takes a list")]),
    err(Business, r#"#[business_span("op", atrs(a = 1))] fn f() {}"#, &[("atrs", "did you mean `attrs`?")]),
    err(Business, r#"#[business_span("op")] struct S;"#, &[("struct", "#[business_span] goes on a function")]),
    // objective!
    ok(Objective, r#"latency = "250ms", percentile = 99.9, error_rate = "0.1%""#),
    ok(Objective, r#"error_rate = "1%","#),
    Case { entry: Objective, source: "", expect: AtCallSite("an objective needs latency") },
    err(Objective, r#"percentile = 99"#, &[("percentile", "give latency = \"...\" too")]),
    err(Objective, r#"latency = 2s"#, &[("2s", "`latency` is a duration literal")]),
    err(Objective, r#"latency = "-1s""#, &[(r#""-1s""#, "not a positive duration")]),
    err(Objective, r#"latency = "NaNs""#, &[(r#""NaNs""#, "not a positive duration")]),
    err(Objective, r#"latency = "1e400s""#, &[(r#""1e400s""#, "not a positive duration")]),
    err(Objective, r#"latency = "2s", latency = "3s""#, &[(r#"latency = "3s""#, "duplicate objective setting `latency`")]),
    err(Objective, r#"error_rate = "150%""#, &[(r#""150%""#, "a percentage in (0, 100)")]),
    err(Objective, r#"error_rate = "1""#, &[(r#""1""#, "a percentage in (0, 100)")]),
    err(Objective, r#"latency = "2s" error_rate = "1%""#, &[("error_rate", "expected `,`")]),
    err(Objective, r#"latency"#, &[("latency", "expected `=`")]),
    err(Objective, r#"latency ="#, &[("=", "expected an expression")]),
    err(Objective, r#"5 = 3"#, &[("5", "expected identifier")]),
    err(Objective, r#"a::b = "1""#, &[("a::b", r#"expected latency = "2s""#)]),
    err(Objective, r#"latency = "2s";"#, &[(";", "expected `,`")]),
    ok(Objective, r#"crate = ::my::sightline, latency = "2s""#),
    err(Objective, r#"crate = "sightline", latency = "2s""#, &[(r#""sightline""#, "expected identifier")]),
    err(Objective, r#"latency = "2s", crate = ::my::sightline"#, &[("crate", "`crate = path` goes first in objective!")]),
    Case { entry: Objective, source: "crate = ::my::sightline", expect: AtCallSite("an objective needs latency") },
    // derive(LabelValue)
    ok(LabelValue, r#"enum Provider { Stripe, #[label("pay-pal")] PayPal }"#),
    ok(LabelValue, r#"enum E<T> where T: Copy { A = 1, B }"#),
    ok(LabelValue, r#"enum Never {}"#),
    err(LabelValue, r#"struct S;"#, &[("S", "LabelValue can be derived for fieldless enums")]),
    err(LabelValue, r#"union U { a: u8 }"#, &[("U", "fieldless enums")]),
    err(LabelValue, r#"enum E { A(u8), B { x: u8 }, C }"#, &[("(u8)", "a label value variant has no fields"), ("{ x", "has no fields")]),
    err(LabelValue, r#"enum E { #[label(5)] A }"#, &[("#[label(5)]", r#"expected #[label("label_value")]"#)]),
    err(LabelValue, r#"enum E { #[label = "a"] A }"#, &[("#[label =", r#"expected #[label("label_value")]"#)]),
    err(LabelValue, r#"enum E { #[label] A }"#, &[("#[label]", r#"expected #[label("label_value")]"#)]),
    err(LabelValue, r#"enum E { #[label("")] A }"#, &[(r#""""#, "non-empty printable text")]),
    err(LabelValue, r#"enum E { #[label("a\nb")] A }"#, &[(r#""a\nb""#, "non-empty printable text")]),
    err(LabelValue, r#"enum E { #[label("a")] #[label("b")] A }"#, &[(r#"#[label("b")]"#, "duplicate #[label]")]),
    err(LabelValue, r#"fn f() {}"#, &[("fn", "expected one of: `struct`, `enum`, `union`")]),
    ok(LabelValue, r#"#[sightline(crate = ::my::sightline)] enum Provider { Stripe }"#),
    err(LabelValue, r#"#[sightline(krate = my)] enum E { A }"#, &[("krate", "write #[sightline(crate = path::to::sightline)]")]),
    err(LabelValue, r#"#[sightline(crate = "my")] enum E { A }"#, &[(r#""my""#, "expected identifier")]),
    err(LabelValue, r#"#[sightline] enum E { A }"#, &[("sightline", "write #[sightline(crate = path::to::sightline)]")]),
    err(LabelValue, r#"#[sightline(crate = a)] #[sightline(crate = b)] enum E { A }"#, &[("#[sightline(crate = b)]", "duplicate #[sightline(crate = ..)]")]),
    Case { entry: LabelValue, source: "", expect: AtCallSite("unexpected end of input") },
    // derive(ErrorLabel)
    ok(ErrorLabel, r#"enum E { A(u8), B { x: String }, #[error_label("timed_out")] C }"#),
    ok(ErrorLabel, r#"struct S<T>(T) where T: Clone;"#),
    ok(ErrorLabel, r#"#[error_label("declined")] struct Declined { code: u16 }"#),
    err(ErrorLabel, r#"union U { a: u8 }"#, &[("union", "not unions")]),
    ok(ErrorLabel, r#"enum E { #[error_label(expected)] Declined, #[error_label(expected, "invalid")] Bad, #[error_label("timed_out", expected)] T, Down }"#),
    ok(ErrorLabel, r#"#[error_label(expected)] struct Declined;"#),
    err(ErrorLabel, r#"#[error_label(oops)] struct S;"#, &[("oops", r#"write #[error_label("label")], #[error_label(expected)]"#)]),
    err(ErrorLabel, r#"enum E { #[error_label("")] A }"#, &[(r#""""#, "non-empty printable text")]),
    err(ErrorLabel, r#"enum E { #[error_label("a", "b")] A }"#, &[(r#""b""#, "the label is given twice")]),
    err(ErrorLabel, r#"enum E { #[error_label(expected, expected)] A }"#, &[("expected)", "`expected` is given twice")]),
    err(ErrorLabel, r#"enum E { #[error_label] A }"#, &[("#[error_label]", r#"write #[error_label("label")], #[error_label(expected)]"#)]),
    err(ErrorLabel, r#"enum E { #[error_label("x")] #[error_label("y")] A, #[error_label(1)] B }"#, &[
        (r#""y""#, "the label is given twice"),
        ("1", r#"expected "label" or `expected`"#),
    ]),
    err(ErrorLabel, r#"const C: u8 = 1;"#, &[("const", "expected one of: `struct`, `enum`, `union`")]),
    ok(ErrorLabel, r#"#[sightline(crate = my::sightline)] #[error_label("declined")] struct Declined;"#),
    err(ErrorLabel, r#"#[sightline(crate = my::sightline, extra)] enum E { A }"#, &[(",", "write #[sightline(crate = path::to::sightline)]")]),
];

/// A `compile_error!` found in an expansion.
struct CompileError {
    span: Span,
    message: String,
}

impl std::fmt::Debug for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.span.source_text() {
            Some(text) => write!(
                f,
                "{:?} at {:?} (bytes {:?})",
                self.message,
                text,
                self.span.byte_range()
            ),
            None => write!(f, "{:?} at the call site", self.message),
        }
    }
}

/// Every `compile_error! { "..." }` in `tokens`, with the span `syn::Error` gives its first tokens.
fn compile_errors(tokens: &TokenStream) -> Vec<CompileError> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut found = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "compile_error" => {
                let message = match trees.get(i + 2) {
                    Some(TokenTree::Group(g)) => syn::parse2::<syn::LitStr>(g.stream())
                        .map(|s| s.value())
                        .unwrap_or_else(|_| g.stream().to_string()),
                    _ => String::new(),
                };
                found.push(CompileError {
                    span: ident.span(),
                    message,
                });
            }
            TokenTree::Group(g) => found.extend(compile_errors(&g.stream())),
            _ => {}
        }
    }
    found
}

/// `tokens` without the leading `::core::compile_error! { .. }` invocations.
fn after_errors(tokens: &TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut rest = &trees[..];
    while rest.len() >= 8 && matches!(&rest[5], TokenTree::Ident(i) if i == "compile_error") {
        rest = &rest[8..];
    }
    rest.iter().cloned().collect()
}

/// `#[observe(args)] item` -> (args, item), with the tokens keeping their place in the source.
fn split_attribute(source: &TokenStream) -> (TokenStream, TokenStream) {
    let mut trees = source.clone().into_iter();
    assert!(matches!(trees.next(), Some(TokenTree::Punct(p)) if p.as_char() == '#'));
    let Some(TokenTree::Group(attribute)) = trees.next() else {
        panic!("the source starts with an attribute: {source}");
    };
    let args = match attribute.stream().into_iter().nth(1) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g.stream(),
        _ => TokenStream::new(),
    };
    (args, trees.collect())
}

/// Runs the case's macro, and says how its output differs from the table, if it does.
fn check(case: &Case) -> Result<(), String> {
    let source = TokenStream::from_str(case.source).map_err(|e| format!("source: {e}"))?;
    let (args, item) = match case.entry {
        Observe | Business => split_attribute(&source),
        Objective | LabelValue | ErrorLabel => (source.clone(), source),
    };
    let (args_in, item_in) = (args.clone(), item.clone());
    let output = catch_unwind(AssertUnwindSafe(move || match case.entry {
        Observe => crate::expand::expand(args_in, item_in, Mode::Observe),
        Business => crate::expand::expand(args_in, item_in, Mode::Business),
        Objective => crate::objective::objective_macro(args_in),
        LabelValue => crate::derive_label_value::derive(item_in),
        ErrorLabel => crate::derive_error_label::derive(item_in),
    }))
    .map_err(|_| "panicked".to_string())?;
    let errors = compile_errors(&output);
    let attribute = matches!(case.entry, Observe | Business);
    match case.expect {
        Expands => {
            if !errors.is_empty() {
                return Err(format!("expected an expansion, got {errors:?}"));
            }
            let parsed = match case.entry {
                Objective => syn::parse2::<syn::Expr>(output.clone()).map(drop),
                _ => syn::parse2::<syn::File>(output.clone()).map(drop),
            };
            parsed.map_err(|e| format!("the expansion is not Rust ({e}): {output}"))
        }
        Untouched => {
            if output.to_string() != item.to_string() {
                return Err(format!("expected the item untouched, got {output}"));
            }
            Ok(())
        }
        AtCallSite(fragment) => match &errors[..] {
            [e] if e.span.source_text().is_none() && e.message.contains(fragment) => Ok(()),
            _ => Err(format!(
                "expected one error at the call site saying {fragment:?}, got {errors:?}"
            )),
        },
        Errors(expected) => {
            if errors.len() != expected.len() {
                return Err(format!(
                    "expected {} error(s), got {errors:?}",
                    expected.len()
                ));
            }
            for e in &errors {
                if e.span.source_text().is_none() {
                    return Err(format!("an error is not spanned: {e:?}"));
                }
            }
            for (text, fragment) in expected {
                let at = case
                    .source
                    .find(text)
                    .ok_or_else(|| format!("{text:?} is not in the source"))?;
                let spanned_there = |e: &&CompileError| {
                    let start = e.span.byte_range().start;
                    (at..at + text.len()).contains(&start)
                };
                if !errors
                    .iter()
                    .filter(spanned_there)
                    .any(|e| e.message.contains(fragment))
                {
                    return Err(format!(
                        "expected an error at {text:?} saying {fragment:?}, got {errors:?}"
                    ));
                }
            }
            // The house rule: the item is emitted beside the errors, untouched.
            if attribute {
                let rest = after_errors(&output);
                if rest.to_string() != item.to_string() {
                    return Err(format!("the item is not kept beside the errors: {rest}"));
                }
                if syn::parse2::<syn::File>(item.clone()).is_ok() {
                    syn::parse2::<syn::File>(output.clone())
                        .map_err(|e| format!("the output is not Rust ({e}): {output}"))?;
                }
            }
            Ok(())
        }
    }
}

#[test]
fn every_case_expands_or_gives_spanned_errors_and_keeps_the_item() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            check(case)
                .err()
                .map(|why| format!("{:?} {}\n    {why}", case.entry, case.source))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// `crate = path` reaches every path of every macro's expansion: none names `::sightline` itself.
#[test]
fn crate_path_replaces_sightline_in_every_expansion() {
    let inputs: [(Entry, &str); 5] = [
        (
            Observe,
            r#"#[observe(crate = ::my::telemetry, route = "/o", method = "GET", objective(latency = "2s"))] async fn f() -> Result<u8, E> { Ok(1) }"#,
        ),
        (
            Business,
            r#"#[business_span("op", crate = ::my::telemetry, metric = "ops", labels(region = "eu"), objective = SLO)] fn f() {}"#,
        ),
        (Objective, r#"crate = ::my::telemetry, latency = "2s""#),
        (
            LabelValue,
            r#"#[sightline(crate = ::my::telemetry)] enum Region { Eu, Us }"#,
        ),
        (
            ErrorLabel,
            r#"#[sightline(crate = ::my::telemetry)] enum E { A, #[error_label(expected)] B }"#,
        ),
    ];
    for (entry, source) in inputs {
        let source = TokenStream::from_str(source).unwrap();
        let output = match entry {
            Observe | Business => {
                let (args, item) = split_attribute(&source);
                let mode = if matches!(entry, Observe) {
                    Mode::Observe
                } else {
                    Mode::Business
                };
                crate::expand::expand(args, item, mode)
            }
            Objective => crate::objective::objective_macro(source),
            LabelValue => crate::derive_label_value::derive(source),
            ErrorLabel => crate::derive_error_label::derive(source),
        };
        let text = output.to_string();
        assert!(compile_errors(&output).is_empty(), "{entry:?}: {text}");
        assert!(
            text.contains(":: my :: telemetry ::"),
            "{entry:?} does not use the path: {text}"
        );
        assert!(
            !text.contains(":: sightline"),
            "{entry:?} still names ::sightline: {text}"
        );
    }
}

/// Valid attributes, cut up by the property test below.
const CORPUS: &[(Mode, &str)] = &[
    (
        Mode::Observe,
        r#"name = "charge", fields(order.id = order.id, amount = amount), redact(card = card), log = "errors""#,
    ),
    (
        Mode::Observe,
        r#"route = "/api/v1/orders/{id}", method = "POST", buckets = [0.01, 0.1, 1.0], level = "debug""#,
    ),
    (
        Mode::Observe,
        r#"metric = "payment_charges", labels(provider = req.provider, region = "eu"), max_series = 5000, objective(latency = "1s", percentile = 99, error_rate = "1%")"#,
    ),
    (
        Mode::Observe,
        r#"skip_metrics, crate = ::my::sightline, objective = CHECKOUT, fields(a = f(x)?, b = [1, 2])"#,
    ),
    (
        Mode::Business,
        r#""process-order", attrs(order.total = total), redact(password = pw), log = "all", level = "warn""#,
    ),
    (
        Mode::Business,
        r#""refund", metric = "refunds", labels(reason = r), buckets = [0.5, 1, 2.5], objective(error_rate = "0.1%")"#,
    ),
];

const ITEM: &str =
    "pub async fn f(order: &Order, card: &str) -> Result<u64, Error> { let x = g(order)?; Ok(x) }";

/// One edit of a token list: 0 deletes, 1 duplicates, 2 swaps; `depth` descends into a group first.
#[derive(Clone, Debug)]
struct Edit {
    op: u8,
    at: proptest::sample::Index,
    to: proptest::sample::Index,
    depth: u8,
}

fn edit(tokens: TokenStream, e: &Edit, depth: u8) -> TokenStream {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    if trees.is_empty() {
        return TokenStream::new();
    }
    let a = e.at.index(trees.len());
    if depth > 0 {
        if let TokenTree::Group(g) = &trees[a] {
            let mut inner = Group::new(g.delimiter(), edit(g.stream(), e, depth - 1));
            inner.set_span(g.span());
            trees[a] = inner.into();
            return trees.into_iter().collect();
        }
    }
    let b = e.to.index(trees.len());
    match e.op {
        0 => drop(trees.remove(a)),
        1 => {
            let copy = trees[a].clone();
            trees.insert(b, copy);
        }
        _ => trees.swap(a, b),
    }
    trees.into_iter().collect()
}

#[test]
fn cut_up_attributes_never_panic_and_errors_are_spanned() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let corpus: Vec<(Mode, TokenStream)> = CORPUS
        .iter()
        .map(|(mode, args)| (*mode, TokenStream::from_str(args).unwrap()))
        .collect();
    let item = TokenStream::from_str(ITEM).unwrap();
    let edits = proptest::collection::vec(
        (
            0u8..3,
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            0u8..3,
        )
            .prop_map(|(op, at, to, depth)| Edit { op, at, to, depth }),
        1..5,
    );
    let mut runner = TestRunner::new(Config {
        cases: 2_500,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(0..corpus.len(), edits),
            |(which, edits): (usize, Vec<Edit>)| {
                let (mode, args) = &corpus[which];
                let args = edits.iter().fold(args.clone(), |t, e| edit(t, e, e.depth));
                let (args_in, item_in) = (args.clone(), item.clone());
                let output = catch_unwind(AssertUnwindSafe(|| {
                    crate::expand::expand(args_in, item_in, *mode)
                }));
                let Ok(output) = output else {
                    return Err(TestCaseError::fail(format!("panicked on ({args})")));
                };
                let errors = compile_errors(&output);
                if let Some(e) = errors.iter().find(|e| e.span.source_text().is_none()) {
                    return Err(TestCaseError::fail(format!("({args}): unspanned {e:?}")));
                }
                if !errors.is_empty() && after_errors(&output).to_string() != item.to_string() {
                    return Err(TestCaseError::fail(format!("({args}): item not kept")));
                }
                if let Err(e) = syn::parse2::<syn::File>(output.clone()) {
                    return Err(TestCaseError::fail(format!("({args}): not Rust: {e}")));
                }
                Ok(())
            },
        )
        .unwrap();
}

/// One mistake in an attribute, alone in its argument: what to write, what the error says, the arguments
/// it names, and the arguments whose absence it relies on (a pair sharing either is not combined).
struct Mistake {
    snippet: &'static str,
    says: &'static str,
    keys: &'static [&'static str],
    needs_absent: &'static [&'static str],
}

const fn mistake(
    snippet: &'static str,
    says: &'static str,
    keys: &'static [&'static str],
    needs_absent: &'static [&'static str],
) -> Mistake {
    Mistake {
        snippet,
        says,
        keys,
        needs_absent,
    }
}

#[rustfmt::skip]
const MISTAKES: &[Mistake] = &[
    mistake(r#"nmae = "x""#, "did you mean `name`?", &["nmae"], &[]),
    mistake("log = 1", "`log` must be a string literal", &["log"], &[]),
    mistake(r#"level = "verbose""#, "unknown level", &["level"], &["log"]),
    mistake("buckets = []", "at least one bound", &["buckets"], &["skip_metrics", "objective"]),
    mistake("buckets = [1.0, 0.5]", "strictly increasing", &["buckets"], &["skip_metrics", "objective"]),
    mistake("fields(password = x)", "looks like a secret", &["fields"], &[]),
    mistake("redact(result = x)", "written by sightline", &["redact"], &[]),
    mistake(r#"route = "/x", method = "FETCH""#, "unknown HTTP method", &["route", "method"], &["labels"]),
    mistake(r#"route = "/r/:id", method = "GET""#, "braces", &["route", "method"], &["labels"]),
    mistake(r#"metric = "9bad""#, "not a valid Prometheus metric name", &["metric"], &[]),
    mistake(r#"labels(region = "eu")"#, "needs `metric", &["labels"], &["metric", "route", "skip_metrics"]),
    mistake("max_series = 0", "a positive number of series", &["max_series"], &[]),
    mistake(r#"objective(latency = "3s")"#, "bucket", &["objective"], &["buckets"]),
    mistake(r#"name = """#, "must not be empty", &["name"], &[]),
    mistake(r#"log = "all", log = "off""#, "duplicate argument `log`", &["log"], &["level"]),
    mistake("fields(a = 1, a = 2)", "given twice", &["fields"], &[]),
    mistake("skip_metric", "did you mean `skip_metrics`?", &["skip_metric"], &[]),
];

/// Every mistake is reported whatever else is wrong in the same attribute: each pair of [`MISTAKES`]
/// that do not touch the same arguments, in both orders, gives both errors.
#[test]
fn every_mistake_is_reported_in_every_combination() {
    let mut failures = Vec::new();
    let mut combined = 0;
    for a in MISTAKES {
        for b in MISTAKES {
            let touches = |x: &Mistake, y: &Mistake| {
                x.keys
                    .iter()
                    .any(|k| y.keys.contains(k) || y.needs_absent.contains(k))
            };
            if std::ptr::eq(a, b) || touches(a, b) || touches(b, a) {
                continue;
            }
            combined += 1;
            let args = TokenStream::from_str(&format!("{}, {}", a.snippet, b.snippet)).unwrap();
            let item = TokenStream::from_str("fn f() -> u8 { 1 }").unwrap();
            let output = catch_unwind(AssertUnwindSafe(|| {
                crate::expand::expand(args, item, Mode::Observe)
            }));
            let Ok(output) = output else {
                failures.push(format!("{} + {}: panicked", a.snippet, b.snippet));
                continue;
            };
            let errors = compile_errors(&output);
            for m in [a, b] {
                if !errors.iter().any(|e| e.message.contains(m.says)) {
                    failures.push(format!(
                        "#[observe({}, {})]: no error saying {:?} among {errors:?}",
                        a.snippet, b.snippet, m.says
                    ));
                }
            }
        }
    }
    assert!(combined > 150, "{combined} combinations");
    assert!(
        failures.is_empty(),
        "{} of {combined} combinations lost an error:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
