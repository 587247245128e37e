//! The environment variables of the trace pipeline, each checked at start-up: a value that cannot be used
//! is an error naming the variable, never a warning followed by a default the operator did not choose.
//! (The OpenTelemetry specification lets an SDK warn and carry on; an exporter sending somewhere else, a
//! schedule nobody set, or a sampler nobody chose is exactly the quiet failure sightline exists to end.)

use std::fmt;

/// A variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidSetting {
    pub(crate) name: &'static str,
    pub(crate) value: String,
    pub(crate) reason: String,
}

impl InvalidSetting {
    pub(crate) fn new(name: &'static str, value: &str, reason: impl Into<String>) -> Self {
        InvalidSetting {
            name,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.name, self.value, self.reason)
    }
}

pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The variable's value, trimmed; `None` when unset or blank.
fn value(env: Env<'_>, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A positive whole number (`OTEL_BSP_*`), or `default` when unset.
pub(crate) fn positive_integer(
    env: Env<'_>,
    name: &'static str,
    default: u64,
) -> Result<u64, InvalidSetting> {
    match value(env, name) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(InvalidSetting::new(
                name,
                &text,
                format!("a positive whole number is expected (unset, it is {default})"),
            )),
        },
    }
}

/// `true` or `false` (`OTEL_SDK_DISABLED`), any case; `false` when unset.
pub(crate) fn boolean(env: Env<'_>, name: &'static str) -> Result<bool, InvalidSetting> {
    match value(env, name) {
        None => Ok(false),
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        Some(text) => Err(InvalidSetting::new(
            name,
            &text,
            "true or false is expected",
        )),
    }
}

/// The export timeout, read by the OTLP exporter itself, which ignores one it cannot parse; the first
/// variable set wins, as the specification says of signal-specific variables.
const TIMEOUTS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
];

/// The protocol: this build sends `http/protobuf` only.
const PROTOCOLS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// The headers of every export request, a `key=value,key=value` list the exporter drops an entry of
/// when it cannot parse it.
const HEADERS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_HEADERS",
];

/// The resource attributes, a list of the same form, read by the SDK.
const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";

/// The first of `names` that is set, with its value.
fn first_set(env: Env<'_>, names: [&'static str; 2]) -> Option<(&'static str, String)> {
    names
        .into_iter()
        .find_map(|name| value(env, name).map(|v| (name, v)))
}

/// Checks what the OTLP exporter and the SDK read themselves, when spans are sent over OTLP: the
/// protocol, the timeout, the headers and the resource attributes.
pub(crate) fn check_otlp(env: Env<'_>) -> Result<(), InvalidSetting> {
    if let Some((name, text)) = first_set(env, PROTOCOLS) {
        if !text.eq_ignore_ascii_case("http/protobuf") {
            return Err(InvalidSetting::new(
                name,
                &text,
                "this build sends spans over OTLP/HTTP with protobuf only: set http/protobuf (the \
                 collector's port 4318) or unset it",
            ));
        }
    }
    if let Some((name, text)) = first_set(env, TIMEOUTS) {
        if text.parse::<u64>().is_err() {
            return Err(InvalidSetting::new(
                name,
                &text,
                "a timeout in whole milliseconds is expected, e.g. 10000",
            ));
        }
    }
    if let Some((name, text)) = first_set(env, HEADERS) {
        check_key_values(name, &text)?;
    }
    if let Some(text) = value(env, RESOURCE_ATTRIBUTES) {
        check_key_values(RESOURCE_ATTRIBUTES, &text)?;
    }
    Ok(())
}

/// The entries of a `key=value,key=value` list (`OTEL_EXPORTER_OTLP_HEADERS`), keys trimmed, values
/// trimmed and URL-decoded, as the specification writes them.
#[cfg(feature = "otlp")]
pub(crate) fn key_values(
    name: &'static str,
    text: &str,
) -> Result<Vec<(String, String)>, InvalidSetting> {
    check_key_values(name, text)?;
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(|entry| entry.split_once('='))
        .map(|(key, value)| {
            let decoded = url_decoded(value.trim()).ok_or_else(|| {
                InvalidSetting::new(
                    name,
                    "(not shown)",
                    format!("the value of {:?} is not URL-encoded text", key.trim()),
                )
            })?;
            Ok((key.trim().to_owned(), decoded))
        })
        .collect()
}

/// `%XX` sequences decoded; `None` for a broken one or text that is not UTF-8 once decoded.
#[cfg(feature = "otlp")]
fn url_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn check_key_values(name: &'static str, text: &str) -> Result<(), InvalidSetting> {
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.split_once('=') {
            Some((key, _)) if !key.trim().is_empty() => {}
            _ => {
                return Err(InvalidSetting::new(
                    name,
                    text,
                    format!("{entry:?} is not key=value (entries are separated by commas)"),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn numbers_and_booleans() {
        let e = env(&[
            ("A", " 5 "),
            ("B", "0"),
            ("C", "five"),
            ("D", "TRUE"),
            ("E", "yes"),
        ]);
        assert_eq!(positive_integer(&e, "A", 1), Ok(5));
        assert_eq!(positive_integer(&e, "Z", 7), Ok(7));
        assert_eq!(positive_integer(&e, "B", 1).unwrap_err().name, "B");
        assert_eq!(positive_integer(&e, "C", 1).unwrap_err().value, "five");
        assert_eq!(boolean(&e, "D"), Ok(true));
        assert_eq!(boolean(&e, "Z"), Ok(false));
        assert_eq!(boolean(&e, "E").unwrap_err().name, "E");
    }

    #[test]
    fn what_the_exporter_would_ignore_is_refused() {
        let grpc = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        let error = check_otlp(&grpc).unwrap_err();
        assert_eq!(error.name, "OTEL_EXPORTER_OTLP_PROTOCOL");
        assert!(error.to_string().contains("http/protobuf"), "{error}");
        assert_eq!(
            check_otlp(&env(&[(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "HTTP/Protobuf"
            )])),
            Ok(())
        );
        // The traces variable wins over the general one.
        assert_eq!(
            check_otlp(&env(&[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ])),
            Ok(())
        );
        let timeout = env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]);
        assert_eq!(check_otlp(&timeout).unwrap_err().value, "10s");
        let headers = env(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=1,broken")]);
        assert!(check_otlp(&headers)
            .unwrap_err()
            .reason
            .contains("\"broken\""));
        assert_eq!(
            check_otlp(&env(&[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "team=payments, region=eu"
            )])),
            Ok(())
        );
    }
}
