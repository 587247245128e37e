//! Property tests of redaction by a value's shape and inside text: payment card numbers, credentials with
//! a known shape and passwords in URLs embedded in arbitrary text; Rust `Debug` output (plain, pretty and
//! cut short) with secrets under sensitive field names; `key: value` pairs in free text; personal data
//! with `redact_pii`; and the look-alikes that must come out unchanged (Luhn-invalid numbers, UUIDs, trace
//! ids, timestamps, durations, numbers inside words).
//!
//! Most cases go straight through `sightline::logs::Redactor`, the redaction every log line and exported
//! span goes through (fast: well over 100,000 cases in a debug build's seconds); the last tests push a
//! smaller share through the whole pipeline (messages, `?Debug` and `%Display` fields, business-span
//! attributes, span events, an error's text) and read the JSON lines and the exported spans.
//!
//! What a secret is comes from the README's rules, not from the runtime: a generated secret is known to
//! be one by construction, and every test checks that none of its text reaches the output.

mod common;
#[path = "common/oracle.rs"]
mod oracle;

use common::pipeline::{config, Pipeline};
use opentelemetry::trace::Status;
use oracle::{is_pii_name, is_sensitive_name, luhn_check_digit, luhn_valid, REDACTED};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{json, Value};
use sightline::logs::Redactor;
use sightline::{business_span, observe};
use std::fmt;

// ---------------------------------------------------------------------------------------------------------
// Text around secrets.

/// Characters a secret may stand beside: none is a letter, a digit, `_` or `-`, so each generated secret
/// stands as a word of its own, which README says a card number or token must to be recognised.
const BOUNDARIES: &[char] = &[
    ' ', ' ', ' ', '\n', '\t', ',', ';', ':', '"', '\'', '(', ')', '[', ']', '{', '}', '<', '>',
    '|', '!', '?', '#', '*', '=', '/', '€', '→', '\u{0}', '\u{1b}',
];

fn boundary() -> impl Strategy<Value = char> {
    prop::sample::select(BOUNDARIES)
}

/// Anything at all: control characters, quotes, backslashes, non-ASCII, astral.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// Text that holds no secret and no `key:` pair, so it must come out as it went in: lower-case words,
/// spaces and punctuation, quotes, backslashes, a few non-ASCII letters. No digits or capitals (a marker
/// is made of them), no `:`, `=`, `(` or `@`.
const SAFE: &str = "abcdefghijklmnopqrstuvwxyz      .,;!?'\"\\\n\t{}[]<>|/#*&éü€→";

fn safe_text(max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = SAFE.chars().collect();
    prop::collection::vec(prop::sample::select(chars), 0..=max).prop_map(String::from_iter)
}

fn chars_of(alphabet: &'static str, len: std::ops::RangeInclusive<usize>) -> BoxedStrategy<String> {
    let chars: Vec<char> = alphabet.chars().collect();
    prop::collection::vec(prop::sample::select(chars), len)
        .prop_map(String::from_iter)
        .boxed()
}

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const UPPER_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64URL: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
const HEX: &str = "0123456789abcdef";

// ---------------------------------------------------------------------------------------------------------
// Secrets by shape.

/// A generated secret: its text, and the strings none of which may reach the output.
#[derive(Debug, Clone)]
struct Secret {
    text: String,
    needles: Vec<String>,
    /// A card number's digits: the output's digits, read without anything between them, must not hold
    /// them either (a card must not survive as `4111 [..] 1111` or split by a marker).
    digits: Option<String>,
}

impl Secret {
    fn whole(text: String) -> Secret {
        Secret {
            needles: vec![text.clone()],
            text,
            digits: None,
        }
    }
}

