//! The README's redaction rules for key names, written out independently of the runtime: the property
//! tests judge what the runtime writes against these, so they must not share its code.
#![allow(dead_code)]

pub const REDACTED: &str = "[REDACTED]";

/// Sensitive names (README, "Redaction"): a key containing one of them, lower-cased with `-` read as `_`,
/// is redacted.
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
    "cookie",
];

/// Sensitive words (README, "Redaction"): a key with one of them as a whole word (split at anything but
/// letters and digits, and at camelCase humps), in any case, is redacted.
pub const SENSITIVE_WORDS: &[&str] = &[
    "pin", "otp", "totp", "hotp", "auth", "pwd", "sid", "cvv", "cvv2", "cvc", "cvc2", "iban",
    "ssn", "csrf", "xsrf",
];

/// The builder's extra paths in this binary: one segment each, so they match that key (or a segment of a
/// dotted key) at any depth, exactly, not as a substring.
pub const EXTRA_PATHS: &[&str] = &["session_key", "pin"];

pub fn normalize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The words of a key: runs of letters and digits, split again where a lower-case letter or digit meets
/// an upper-case one, or a run of capitals meets a capitalised word (`PINCode` is `PIN`, `Code`).
pub fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let chars: Vec<char> = key.chars().collect();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            words.push(std::mem::take(&mut current));
            continue;
        }
        let hump = i > 0 && c.is_ascii_uppercase() && {
            let before = chars[i - 1];
            before.is_ascii_lowercase()
                || before.is_ascii_digit()
                || (before.is_ascii_uppercase()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()))
        };
        if hump {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    words.push(current);
    words.retain(|w| !w.is_empty());
    words
}

/// Whether `key` is secret by the built-in names: a fragment (one of several words also matches them run
/// together, `cardNumber` for `card_number`) or a whole word.
pub fn is_sensitive_name(key: &str) -> bool {
    let normalized = normalize(key);
    let joined = |s: &str| normalize(s).replace('_', "");
    SENSITIVE_FRAGMENTS.iter().any(|f| {
        if f.contains('_') {
            joined(key).contains(&joined(f))
        } else {
            normalized.contains(f)
        }
    }) || words(key)
        .iter()
        .any(|w| SENSITIVE_WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// [`is_sensitive_name`], or a segment of the dotted key is one of [`EXTRA_PATHS`] (the builder's extra
/// paths of the tests that use them).
pub fn is_sensitive(key: &str) -> bool {
    is_sensitive_name(key)
        || key
            .split('.')
            .any(|segment| EXTRA_PATHS.contains(&normalize(segment).as_str()))
}

/// Names of personal data (README, "Redaction", `redact_pii`).
pub const PII_WORDS: &[&str] = &["email", "phone", "mobile", "msisdn"];
pub const PII_FRAGMENTS: &[&str] = &["ip_address", "client_ip", "remote_addr", "x_forwarded_for"];

pub fn is_pii_name(key: &str) -> bool {
    let joined = normalize(key).replace('_', "");
    PII_FRAGMENTS
        .iter()
        .any(|f| joined.contains(&f.replace('_', "")))
        || words(key)
            .iter()
            .any(|w| PII_WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// Luhn's checksum, as payment card numbers carry it.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// The check digit that makes `digits` followed by it Luhn-valid.
pub fn luhn_check_digit(digits: &str) -> char {
    (b'0'..=b'9')
        .map(char::from)
        .find(|d| luhn_valid(&format!("{digits}{d}")))
        .expect("one digit makes any number Luhn-valid")
}

/// `text` with every run of 13 to 19 ASCII digits that stands alone (no letter or digit beside it) and
/// passes Luhn's check replaced by [`REDACTED`]: what README says becomes of card numbers in text, for
/// text whose numbers are not grouped (JSON text that does not parse).
pub fn redact_plain_card_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        let alone = (start == 0 || !chars[start - 1].is_alphanumeric())
            && chars.get(i).map_or(true, |c| !c.is_alphanumeric());
        if alone && (13..=19).contains(&run.len()) && luhn_valid(&run) {
            out.push_str(REDACTED);
        } else {
            out.push_str(&run);
        }
    }
    out
}
