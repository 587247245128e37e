//! The names the generated artefacts use are the ones the registry exposes: a registry made with
//! `Registry::new_custom(Some("payments"), labels)` writes `payments_http_requests_total{region="eu",..}`,
//! and rules and panels written for `http_requests_total` would match nothing.
//!
//! Applied once, to the finished PromQL of every rule, test and panel, rather than at each of the places
//! that write a family's name: every selector sightline generates is written `family{matchers}`, so a
//! name right before a `{`, outside a string, is a family, unless it is a recording rule's (it has a
//! `:`) or Prometheus's own `ALERTS`. The constant labels go into the same braces: a Prometheus that
//! scrapes two registries apart by those labels gets rules for this one.

use crate::MetricNaming;

/// `expr` with every family prefixed and scoped to the registry's constant labels.
pub(crate) fn rename(expr: &str, naming: &MetricNaming) -> String {
    if naming.prefix.is_empty() && naming.const_labels.is_empty() {
        return expr.to_owned();
    }
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut at = 0;
    let mut copied = 0;
    while at < bytes.len() {
        match bytes[at] {
            // A string literal: copied as it is (a route template holds `{`).
            quote @ (b'"' | b'\'' | b'`') => {
                at += 1;
                while at < bytes.len() && bytes[at] != quote {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
            }
            b if is_name_start(b) && (at == 0 || !is_name_byte(bytes[at - 1])) => {
                let start = at;
                while at < bytes.len() && is_name_byte(bytes[at]) {
                    at += 1;
                }
                let name = &expr[start..at];
                if bytes.get(at) == Some(&b'{') && !name.contains(':') && name != "ALERTS" {
                    out.push_str(&expr[copied..start]);
                    out.push_str(&naming.prefix);
                    out.push_str(name);
                    out.push('{');
                    for (label, value) in &naming.const_labels {
                        out.push_str(label);
                        out.push('=');
                        out.push_str(&super::promql::promql_str(value));
                        out.push(',');
                    }
                    at += 1;
                    // `name{}`: no trailing comma before the brace.
                    if bytes.get(at) == Some(&b'}') && !naming.const_labels.is_empty() {
                        out.pop();
                    }
                    copied = at;
                }
            }
            _ => at += 1,
        }
    }
    out.push_str(&expr[copied.min(expr.len())..]);
    out
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming() -> MetricNaming {
        MetricNaming {
            prefix: "payments_".into(),
            const_labels: vec![("region".into(), "eu".into())],
        }
    }

    #[test]
    fn families_are_prefixed_and_scoped_recordings_and_strings_are_not() {
        let expr = r#"sum by (job) (rate(http_requests_total{job="a",route="/x/{id}"}[5m]))
  / on(job) slo:function_errors:ratio_rate5m{job="a"}
  or ALERTS{alertname="X"} and histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="a"}[5m])))"#;
        assert_eq!(
            rename(expr, &naming()),
            r#"sum by (job) (rate(payments_http_requests_total{region="eu",job="a",route="/x/{id}"}[5m]))
  / on(job) slo:function_errors:ratio_rate5m{job="a"}
  or ALERTS{alertname="X"} and histogram_quantile(0.99, sum by (le) (rate(payments_http_request_duration_seconds_bucket{region="eu",job="a"}[5m])))"#
        );
        assert_eq!(
            rename("label_values(http_requests_total{}, route)", &naming()),
            r#"label_values(payments_http_requests_total{region="eu"}, route)"#
        );
        assert_eq!(
            rename("up{job=\"a\"}", &MetricNaming::default()),
            "up{job=\"a\"}"
        );
    }
}