/// 13 to 19 digits, Luhn-valid, plain or grouped by single spaces or dashes.
fn card() -> impl Strategy<Value = Secret> {
    (
        13usize..=19,
        1u8..=9,
        prop::collection::vec(0u8..10, 18),
        0u8..4,
        prop::collection::vec((2usize..=6, prop::sample::select(vec![' ', '-'])), 8),
    )
        .prop_map(|(len, first, rest, grouping, groups)| {
            let mut digits: String = std::iter::once(first)
                .chain(rest.into_iter().take(len - 2))
                .map(|d| char::from(b'0' + d))
                .collect();
            digits.push(luhn_check_digit(&digits));
            let text = match grouping {
                0 => digits.clone(),
                1 | 2 => {
                    let separator = if grouping == 1 { " " } else { "-" };
                    let chunks: Vec<String> = digits
                        .as_bytes()
                        .chunks(4)
                        .map(|c| String::from_utf8(c.to_vec()).unwrap())
                        .collect();
                    chunks.join(separator)
                }
                _ => {
                    let mut text = String::new();
                    let mut at = 0;
                    for (size, separator) in groups.iter().cycle() {
                        let end = (at + size).min(digits.len());
                        text.push_str(&digits[at..end]);
                        at = end;
                        if at == digits.len() {
                            break;
                        }
                        text.push(*separator);
                    }
                    text
                }
            };
            Secret {
                needles: vec![text.clone(), digits.clone()],
                text,
                digits: Some(digits),
            }
        })
}

fn jwt() -> impl Strategy<Value = Secret> {
    (
        chars_of(BASE64URL, 10..=40),
        chars_of(BASE64URL, 10..=60),
        chars_of(BASE64URL, 0..=43),
    )
        .prop_map(|(h, p, s)| Secret::whole(format!("eyJ{h}.eyJ{p}.{s}")))
}

fn prefixed(
    prefixes: &'static [&'static str],
    alphabet: &'static str,
    len: std::ops::RangeInclusive<usize>,
) -> BoxedStrategy<Secret> {
    (prop::sample::select(prefixes), chars_of(alphabet, len))
        .prop_map(|(prefix, body)| Secret::whole(format!("{prefix}{body}")))
        .boxed()
}

fn bearer() -> impl Strategy<Value = Secret> {
    (
        prop::sample::select(vec!["Bearer", "bearer", "BEARER"]),
        chars_of(ALNUM, 7..=40),
        0u8..10,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(scheme, token, digit, at)| {
            // A random token has a digit or a symbol; prose after "bearer" has none.
            let mut token = token;
            token.insert(at.index(token.len() + 1), char::from(b'0' + digit));
            Secret {
                text: format!("{scheme} {token}"),
                needles: vec![token],
                digits: None,
            }
        })
}

