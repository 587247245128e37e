//! Request IDs: accepted from the caller only when they are safe to echo and log, generated otherwise.

/// The request's ID. The layer puts it in the request's extensions; with the `axum` feature it is also an
/// extractor (`async fn handler(RequestId(id): RequestId)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub String);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An inbound ID is kept only when it is 1 to 128 characters of `[A-Za-z0-9._:-]`: anything else (control
/// characters, CR/LF, quotes, non-ASCII, oversize) could forge log lines or headers, and is replaced.
pub(crate) fn is_acceptable(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request ID the caller sent under `name`, when it is one to keep ([`is_acceptable`]).
pub(crate) fn inbound(
    headers: &http::HeaderMap,
    name: impl http::header::AsHeaderName,
) -> Option<&str> {
    headers
        .get(name)
        .map(http::HeaderValue::as_bytes)
        .filter(|v| is_acceptable(v))
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// `req_` and 26 characters of lower-case base32: 130 random bits.
pub(crate) fn generate() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut id = *b"req_abcdefghijklmnopqrstuvwxyz";
    let (mut bits, more) = (fastrand::u128(..), fastrand::u8(..));
    for slot in &mut id[4..29] {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    id[29] = ALPHABET[usize::from(more & 31)];
    // Only ASCII letters and digits were written.
    String::from_utf8(id.to_vec()).unwrap_or_default()
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    /// The layer's ID; without the layer in front, a fresh one (so the handler still has one to log).
    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(generate())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_ids_are_accepted() {
        assert!(is_acceptable(b"abc-123_XYZ.9:z"));
        assert!(is_acceptable(&[b'a'; 128]));
        assert!(!is_acceptable(&[b'a'; 129]));
        assert!(!is_acceptable(b""));
        assert!(!is_acceptable(b"a\r\nb"));
        assert!(!is_acceptable("ü".as_bytes()));
        assert!(!is_acceptable(b"a b"));
        assert!(!is_acceptable(b"\x1b[31m"));
    }

    #[test]
    fn generated_ids_are_base32_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 30);
        assert!(a.starts_with("req_"));
        assert!(a[4..]
            .bytes()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
    }
}
