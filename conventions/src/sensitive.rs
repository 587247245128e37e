//! Names whose values are secrets or personal data, and the kinds of secret recognised by shape: the
//! macros refuse such fields at compile time, the log and span redaction replaces their values.

/// Fragments that mark a field name as secret. A name matches when, lower-cased with `-` read as `_`, it
/// contains one of them (`x-api-key`, `Authorization` and `db_password_hash` all match); a fragment of
/// several words also matches them run together, as camelCase JSON keys spell them (`cardNumber`,
/// `creditCard`, `privateKey`, `sessionId`).
///
/// The list, with [`SENSITIVE_WORDS`], is Sentry's default scrubbing list (`password`, `passwd`,
/// `secret`, `api_key`, `apikey`, `auth`, `credentials`, `private_key`, `token`, `csrftoken`,
/// `sessionid`, `authorization`, `cookie`, ...) plus payment data (`card_number`, `cvv`, `cvc`, `iban`,
/// `pin`), `ssn`, `otp` and `passphrase`. Short names that are also parts of ordinary words (`pin` in
/// `shipping`, `otp` in `footprint`, `auth` in `author`, `cvv` in a domain name) are words instead.
pub const SENSITIVE_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "credential",
    "api_key",
    "apikey",
    "private_key",
    "credit_card",
    "card_number",
    "session_id",
    "session_key",
    "sessid",
    "pin_code",
];

/// Names that mark a field as secret when they are a whole word of it: `pin`, `user_pin`, `userPin`,
/// `PIN-code` and `connect.sid` match; `shipping`, `spinner`, `footprint` and `author` do not. Words are
/// split at `_`, `-`, `.` and every other character that is not a letter or digit, and where a lower-case
/// letter or digit meets an upper-case one (`userPin`, `PINCode`).
pub const SENSITIVE_WORDS: &[&str] = &[
    "pin", "otp", "totp", "hotp", "auth", "pwd", "sid", "cvv", "cvv2", "cvc", "cvc2", "iban",
    "ssn", "csrf", "xsrf",
];

/// Header-like names that carry credentials without saying so; the log layer redacts them too.
pub const SENSITIVE_HEADER_FRAGMENTS: &[&str] = &["cookie"];

/// Names of personal data, redacted only when the application asks for it (`redact_pii(true)`): the
/// words `email`, `phone`, `mobile`, `msisdn` and names holding a client address.
pub const PII_WORDS: &[&str] = &["email", "phone", "mobile", "msisdn"];

/// Fragments of names of personal data, matched as [`SENSITIVE_FRAGMENTS`] are.
pub const PII_FRAGMENTS: &[&str] = &["ip_address", "client_ip", "remote_addr", "x_forwarded_for"];

/// The names of the kinds of secret sightline recognises in a value whatever its key (README,
/// "Redaction"): what the log and span redaction replaces, and what its documentation lists.
pub const SECRET_VALUE_KINDS: &[&str] = &[
    "payment card number (13-19 digits, Luhn-valid)",
    "Bearer or Basic credential",
    "JSON Web Token",
    "PEM private key block",
    "AWS access key id",
    "GitHub token",
    "GitLab token",
    "Stripe secret key or webhook secret",
    "Slack token or webhook URL",
    "Google API key",
    "npm token",
    "OpenAI or Anthropic API key",
    "SendGrid API key",
    "password in a URL (`scheme://user:password@host`)",
];

/// What replaces a secret, in log lines, span attributes and exported span events alike.
pub const REDACTED: &str = "[REDACTED]";

/// The fragment of [`SENSITIVE_FRAGMENTS`] that `name` contains, or the word of [`SENSITIVE_WORDS`] it
/// has, if any: what the macros name when they refuse a field.
pub fn sensitive_fragment(name: &str) -> Option<&'static str> {
    SENSITIVE_FRAGMENTS
        .iter()
        .copied()
        .find(|fragment| contains_normalized(name, fragment))
        .or_else(|| has_word(name, SENSITIVE_WORDS))
}