fn basic() -> impl Strategy<Value = Secret> {
    (chars_of(ALNUM, 1..=12), chars_of(ALNUM, 6..=24)).prop_map(|(user, password)| {
        let encoded = base64(format!("{user}:{password}").as_bytes());
        Secret {
            text: format!("Basic {encoded}"),
            needles: vec![encoded],
            digits: None,
        }
    })
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn pem() -> impl Strategy<Value = Secret> {
    (
        prop::sample::select(vec!["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "]),
        prop::collection::vec(chars_of(ALNUM, 16..=64), 1..4),
        prop::sample::select(vec!["\n", "\r\n", "\\n"]),
        any::<bool>(),
    )
        .prop_map(|(kind, lines, newline, cut)| {
            let body = lines.join(newline);
            let begin = format!("-----BEGIN {kind}PRIVATE KEY-----");
            let text = if cut {
                format!("{begin}{newline}{body}")
            } else {
                format!("{begin}{newline}{body}{newline}-----END {kind}PRIVATE KEY-----")
            };
            Secret {
                needles: lines,
                text,
                digits: None,
            }
        })
}

fn url_password() -> impl Strategy<Value = Secret> {
    (
        prop::sample::select(vec![
            "postgres",
            "mysql",
            "redis",
            "amqp",
            "https",
            "mongodb+srv",
        ]),
        chars_of(ALNUM, 1..=10),
        chars_of(ALNUM, 6..=20),
        chars_of("abcdefghijklmnopqrstuvwxyz.", 1..=16),
    )
        .prop_map(|(scheme, user, password, host)| {
            let password = format!("pw{password}");
            Secret {
                text: format!("{scheme}://{user}:{password}@h{host}:5432/db"),
                needles: vec![format!(":{password}@")],
                digits: None,
            }
        })
}

/// Every shape README lists.
fn secret() -> impl Strategy<Value = Secret> {
    let shapes: Vec<(u32, BoxedStrategy<Secret>)> = vec![
        (6, card().boxed()),
        (2, jwt().boxed()),
        (1, prefixed(&["AKIA", "ASIA"], UPPER_ALNUM, 16..=16)),
        (
            1,
            prefixed(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], ALNUM, 36..=36),
        ),
        (
            1,
            prefixed(
                &["github_pat_"],
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
                22..=82,
            ),
        ),
        (
            1,
            prefixed(
                &["sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"],
                ALNUM,
                24..=40,
            ),
        ),
        (
            1,
            prefixed(
                &["xoxb-", "xoxp-", "xoxa-", "xapp-"],
                "0123456789abcdefghijklmnopqrstuvwxyz-",
                10..=40,
            ),
        ),
        (1, prefixed(&["AIza"], BASE64URL, 35..=35)),
        (1, prefixed(&["glpat-"], BASE64URL, 20..=20)),
        (1, prefixed(&["npm_"], ALNUM, 36..=36)),
        (1, prefixed(&["sk-ant-", "sk-proj-"], BASE64URL, 32..=64)),
        (
            1,
            (chars_of(BASE64URL, 22..=22), chars_of(BASE64URL, 43..=43))
                .prop_map(|(a, b)| Secret::whole(format!("SG.{a}.{b}")))
                .boxed(),
        ),
        (
            1,
            prefixed(
                &["https://hooks.slack.com/services/"],
                "ABCDEFGHIJ0123456789/",
                20..=44,
            ),
        ),
        (2, bearer().boxed()),
        (1, basic().boxed()),
        (1, pem().boxed()),
        (1, url_password().boxed()),
    ];
    // The marker of `Debug` secrets is searched for in every output: no token may hold it by chance.
    prop::strategy::Union::new_weighted(shapes)
        .prop_filter("no marker by chance", |s| !s.text.contains(&MARKER[..3]))
}

/// Text with secrets in it, each between boundaries; the secrets.
fn text_with_secrets() -> impl Strategy<Value = (String, Vec<Secret>)> {
    prop::collection::vec((any_text(12), boundary(), secret(), boundary()), 1..4)
        .prop_flat_map(|parts| (Just(parts), any_text(12)))
        .prop_map(|(parts, tail)| {
            let mut text = String::new();
            let mut secrets = Vec::new();
            for (before, open, secret, close) in parts {
                text.push_str(&before);
                text.push(open);
                text.push_str(&secret.text);
                text.push(close);
                secrets.push(secret);
            }
            text.push_str(&tail);
            (text, secrets)
        })
}

fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// None of the secrets' text is in `output`.
fn assert_no_leak(output: &str, secrets: &[Secret], input: &str) -> Result<(), TestCaseError> {
    for secret in secrets {
        for needle in &secret.needles {
            prop_assert!(
                !output.contains(needle.as_str()),
                "{:?} leaked\ninput:  {:?}\noutput: {:?}",
                needle,
                input,
                output
            );
        }
        if let Some(digits) = &secret.digits {
            prop_assert!(
                !digits_of(output).contains(digits.as_str()),
                "card {} leaked\ninput:  {:?}\noutput: {:?}",
                digits,
                input,
                output
            );
        }
    }
    Ok(())
}

