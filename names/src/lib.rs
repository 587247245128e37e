//! The name lists sightline applies in two places: the macros refuse these names at compile time, and the
//! JSON log layer redacts them at run time. One list, so the two can never disagree.

#![forbid(unsafe_code)]

/// Fragments that mark a field name as secret. A name matches when, lower-cased with `-` read as `_`, it
/// contains one of them (`x-api-key`, `Authorization` and `db_password_hash` all match).
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

/// The fragment of [`SENSITIVE_FRAGMENTS`] that `name` contains, if any.
pub fn sensitive_fragment(name: &str) -> Option<&'static str> {
    let normalized = normalize(name);
    SENSITIVE_FRAGMENTS
        .iter()
        .copied()
        .find(|fragment| normalized.contains(fragment))
}

/// Whether the log layer must redact a key named `name`: a sensitive fragment or a cookie header.
pub fn is_sensitive_key(name: &str) -> bool {
    let normalized = normalize(name);
    SENSITIVE_FRAGMENTS
        .iter()
        .chain(SENSITIVE_HEADER_FRAGMENTS)
        .any(|fragment| normalized.contains(fragment))
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
    fn matches_any_case_and_dash() {
        assert_eq!(sensitive_fragment("X-Api-Key"), Some("api_key"));
        assert_eq!(sensitive_fragment("Authorization"), Some("authorization"));
        assert_eq!(sensitive_fragment("userPassword"), Some("password"));
        assert_eq!(sensitive_fragment("order_id"), None);
        assert!(is_sensitive_key("Set-Cookie"));
        assert!(!is_sensitive_key("sku"));
    }
}
