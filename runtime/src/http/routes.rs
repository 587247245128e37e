//! What the layer keeps per method and route template: the `http_*` series and what the route's spans say
//! of themselves. Templates are the application's own, so the set is bounded; each is made once, kept for
//! the life of the process, and found again through a cache of the thread's own (no lock per request).

use crate::metrics::series::HttpSeries;
use crate::metrics::{DEFAULT_BUCKETS, HTTP};
use crate::traces::record::SpanSite;
use http::Request;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The route label of requests that matched no route: a scanner's random paths must not create series.
pub(crate) const UNMATCHED: &str = "unmatched";

/// One method and route.
pub(crate) struct RouteInfo {
    pub(crate) series: &'static HttpSeries,
    pub(crate) span: SpanSite,
}

/// Route template -> (method, info) of the routes one thread served.
type Seen = HashMap<Box<str>, Vec<(&'static str, &'static RouteInfo)>>;

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::new(HashMap::new());
}

static ALL: Mutex<Option<HashMap<(&'static str, &'static str), &'static RouteInfo>>> =
    Mutex::new(None);

/// The route `req` matched (its template, from axum's `MatchedPath`), or [`UNMATCHED`].
pub(crate) fn route_info<B>(method: &'static str, req: &Request<B>) -> &'static RouteInfo {
    let route = matched_route(req);
    let seen = SEEN.try_with(|seen| {
        let seen = seen.try_borrow().ok()?;
        seen.get(route)?
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, info)| *info)
    });
    if let Ok(Some(info)) = seen {
        return info;
    }
    let info = shared(method, route);
    let _ = SEEN.try_with(|seen| {
        if let Ok(mut seen) = seen.try_borrow_mut() {
            seen.entry(route.into()).or_default().push((method, info));
        }
    });
    info
}

/// The process-wide entry for `method` and `route`, made on first sight.
#[cold]
fn shared(method: &'static str, route: &str) -> &'static RouteInfo {
    let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
    let all = all.get_or_insert_with(HashMap::new);
    if let Some(info) = all
        .iter()
        .find(|((m, r), _)| *m == method && *r == route)
        .map(|(_, info)| *info)
    {
        return info;
    }
    let route: &'static str = Box::leak(route.to_owned().into_boxed_str());
    let info: &'static RouteInfo = Box::leak(Box::new(RouteInfo {
        series: HTTP.series(method, route, DEFAULT_BUCKETS),
        span: SpanSite {
            name: Box::leak(format!("{method} {route}").into_boxed_str()),
            kind: opentelemetry::trace::SpanKind::Server,
            function: None,
            module: None,
            operation: None,
            http: Some((method, route)),
        },
    }));
    all.insert((method, route), info);
    info
}

fn matched_route<B>(req: &Request<B>) -> &str {
    #[cfg(feature = "axum")]
    if let Some(path) = req.extensions().get::<axum::extract::MatchedPath>() {
        return path.as_str();
    }
    let _ = req;
    UNMATCHED
}
