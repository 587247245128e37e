//! The name lists sightline applies in two places: the macros refuse these names at compile time, and the
//! JSON log layer redacts them at run time. One list, so the two can never disagree.

#![forbid(unsafe_code)]

/// Fragments that mark a field name as secret. A name matches when, lower-cased with `-` read as `_`, it
/// contains one of them (`x-api-key`, `Authorization` and `db_password_hash` all match); a fragment of
/// several words also matches them run together, as camelCase JSON keys spell them (`cardNumber`,
/// `creditCard`, `privateKey`).
pub const SENSITIVE_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "credit_card",
    "card_number",
    "cvv",
    "ssn",
    "private_key",
];

/// Header-like names that carry credentials without saying so; the log layer redacts them too.
pub const SENSITIVE_HEADER_FRAGMENTS: &[&str] = &["cookie"];

/// Default histogram buckets, in seconds: the classic set plus 200 ms and 2 s, the thresholds latency
/// alerts are written against. The macros check latency objectives against them.
pub const DEFAULT_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0];

/// Metric label names refused outright: each value is an identity, so each would be its own series.
pub const REFUSED_LABELS: &[&str] = &[
    "id",
    "uuid",
    "guid",
    "email",
    "username",
    "session",
    "token",
    "ip",
    "ip_address",
    "url",
    "uri",
    "path",
    "query",
    "timestamp",
];

/// Suffixes that mark a label name as an identity (`user_id`, `request_id`, `client_ip`).
pub const REFUSED_LABEL_SUFFIXES: &[&str] = &["_id", "_uuid", "_email", "_token", "_ip"];

/// Label names sightline's own families use; a custom label may not shadow them.
pub const BUILT_IN_LABELS: &[&str] = &[
    "function",
    "module",
    "result",
    "outcome",
    "operation",
    "error_kind",
    "method",
    "route",
    "status_code",
    "le",
    "quantile",
    "job",
    "instance",
];

/// What one series per value of a refused label name would be one series per (`user_id` -> `user`),
/// or `None` when the name is acceptable.
pub fn unbounded_label(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let exact = match lower.as_str() {
        "id" | "uuid" | "guid" => Some("ID"),
        "email" => Some("email address"),
        "username" => Some("user"),
        "session" => Some("session"),
        "token" => Some("token"),
        "ip" | "ip_address" => Some("IP address"),
        "url" | "uri" => Some("URL"),
        "path" => Some("path"),
        "query" => Some("query string"),
        "timestamp" => Some("timestamp"),
        _ => None,
    };
    if let Some(noun) = exact {
        return Some(noun.to_string());
    }
    REFUSED_LABEL_SUFFIXES.iter().find_map(|suffix| {
        let stem = lower.strip_suffix(suffix)?.replace('_', " ");
        Some(match *suffix {
            "_email" => format!("{stem} email address"),
            "_token" => format!("{stem} token"),
            "_ip" => format!("{stem} IP address"),
            _ => stem,
        })
    })
}

/// The fragment of [`SENSITIVE_FRAGMENTS`] that `name` contains, if any.
pub fn sensitive_fragment(name: &str) -> Option<&'static str> {
    SENSITIVE_FRAGMENTS
        .iter()
        .copied()
        .find(|fragment| contains_normalized(name, fragment))
}

/// Whether the log layer must redact a key named `name`: a sensitive fragment or a cookie header.
///
/// Runs for every field of every log line and every attribute of every exported span, so it compares
/// in place instead of building the normalized name.
pub fn is_sensitive_key(name: &str) -> bool {
    SENSITIVE_FRAGMENTS
        .iter()
        .chain(SENSITIVE_HEADER_FRAGMENTS)
        .any(|fragment| contains_normalized(name, fragment))
}