fn field(redactor: &Redactor, key: &str, text: &str) -> String {
    let mut value = Value::String(text.to_owned());
    redactor.redact_value(key, &mut value);
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// The string `text` as a value inside JSON, as a field holding a JSON body has it.
fn nested(redactor: &Redactor, text: &str) -> String {
    let mut value = json!({"body": {"notes": [text], "sku": "beans"}});
    redactor.redact_value("payload", &mut value);
    value.to_string()
}

#[test]
fn secrets_by_shape_in_free_text_never_pass() {
    let redactor = Redactor::default();
    let mut runner = TestRunner::new(config(40_000));
    runner
        .run(&text_with_secrets(), |(text, secrets)| {
            // A message, a string field, a string inside a JSON value.
            for output in [
                field(&redactor, "message", &text),
                field(&redactor, "note", &text),
                nested(&redactor, &text),
            ] {
                assert_no_leak(&output, &secrets, &text)?;
            }
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------------------
// What must survive.

/// Text that looks like a secret and is not one, in safe text: it must come out unchanged.
fn look_alike() -> impl Strategy<Value = String> {
    let wrong_check_digit = (
        13usize..=19,
        1u8..=9,
        prop::collection::vec(0u8..10, 18),
        0u8..3,
    )
        .prop_map(|(len, first, rest, grouping)| {
            let mut digits: String = std::iter::once(first)
                .chain(rest.into_iter().take(len - 2))
                .map(|d| char::from(b'0' + d))
                .collect();
            let right = luhn_check_digit(&digits);
            digits.push(if right == '9' {
                '0'
            } else {
                char::from(right as u8 + 1)
            });
            assert!(!luhn_valid(&digits));
            match grouping {
                // Four groups of four: no three groups make 13 digits, so no part is a card either.
                1 if len == 16 => {
                    let chunks: Vec<&str> = (0..4).map(|i| &digits[i * 4..i * 4 + 4]).collect();
                    chunks.join(" ")
                }
                _ => digits,
            }
        });
    let uuid = chars_of(HEX, 32..=32).prop_map(|h| {
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    });
    let trace_id = chars_of(HEX, 32..=32);
    let traceparent = (chars_of(HEX, 32..=32), chars_of(HEX, 16..=16))
        .prop_map(|(t, s)| format!("00-{t}-{s}-01"));
    let timestamp = (0u64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
        let time = std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
        humantime::format_rfc3339_nanos(time).to_string()
    });
    let duration = (
        0u64..100_000,
        prop::sample::select(vec!["ns", "us", "µs", "ms", "s", "m", "h"]),
    )
        .prop_map(|(n, unit)| format!("{n}{unit}"));
    let in_word = (
        prop::sample::select(vec!["INV", "order", "ts", "x"]),
        card(),
    )
        .prop_map(|(word, card)| format!("{word}{}", card.text.replace([' ', '-'], "")));
    let words = prop::sample::select(vec![
        "the bearer instruments are settled",
        "Basic information",
        "risk_test_case_number_one",
        "-----BEGIN CERTIFICATE-----",
        "see https://example.com/a?b=c",
        "eyJ is how base64 json starts",
        "AKIA but too short",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        3 => wrong_check_digit,
        1 => uuid,
        1 => trace_id,
        1 => traceparent,
        1 => timestamp,
        1 => duration,
        1 => in_word,
        1 => words,
    ]
}

#[test]
fn look_alikes_and_plain_text_come_out_unchanged() {
    let redactor = Redactor::default();
    let mut runner = TestRunner::new(config(20_000));
    let case = (safe_text(16), look_alike(), safe_text(16))
        .prop_map(|(before, middle, after)| format!("{before} {middle} {after}"));
    runner
        .run(&case, |text| {
            prop_assert_eq!(field(&redactor, "message", &text), text.clone());
            prop_assert_eq!(field(&redactor, "note", &text), text.clone());
            Ok(())
        })
        .unwrap();
    // Numbers are never card numbers: typed fields and JSON numbers, whatever their checksum.
    for n in [4111111111111111u64, 1733273038123456789, 4242424242424242] {
        let mut value = json!({"ts_ns": n, "nested": {"n": n}});
        redactor.redact_value("payload", &mut value);
        assert_eq!(value, json!({"ts_ns": n, "nested": {"n": n}}));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Rust `Debug` output.

/// A value printed through `std::fmt::Debug` exactly as a derived impl prints it.
#[derive(Clone)]
enum Dbg {
    Struct(&'static str, Vec<(String, Dbg)>),
    Tuple(&'static str, Vec<Dbg>),
    Map(Vec<(String, Dbg)>),
    List(Vec<Dbg>),
    Str(String),
    Int(i64),
    Bool(bool),
    Unit(&'static str),
    None,
    Some(Box<Dbg>),
}

impl fmt::Debug for Dbg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dbg::Struct(name, fields) => {
                let mut s = f.debug_struct(name);
                for (key, value) in fields {
                    s.field(key, value);
                }
                s.finish()
            }
            Dbg::Tuple(name, items) => {
                let mut t = f.debug_tuple(name);
                for item in items {
                    t.field(item);
                }
                t.finish()
            }
            Dbg::Map(entries) => f
                .debug_map()
                .entries(entries.iter().map(|(k, v)| (k.as_str(), v)))
                .finish(),
            Dbg::List(items) => f.debug_list().entries(items).finish(),
            Dbg::Str(s) => fmt::Debug::fmt(s.as_str(), f),
            Dbg::Int(i) => fmt::Debug::fmt(i, f),
            Dbg::Bool(b) => fmt::Debug::fmt(b, f),
            Dbg::Unit(name) => f.write_str(name),
            Dbg::None => f.write_str("None"),
            Dbg::Some(inner) => f.debug_tuple("Some").field(inner).finish(),
        }
    }
}

const TYPE_NAMES: &[&str] = &[
    "CreatePayment",
    "Customer",
    "Card",
    "Order",
    "Line",
    "Request",
];
const VARIANTS: &[&str] = &["Pending", "Paid", "Declined", "Eur", "Visa"];
/// Field names: harmless ones (several near misses), and sensitive ones as Rust and JSON spell them.
const HARMLESS_FIELDS: &[&str] = &[
    "customer", "amount", "items", "sku", "note", "status", "brand", "last4", "shipping",
    "address", "author", "spinner", "pass", "tok", "card", "key", "session", "id", "name", "meta",
];
const SENSITIVE_FIELDS: &[&str] = &[
    "password",
    "card_number",
    "cardNumber",
    "cvv",
    "cvc",
    "pin",
    "user_pin",
    "otp",
    "api_key",
    "apiKey",
    "client_secret",
    "access_token",
    "authorization",
    "private_key",
    "iban",
    "passphrase",
    "session_id",
    "ssn",
    "db_password_hash",
    "credentials",
];
/// Map keys may be anything, headers among them.
const SENSITIVE_MAP_KEYS: &[&str] = &[
    "x-api-key",
    "Authorization",
    "Set-Cookie",
    "X-CSRF-Token",
    "PIN",
];
/// Tuple structs whose name says they hold a secret.
const SECRET_TYPES: &[&str] = &[
    "ApiKey",
    "Password",
    "SecretString",
    "AuthToken",
    "SessionId",
    "Pin",
];

/// Distinctive text inside every secret leaf (capitals and digits: safe text has none).
const MARKER: &str = "ZQX9";

/// A tree to print, and whether it is a secret's value (everything in it is then secret).
#[derive(Debug, Clone)]
enum Shape {
    Leaf(u8, String, i64),
    Struct(&'static str, Vec<(String, Shape)>),
    Map(Vec<(String, Shape)>),
    List(Vec<Shape>),
    Some(Box<Shape>),
    SecretTuple(&'static str, String),
    /// A harmless string that holds a secret of a known shape.
    Embedded(String, Secret, String),
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(HARMLESS_FIELDS).prop_map(str::to_owned),
        2 => prop::sample::select(SENSITIVE_FIELDS).prop_map(str::to_owned),
    ]
}

fn map_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(HARMLESS_FIELDS).prop_map(str::to_owned),
        1 => prop::sample::select(SENSITIVE_FIELDS).prop_map(str::to_owned),
        1 => prop::sample::select(SENSITIVE_MAP_KEYS).prop_map(str::to_owned),
    ]
}

fn debug_shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![
        6 => (0u8..6, safe_text(10), any::<i64>()).prop_map(|(k, s, i)| Shape::Leaf(k, s, i)),
        1 => (prop::sample::select(SECRET_TYPES), any_text(6))
            .prop_map(|(name, deco)| Shape::SecretTuple(name, deco)),
        1 => (safe_text(6), secret(), safe_text(6))
            .prop_map(|(before, secret, after)| Shape::Embedded(before, secret, after)),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            3 => (prop::sample::select(TYPE_NAMES), prop::collection::vec((field_name(), inner.clone()), 0..5))
                .prop_map(|(name, fields)| Shape::Struct(name, fields)),
            1 => prop::collection::vec((map_key(), inner.clone()), 0..4).prop_map(Shape::Map),
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Shape::List),
            1 => inner.prop_map(|i| Shape::Some(Box::new(i))),
        ]
    })
}

/// What was printed: the value, the strings that must survive (as `Debug` prints them) and the secrets
/// of known shape inside harmless strings.
#[derive(Debug, Clone)]
struct Printed {
    value: Dbg,
    survivors: Vec<String>,
    secrets: Vec<Secret>,
}

fn build(shape: &Shape, secret: bool, out: &mut (Vec<String>, Vec<Secret>)) -> Dbg {
    let secret_leaf = |deco: &str| Dbg::Str(format!("{deco}{MARKER}{deco}"));
    match shape {
        Shape::Leaf(kind, text, int) if secret => match kind {
            0 | 1 => secret_leaf(text),
            2 => Dbg::Some(Box::new(secret_leaf(""))),
            3 => Dbg::Tuple("Secret", vec![secret_leaf(text)]),
            4 => Dbg::List(vec![secret_leaf(""), Dbg::Int(*int)]),
            _ => Dbg::Struct("Inner", vec![("value".into(), secret_leaf(text))]),
        },
        Shape::Leaf(kind, text, int) => match kind {
            0 | 1 => {
                out.0.push(format!("{text:?}"));
                Dbg::Str(text.clone())
            }
            2 => Dbg::Int(*int),
            3 => Dbg::Bool(*int % 2 == 0),
            4 => Dbg::Unit(VARIANTS[int.unsigned_abs() as usize % VARIANTS.len()]),
            _ => Dbg::None,
        },
        Shape::SecretTuple(name, deco) => Dbg::Tuple(name, vec![secret_leaf(deco)]),
        Shape::Embedded(before, secret_value, after) => {
            let text = format!("{before} {} {after}", secret_value.text);
            if !secret {
                out.1.push(secret_value.clone());
            }
            Dbg::Str(if secret {
                format!("{text}{MARKER}")
            } else {
                text
            })
        }
        Shape::Struct(name, fields) => Dbg::Struct(
            name,
            fields
                .iter()
                .map(|(key, child)| {
                    let child = build(child, secret || is_sensitive_name(key), out);
                    (key.clone(), child)
                })
                .collect(),
        ),
        Shape::Map(entries) => Dbg::Map(
            entries
                .iter()
                .map(|(key, child)| {
                    let child = build(child, secret || is_sensitive_name(key), out);
                    (key.clone(), child)
                })
                .collect(),
        ),
        Shape::List(items) if secret && items.is_empty() => Dbg::List(vec![secret_leaf("")]),
        Shape::List(items) => Dbg::List(items.iter().map(|i| build(i, secret, out)).collect()),
        Shape::Some(inner) => Dbg::Some(Box::new(build(inner, secret, out))),
    }
}

/// A named struct at the top, as a derived `Debug` of a request body prints.
fn printed() -> impl Strategy<Value = Printed> {
    (
        prop::sample::select(TYPE_NAMES),
        prop::collection::vec((field_name(), debug_shape()), 1..7),
    )
        .prop_map(|(name, fields)| {
            let mut out = (Vec::new(), Vec::new());
            let value = build(&Shape::Struct(name, fields), false, &mut out);
            Printed {
                value,
                survivors: out.0,
                secrets: out.1,
            }
        })
}

fn check_debug_output(output: &str, printed: &Printed, input: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !output.contains(MARKER),
        "a secret field's value leaked\ninput:  {}\noutput: {}",
        input,
        output
    );
    assert_no_leak(output, &printed.secrets, input)?;
    Ok(())
}