/// Whether the log layer must redact a key named `name`: a sensitive fragment or word, or a cookie
/// header.
///
/// Runs for every field of every log line and every attribute of every exported span, so it compares
/// in place instead of building the normalized name.
pub fn is_sensitive_key(name: &str) -> bool {
    SENSITIVE_FRAGMENTS
        .iter()
        .chain(SENSITIVE_HEADER_FRAGMENTS)
        .any(|fragment| contains_normalized(name, fragment))
        || has_word(name, SENSITIVE_WORDS).is_some()
}

/// Whether `name` names personal data ([`PII_WORDS`], [`PII_FRAGMENTS`]).
pub fn is_pii_key(name: &str) -> bool {
    PII_FRAGMENTS
        .iter()
        .any(|fragment| contains_normalized(name, fragment))
        || has_word(name, PII_WORDS).is_some()
}

/// The entry of `words` that is a whole word of `name` (see [`SENSITIVE_WORDS`] for how names split into
/// words), compared without regard to ASCII case.
pub fn has_word(name: &str, words: &[&'static str]) -> Option<&'static str> {
    let bytes = name.as_bytes();
    let is_part = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    let mut start = 0;
    while start < bytes.len() {
        if !is_part(bytes[start]) {
            start += 1;
            continue;
        }
        let mut end = start + 1;
        while end < bytes.len() && is_part(bytes[end]) && !camel_boundary(bytes, end) {
            end += 1;
        }
        let word = &bytes[start..end];
        if let Some(found) = words
            .iter()
            .find(|w| w.as_bytes().eq_ignore_ascii_case(word))
        {
            return Some(found);
        }
        start = end;
    }
    None
}

/// Whether a new word starts at `at`: a lower-case letter or digit before an upper-case one (`userPin`),
/// or the last of a run of capitals before a lower-case letter (`PINCode`).
fn camel_boundary(bytes: &[u8], at: usize) -> bool {
    let (before, here) = (bytes[at - 1], bytes[at]);
    if !here.is_ascii_uppercase() {
        return false;
    }
    if before.is_ascii_lowercase() || before.is_ascii_digit() {
        return true;
    }
    before.is_ascii_uppercase() && bytes.get(at + 1).is_some_and(u8::is_ascii_lowercase)
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
            let word = has_word(name, SENSITIVE_WORDS);
            assert_eq!(is_sensitive_key(name), expected || word.is_some(), "{name}");
            let fragment = SENSITIVE_FRAGMENTS.iter().copied().find(|f| contains(f));
            assert_eq!(sensitive_fragment(name), fragment.or(word), "{name}");
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
    fn short_names_match_as_whole_words_only() {
        for secret in [
            "pin",
            "PIN",
            "user_pin",
            "userPin",
            "PINCode",
            "pin-code",
            "pincode",
            "otp",
            "totp_code",
            "x-auth",
            "auth_header",
            "connect.sid",
            "mysql_pwd",
            "sessionId",
            "session_id",
            "PHPSESSID",
            "JSESSIONID",
            "csrftoken",
            "X-XSRF-TOKEN",
            "cvc",
            "iban",
            "passphrase",
            "client_secret",
            "aws_credentials",
        ] {
            assert!(is_sensitive_key(secret), "{secret} is sensitive");
            assert!(sensitive_fragment(secret).is_some(), "{secret}");
        }
        for plain in [
            "shipping",
            "spinner",
            "pinned",
            "footprint",
            "hotpath",
            "author",
            "oauth_provider_name",
            "session_count",
            "sidebar",
            "mapping",
            "order_id",
            "class_name",
        ] {
            assert!(!is_sensitive_key(plain), "{plain} is not sensitive");
        }
        assert_eq!(sensitive_fragment("userPin"), Some("pin"));
        assert_eq!(sensitive_fragment("sessionId"), Some("session_id"));
    }

    #[test]
    fn personal_data_names() {
        for name in [
            "email",
            "customer.email",
            "emailAddress",
            "phone_number",
            "phoneNumber",
            "mobile",
            "client_ip",
            "X-Forwarded-For",
        ] {
            assert!(is_pii_key(name), "{name}");
            assert!(!is_sensitive_key(name), "{name} is personal, not a secret");
        }
        for name in ["emailed_at_count", "telephone_count", "sku"] {
            assert!(!is_pii_key(name), "{name}");
        }
    }
}
