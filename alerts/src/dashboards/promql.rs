//! The PromQL the panels are made of. Every selector is scoped to `job="$job"` and every rate window is
//! Grafana's `$__rate_interval` (at least four scrape intervals, so a rate never misses its two samples).

use crate::families::Histogram;
use sightline_conventions::Family;

/// The rate window of every `rate()`.
pub(super) const WINDOW: &str = "$__rate_interval";

/// `{job="$job"}`, or `{job="$job", <matchers>}`.
pub(super) fn selector(matchers: &str) -> String {
    if matchers.is_empty() {
        r#"{job="$job"}"#.to_string()
    } else {
        format!(r#"{{job="$job", {matchers}}}"#)
    }
}

/// `sum by (<by>) (<expr>)`, or `sum(<expr>)` without grouping labels.
pub(super) fn sum(by: &str, expr: &str) -> String {
    if by.is_empty() {
        format!("sum({expr})")
    } else {
        format!("sum by ({by}) ({expr})")
    }
}

/// `rate(<family>{job="$job", <matchers>}[$__rate_interval])`.
pub(super) fn rate(family: &Family, matchers: &str) -> String {
    rate_of(family.name, matchers)
}

/// `rate(<series>{job="$job", <matchers>}[$__rate_interval])`.
fn rate_of(series: &str, matchers: &str) -> String {
    format!("rate({series}{}[{WINDOW}])", selector(matchers))
}

/// The per-second rate of `family`, summed by `by`.
pub(super) fn sum_rate(by: &str, family: &Family, matchers: &str) -> String {
    sum(by, &rate(family, matchers))
}

/// The share of `family`'s rate whose series match `bad` as well, by `by`. Series that do not match
/// `bad` count as 0 errors (`or 0 * ...`), so the ratio is 0, not absent, while every call succeeds.
pub(super) fn ratio(by: &str, family: &Family, bad: &str, matchers: &str) -> String {
    let bad_matchers = if matchers.is_empty() {
        bad.to_string()
    } else {
        format!("{matchers}, {bad}")
    };
    let all = rate(family, matchers);
    let numerator = sum(by, &format!("{} or 0 * {all}", rate(family, &bad_matchers)));
    format!("{numerator} / {}", sum(by, &all))
}

/// The `q` quantile of histogram `family`, by `by`.
pub(super) fn quantile(q: f64, by: &str, family: &Family, matchers: &str) -> String {
    let by_le = if by.is_empty() {
        "le".to_string()
    } else {
        format!("{by}, le")
    };
    format!(
        "histogram_quantile({q}, {})",
        sum(&by_le, &rate_of(&Histogram::Bucket.of(family), matchers))
    )
}

/// `topk(k, <expr>)`.
pub(super) fn topk(k: u32, expr: &str) -> String {
    format!("topk({k}, {expr})")
}

/// `<family>{job="$job", <matchers>}`.
pub(super) fn series(family: &Family, matchers: &str) -> String {
    format!("{}{}", family.name, selector(matchers))
}

/// "1 %", "0.5 %": a ratio as a percentage, in words.
pub(super) fn percent(ratio: f64) -> String {
    format!("{} %", trim(ratio * 100.0))
}

/// "0.5 s", "250 ms".
pub(super) fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", trim(s * 1000.0))
    } else {
        format!("{} s", trim(s))
    }
}

/// "1 GiB", "512 MiB".
pub(super) fn bytes(b: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= GIB {
        format!("{} GiB", trim(b / GIB))
    } else {
        format!("{} MiB", trim(b / MIB))
    }
}

/// A number with at most three decimals and no trailing zeros.
pub(super) fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}