#[test]
fn debug_output_loses_its_secrets_and_keeps_the_rest() {
    let redactor = Redactor::default();
    let mut runner = TestRunner::new(config(20_000));
    runner
        .run(&(printed(), any::<bool>()), |(printed, pretty)| {
            let text = if pretty {
                format!("{:#?}", printed.value)
            } else {
                format!("{:?}", printed.value)
            };
            let output = field(&redactor, "request", &text);
            check_debug_output(&output, &printed, &text)?;
            // Readable: every harmless string is still there as it was printed (when no secret of a
            // known shape shares the text, whose replacement may cover a neighbour).
            if printed.secrets.is_empty() {
                for survivor in &printed.survivors {
                    prop_assert!(
                        output.contains(survivor.as_str()),
                        "{} was lost\ninput:  {}\noutput: {}",
                        survivor,
                        text,
                        output
                    );
                }
            }
            // In a message, after a sentence.
            let message = format!("payment received: {text}");
            check_debug_output(&field(&redactor, "message", &message), &printed, &message)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn debug_output_cut_short_never_leaks_part_of_a_secret() {
    let redactor = Redactor::default();
    let mut runner = TestRunner::new(config(20_000));
    runner
        .run(
            &(printed(), any::<bool>(), any::<prop::sample::Index>()),
            |(printed, pretty, cut)| {
                let full = if pretty {
                    format!("{:#?}", printed.value)
                } else {
                    format!("{:?}", printed.value)
                };
                let mut at = cut.index(full.len() + 1);
                while !full.is_char_boundary(at) {
                    at -= 1;
                }
                let text = &full[..at];
                for output in [
                    field(&redactor, "request", text),
                    field(&redactor, "message", text),
                ] {
                    // Not even the start of a marker the cut left.
                    prop_assert!(
                        !output.contains(&MARKER[..3]),
                        "part of a secret leaked\ninput:  {}\noutput: {}",
                        text,
                        output
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

// ---------------------------------------------------------------------------------------------------------
// `key: value` in free text, and personal data.

fn keyed_prose() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        1 => prop::sample::select(SENSITIVE_FIELDS).prop_map(str::to_owned),
        1 => prop::sample::select(SENSITIVE_MAP_KEYS).prop_map(str::to_owned),
    ];
    let separator = prop::sample::select(vec![": ", ":", "=", " = ", "\": \"", "\"=\""]);
    let value = prop_oneof![
        1 => chars_of(UPPER_ALNUM, 0..=12).prop_map(|v| format!("{MARKER}{v}")),
        1 => any_text(8).prop_map(|v| format!("{:?}", format!("{v}{MARKER}"))),
        1 => any_text(8).prop_map(|v| format!("'{}{MARKER}'", v.replace(['\'', '"', '\n', '\\'], ""))),
    ];
    prop::collection::vec((safe_text(12), key, separator, value), 1..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(before, key, separator, value)| {
                let value = if separator.ends_with('"') {
                    value.trim_matches('"').to_owned() + "\""
                } else {
                    value
                };
                let quote = if separator.starts_with('"') { "\"" } else { "" };
                format!("{before} {quote}{key}{separator}{value} ")
            })
            .collect()
    })
}

#[test]
fn sensitive_keys_inside_free_text_lose_their_values() {
    let redactor = Redactor::default();
    let mut runner = TestRunner::new(config(10_000));
    runner
        .run(&keyed_prose(), |text| {
            for output in [
                field(&redactor, "message", &text),
                field(&redactor, "note", &text),
            ] {
                prop_assert!(
                    !output.contains(MARKER),
                    "leaked\ninput:  {:?}\noutput: {:?}",
                    text,
                    output
                );
            }
            Ok(())
        })
        .unwrap();
}

fn email() -> impl Strategy<Value = String> {
    (
        chars_of("abcdefghijklmnopqrstuvwxyz0123456789._+-", 1..=16),
        chars_of("abcdefghijklmnopqrstuvwxyz0123456789-", 1..=12),
        prop::sample::select(vec!["com", "org", "co.uk", "de", "io", "example"]),
    )
        .prop_map(|(local, domain, tld)| {
            let local = format!("u{}", local.trim_end_matches('.'));
            format!("{local}@d{domain}.{tld}")
        })
}

fn phone() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => (1u32..=999, 100_000_000u64..999_999_999)
            .prop_map(|(cc, n)| format!("+{cc} {:05} {:04}", n / 10_000, n % 10_000)),
        1 => (200u32..999, 200u32..999, 1000u32..9999)
            .prop_map(|(a, b, c)| format!("({a}) {b}-{c}")),
        1 => (200u32..999, 200u32..999, 1000u32..9999).prop_map(|(a, b, c)| format!("{a}-{b}-{c}")),
    ]
}

#[test]
fn personal_data_is_masked_only_when_asked() {
    let pii = Redactor::new(Vec::<String>::new()).pii(true);
    let plain = Redactor::default();
    let mut runner = TestRunner::new(config(10_000));
    let case = (safe_text(10), email(), boundary(), phone(), safe_text(10));
    runner
        .run(&case, |(before, email, open, phone, after)| {
            let text = format!("{before} {email}{open}{phone} {after}");
            for output in [
                field(&pii, "message", &text),
                field(&pii, "note", &text),
                nested(&pii, &text),
            ] {
                prop_assert!(!output.contains(&email), "{} in {}", email, output);
                prop_assert!(!output.contains(&phone), "{} in {}", phone, output);
            }
            prop_assert_eq!(field(&plain, "note", &text), text.clone());
            Ok(())
        })
        .unwrap();
    for name in ["email", "customer.email", "phoneNumber", "client_ip"] {
        assert!(is_pii_name(name));
        assert_eq!(field(&pii, name, "anything at all"), REDACTED, "{name}");
        assert_eq!(field(&plain, name, "anything at all"), "anything at all");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Through the whole pipeline: log lines and exported spans.

#[derive(Debug)]
struct Declined(String);

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "declined: {}", self.0)
    }
}

#[business_span("charge-card", attrs(charge.note = note))]
fn charge(note: &str, request: &Dbg) -> Result<(), Declined> {
    tracing::info!(request = ?request, raw = %note, "payment received: {note}");
    Err(Declined(note.to_owned()))
}

#[observe]
fn observed_message(text: &str) {
    tracing::warn!("customer pasted {text}");
}

/// Every string a span carries: name, status, attributes, event names and event attributes.
fn span_texts(span: &opentelemetry_sdk::trace::SpanData) -> Vec<String> {
    let mut texts = vec![span.name.to_string()];
    if let Status::Error { description } = &span.status {
        texts.push(description.to_string());
    }
    let events = span.events.events.iter();
    texts.extend(events.clone().map(|e| e.name.to_string()));
    let attributes = span
        .attributes
        .iter()
        .chain(events.flat_map(|e| e.attributes.iter()));
    texts.extend(attributes.map(|kv| kv.value.as_str().into_owned()));
    texts
}

#[test]
fn through_log_lines_and_exported_spans() {
    let pipeline = Pipeline::new(|builder| builder);
    pipeline.run(
        5_000,
        (text_with_secrets(), printed()),
        |p, ((text, secrets), printed)| {
            let _ = charge(&text, &printed.value);
            observed_message(&text);
            let spans = p.spans.take(2)?;
            let raw = String::from_utf8(p.logs.take()).unwrap();
            let lines: Vec<Value> = raw
                .lines()
                .map(|l| serde_json::from_str(l).expect("each line is JSON"))
                .collect();
            prop_assert_eq!(lines.len(), 4, "{}", raw);
            assert_no_leak(&raw, &secrets, &text)?;
            check_debug_output(&raw, &printed, &format!("{:?}", printed.value))?;
            for span in &spans {
                for value in span_texts(span) {
                    assert_no_leak(&value, &secrets, &text)?;
                    check_debug_output(&value, &printed, &format!("{:?}", printed.value))?;
                }
            }
            // The error's text is on the completion line and in the span's status, redacted too.
            let completion = lines.iter().find(|l| l.get("outcome").is_some()).unwrap();
            prop_assert!(
                completion["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("declined: ")),
                "{}",
                completion
            );
            Ok(())
        },
    );
}