/// Whether `normalize(name)` contains `fragment` (lower case, `_` for `-`), without allocating; for a
/// fragment of several words, whether it does with every `_` and `-` left out of both.
fn contains_normalized(name: &str, fragment: &str) -> bool {
    let (name, fragment) = (name.as_bytes(), fragment.as_bytes());
    if fragment.contains(&b'_') {
        return contains_without_separators(name, fragment);
    }
    let Some((&first, rest)) = fragment.split_first() else {
        return true;
    };
    let norm = |b: u8| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        }
    };
    name.len() >= fragment.len()
        && (0..=name.len() - fragment.len()).any(|start| {
            norm(name[start]) == first
                && name[start + 1..start + fragment.len()]
                    .iter()
                    .zip(rest)
                    .all(|(&b, &f)| norm(b) == f)
        })
}

/// `card_number` in `cardNumber`, `CARD-NUMBER` and `cardnumber`. Only for fragments of several words:
/// leaving separators out of a name also joins unrelated words (`class_name` would contain `ssn`).
fn contains_without_separators(name: &[u8], fragment: &[u8]) -> bool {
    let separator = |b: &u8| *b == b'_' || *b == b'-';
    (0..name.len())
        .filter(|&start| !separator(&name[start]))
        .any(|start| {
            let mut letters = name[start..]
                .iter()
                .filter(|b| !separator(b))
                .map(u8::to_ascii_lowercase);
            fragment
                .iter()
                .filter(|b| !separator(b))
                .all(|&f| letters.next() == Some(f))
        })
}

/// Lower case, with `-` read as `_`, so `X-Api-Key` and `x_api_key` compare equal.
pub fn normalize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_comparison_agrees_with_normalizing() {
        for name in [
            "X-Api-Key",
            "api-KEY",
            "password",
            "PASSWORD_HASH",
            "pass",
            "",
            "ssn",
            "SsN_x",
            "tok",
            "access-token",
            "Set-Cookie",
            "cookie",
            "é-password",
            "passwörd",
            "p",
            "cardNumber",
            "card__num-ber",
            "CREDITCARD",
            "privateKey",
            "class_name",
            "api",
        ] {
            let joined = |s: &str| normalize(s).replace('_', "");
            let contains = |f: &&str| {
                if f.contains('_') {
                    joined(name).contains(&joined(f))
                } else {
                    normalize(name).contains(f)
                }
            };
            let expected = SENSITIVE_FRAGMENTS
                .iter()
                .chain(SENSITIVE_HEADER_FRAGMENTS)
                .any(contains);
            assert_eq!(is_sensitive_key(name), expected, "{name}");
            let fragment = SENSITIVE_FRAGMENTS.iter().copied().find(|f| contains(f));
            assert_eq!(sensitive_fragment(name), fragment, "{name}");
        }
    }

    #[test]
    fn matches_any_case_and_dash() {
        assert_eq!(sensitive_fragment("X-Api-Key"), Some("api_key"));
        assert_eq!(sensitive_fragment("Authorization"), Some("authorization"));
        assert_eq!(sensitive_fragment("userPassword"), Some("password"));
        assert_eq!(sensitive_fragment("order_id"), None);
        assert_eq!(sensitive_fragment("cardNumber"), Some("card_number"));
        assert_eq!(sensitive_fragment("creditCard"), Some("credit_card"));
        assert_eq!(sensitive_fragment("privateKey"), Some("private_key"));
        assert_eq!(sensitive_fragment("x-apiKey"), Some("api_key"));
        assert_eq!(
            sensitive_fragment("class_name"),
            None,
            "words are not joined for `ssn`"
        );
        assert!(is_sensitive_key("Set-Cookie"));
        assert!(!is_sensitive_key("sku"));
    }

    #[test]
    fn identity_labels_are_refused_by_name() {
        assert_eq!(unbounded_label("user_id").as_deref(), Some("user"));
        assert_eq!(unbounded_label("request_id").as_deref(), Some("request"));
        assert_eq!(
            unbounded_label("client_ip").as_deref(),
            Some("client IP address")
        );
        assert_eq!(unbounded_label("path").as_deref(), Some("path"));
        assert_eq!(unbounded_label("provider"), None);
        assert_eq!(unbounded_label("valid"), None);
    }
}
