//! Where spans go: the builder's URL, else the OpenTelemetry environment variables, else nowhere.

use super::TraceError;

/// The full URL of the traces endpoint, used as is (OpenTelemetry specification).
pub(crate) const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The base URL of every signal; `/v1/traces` is appended for traces.
pub(crate) const BASE_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The path of the traces endpoint under a base URL.
const TRACES_PATH: &str = "/v1/traces";

/// The traces URL to export to, or `None` when nothing is configured (spans then stay local: they get ids
/// for the log lines but are never sent).
///
/// 1. `builder`, the base URL given to `.otlp_endpoint(..)`: `/v1/traces` is appended (a URL that already
///    ends in `/v1/traces` is kept as it is, so passing the full URL works too);
/// 2. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is;
/// 3. `OTEL_EXPORTER_OTLP_ENDPOINT`, with `/v1/traces` appended.
///
/// Blank values count as unset. The chosen URL must be `http://host[:port][/path]`; anything else is an
/// error naming where the value came from.
pub(crate) fn resolve_endpoint(
    builder: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, TraceError> {
    let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let (source, url) = if let Some(base) = given(builder.map(str::to_owned)) {
        let base = base.trim();
        let url = if base.trim_end_matches('/').ends_with(TRACES_PATH) {
            base.trim_end_matches('/').to_owned()
        } else {
            append_traces_path(base)
        };
        ("otlp_endpoint", url)
    } else if let Some(url) = given(env(TRACES_ENDPOINT_VAR)) {
        (TRACES_ENDPOINT_VAR, url.trim().to_owned())
    } else if let Some(base) = given(env(BASE_ENDPOINT_VAR)) {
        (BASE_ENDPOINT_VAR, append_traces_path(base.trim()))
    } else {
        return Ok(None);
    };
    check_url(source, &url)?;
    Ok(Some(url))
}

/// `base` + `/v1/traces`, with or without a trailing slash on `base`.
fn append_traces_path(base: &str) -> String {
    format!("{}{TRACES_PATH}", base.trim_end_matches('/'))
}

/// Refuses what the exporter could never send to, at start-up rather than on every export.
fn check_url(source: &'static str, url: &str) -> Result<(), TraceError> {
    let invalid = |reason: String| TraceError::InvalidEndpoint {
        source,
        value: url.to_owned(),
        reason,
    };
    if !url.contains("://") {
        return Err(invalid(
            "the scheme is missing: write http://host:port".to_owned(),
        ));
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e| invalid(format!("not a URL ({e})")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "https is not supported: this build has no TLS for OTLP; send to a local \
                 OpenTelemetry Collector over http:// (e.g. http://localhost:4318)"
                    .to_owned(),
            ))
        }
        Some(other) => return Err(invalid(format!("the scheme must be http, not {other}"))),
        None => {
            return Err(invalid(
                "the scheme is missing: write http://host:port".to_owned(),
            ))
        }
    }
    if uri.host().map_or(true, str::is_empty) {
        return Err(invalid("the host is missing".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn resolve(builder: Option<&str>, vars: &[(&str, &str)]) -> Option<String> {
        resolve_endpoint(builder, &env(vars)).expect("valid")
    }

    #[test]
    fn nothing_configured_is_local_mode() {
        assert_eq!(resolve(None, &[]), None);
        assert_eq!(
            resolve(
                Some(" "),
                &[(TRACES_ENDPOINT_VAR, ""), (BASE_ENDPOINT_VAR, "  ")]
            ),
            None
        );
    }

    #[test]
    fn the_builder_url_is_a_base_and_wins_over_the_environment() {
        let vars = [
            (TRACES_ENDPOINT_VAR, "http://traces:4318/custom"),
            (BASE_ENDPOINT_VAR, "http://base:4318"),
        ];
        for base in ["http://collector:4318", "http://collector:4318/"] {
            assert_eq!(
                resolve(Some(base), &vars).as_deref(),
                Some("http://collector:4318/v1/traces"),
                "{base}"
            );
        }
        assert_eq!(
            resolve(Some("http://collector:4318/otlp/"), &[]).as_deref(),
            Some("http://collector:4318/otlp/v1/traces")
        );
        // The full URL is accepted too, not doubled.
        assert_eq!(
            resolve(Some("http://collector:4318/v1/traces"), &[]).as_deref(),
            Some("http://collector:4318/v1/traces")
        );
    }

    #[test]
    fn the_traces_variable_is_used_as_is() {
        assert_eq!(
            resolve(
                None,
                &[
                    (TRACES_ENDPOINT_VAR, "http://traces:4318/custom"),
                    (BASE_ENDPOINT_VAR, "http://base:4318"),
                ]
            )
            .as_deref(),
            Some("http://traces:4318/custom")
        );
    }

    #[test]
    fn the_base_variable_gets_the_traces_path() {
        for base in ["http://base:4318", "http://base:4318/"] {
            assert_eq!(
                resolve(None, &[(BASE_ENDPOINT_VAR, base)]).as_deref(),
                Some("http://base:4318/v1/traces")
            );
        }
    }

    #[test]
    fn unusable_urls_are_errors_naming_their_source() {
        type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: [Case<'_>; 5] = [
            (Some("collector:4318"), &[], "otlp_endpoint", "scheme"),
            (
                Some("grpc://collector:4317"),
                &[],
                "otlp_endpoint",
                "scheme",
            ),
            (
                None,
                &[(TRACES_ENDPOINT_VAR, "http://bad host")],
                TRACES_ENDPOINT_VAR,
                "not a URL",
            ),
            (
                None,
                &[(BASE_ENDPOINT_VAR, "https://c:4318")],
                BASE_ENDPOINT_VAR,
                "https",
            ),
            (Some("http://"), &[], "otlp_endpoint", ""),
        ];
        for (builder, vars, source, reason) in cases {
            match resolve_endpoint(builder, &env(vars)) {
                Err(TraceError::InvalidEndpoint {
                    source: s,
                    reason: r,
                    ..
                }) => {
                    assert_eq!(s, source, "{builder:?} {vars:?}");
                    assert!(r.contains(reason), "{r}");
                }
                other => panic!("{builder:?} {vars:?}: {other:?}"),
            }
        }
    }
}
