//! Redaction of secret values, applied to every value before it can reach a log line or leave the
//! process in a span: by key (sensitive names, the builder's extra paths, with `redact_pii` names of
//! personal data), by shape ([`values`]: card numbers, tokens, private keys), and inside text by key
//! ([`text`]: `Debug` output, JSON-like text, logfmt, prose).

mod text;
mod values;

use serde_json::Value;
use sightline_conventions::{is_pii_key, is_sensitive_key, normalize};
use text::Rules;
pub(crate) use text::TextKind;

/// What a redacted value is replaced with. The key stays, so a reader still sees that a value was there.
pub use sightline_conventions::REDACTED;

/// Nesting depth past which a value is replaced whole instead of inspected: it keeps the walk's recursion
/// bounded for hand-built values, and a value that cannot be inspected must not be printed either.
/// serde_json refuses to parse deeper text than this anyway.
const MAX_DEPTH: usize = 128;

pub(crate) fn redacted() -> Value {
    Value::String(REDACTED.to_owned())
}

/// One segment of an extra path from the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `*`: any one segment.
    Any,
    /// A key, normalized like the keys it is compared with.
    Key(String),
}

impl Segment {
    fn parse(text: &str) -> Self {
        if text == "*" {
            Segment::Any
        } else {
            Segment::Key(normalize(text))
        }
    }

    fn matches(&self, normalized: &str) -> bool {
        match self {
            Segment::Any => true,
            Segment::Key(key) => key == normalized,
        }
    }
}

/// Decides which values of a log line are secret and replaces them with [`REDACTED`], at any depth.
///
/// A value is redacted whole when its key is sensitive by [`sightline_conventions::is_sensitive_key`]
/// (`password`, `x-api-key`, `Set-Cookie`, `pin`, ...), when its path matches one of the extra paths given
/// to [`Redactor::new`], or, with [`pii`](Self::pii), when its key names personal data (`email`,
/// `phone`). Inside text (every string, and a line's message) secrets are replaced where they stand:
/// the values of sensitive keys in `Debug` output, JSON-like text, `key=value` pairs and prose, and
/// values that are secrets by their shape (card numbers, tokens, private keys; with `pii`, e-mail
/// addresses and phone numbers).
///
/// The path of a value is the list of keys leading to it from the top of the log line, each key split on
/// `.`, with array elements adding their index. So the field named `body.credit_card` and the
/// `credit_card` key inside a field `body` holding JSON both have the path `body`, `credit_card`. Keys and
/// path segments are compared lower-cased with `-` read as `_`.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Single-segment extra paths: they match a key at any depth.
    anywhere: Vec<Segment>,
    /// Multi-segment extra paths: they match from the top of the line.
    anchored: Vec<Vec<Segment>>,
    /// Personal data too (names and values).
    pii: bool,
    /// Text is scanned for secrets by shape and by key.
    scan: bool,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor {
            anywhere: Vec::new(),
            anchored: Vec::new(),
            pii: false,
            scan: true,
        }
    }
}

impl Redactor {
    /// The default sensitive names plus `extra_paths`, e.g. `["session_key", "body.iban", "items.*.pin"]`.
    ///
    /// A path is dot-separated segments and `*` matches exactly one segment. A single-segment path matches
    /// that key at any depth; a longer one matches from the top level of the line. Blank paths are ignored.
    pub fn new<I, S>(extra_paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut redactor = Redactor::default();
        for path in extra_paths {
            let path: String = path.into();
            let path = path.trim();
            if path.is_empty() {
                continue;
            }
            let mut segments: Vec<Segment> = path.split('.').map(Segment::parse).collect();
            if segments.len() == 1 {
                let segment = segments.remove(0);
                if !redactor.anywhere.contains(&segment) {
                    redactor.anywhere.push(segment);
                }
            } else if !redactor.anchored.contains(&segments) {
                redactor.anchored.push(segments);
            }
        }
        redactor
    }

    /// Also redacts personal data: values under names such as `email`, `phone`, `client_ip`, and
    /// e-mail addresses and phone numbers wherever they appear in text. Default: off.
    pub fn pii(mut self, on: bool) -> Self {
        self.pii = on;
        self
    }

    /// Whether text (messages, string values, `Debug` output) is scanned for secrets by their shape and
    /// for sensitive `key: value` pairs. Default: on. Off, only whole values under sensitive keys and
    /// inside parsed JSON are redacted.
    pub fn scan_values(mut self, on: bool) -> Self {
        self.scan = on;
        self
    }

    /// Redacts `value`, the value of the top-level key `key` of a log line (a field name such as
    /// `password` or `body.credit_card`): the whole value when the key is secret, otherwise whatever is
    /// secret inside it, at any depth.
    pub fn redact_value(&self, key: &str, value: &mut Value) {
        if self.is_redacted_key(key) {
            *value = redacted();
        } else {
            self.redact_inside(key, value);
        }
    }

    /// Whether the value of the top-level key `key` is redacted whole. It depends on the key alone, so the
    /// layer computes it once per field name rather than once per line.
    pub(crate) fn is_redacted_key(&self, key: &str) -> bool {
        self.enter_key(&mut Vec::new(), key)
    }

    /// Redacts what is secret inside `value`, the value of the top-level key `key`, leaving `value` itself.
    pub(crate) fn redact_inside(&self, key: &str, value: &mut Value) {
        if let Value::String(text) = value {
            // A line's message, and a call's error (prose: `declined: ..`, as the span's status has it),
            // are free text, never read as JSON: what cannot be read is cut from where it starts.
            let redacted_text = if key == "message" || key == "error" {
                self.redact_text(text, TextKind::Message)
            } else {
                self.redact_string(key, text)
            };
            if let Some(redacted_text) = redacted_text {
                *value = Value::String(redacted_text);
            }
            return;
        }
        self.redact_nested(key, value);
    }

    /// What the string `text`, the value of the top-level key `key` (a field, a span attribute), must be
    /// written as instead, or `None` when it is written as it is: JSON text redacted inside, any other
    /// text scanned.
    pub(crate) fn redact_string(&self, key: &str, text: &str) -> Option<String> {
        if matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'[')) {
            return self.redact_json_text(key, text);
        }
        self.redact_text(text, TextKind::Field)
    }

    /// `text` with the secrets in it replaced ([`text`] and [`values`]), or `None` when it has none.
    pub(crate) fn redact_text(&self, text: &str, kind: TextKind) -> Option<String> {
        if !self.scan {
            return None;
        }
        let is_secret = |name: &str| self.is_secret_name(name);
        Rules {
            is_secret: &is_secret,
            values: true,
            pii: self.pii,
        }
        .redact(text, kind)
    }

    /// Redacts what is secret inside the object or array `value`; says whether anything was.
    fn redact_nested(&self, key: &str, value: &mut Value) -> bool {
        if !matches!(value, Value::Object(_) | Value::Array(_)) {
            return false;
        }
        let mut path = Vec::new();
        if self.has_paths() {
            path.extend(key.split('.').map(normalize));
        }
        self.redact_children(&mut path, value, 1)
    }

    /// What a string holding JSON object or array text, the value of the top-level key `key`, must be
    /// written as instead, or `None` when it is written as it is. Text that is not JSON at all is scanned
    /// as any text is.
    ///
    /// Field values holding such text are parsed into nested JSON before they get here, so text reaching
    /// this is either text nothing parsed (a value given to `sightline::record`, a span attribute) or text
    /// that does not parse: cut short by a body size cap, or with one member serde_json refuses (a lone
    /// surrogate escape, a number out of range, nesting past its limit), which a client can send on
    /// purpose. Text that parses is redacted inside and written back as text. Text that does not is
    /// replaced whole when it names a secret key: its secrets cannot be found one by one, and written as it
    /// is, every secret in it would reach the output.
    pub(crate) fn redact_json_text(&self, key: &str, text: &str) -> Option<String> {
        if !matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'[')) {
            return self.redact_text(text, TextKind::Field);
        }
        match serde_json::from_str::<Value>(text) {
            Ok(mut json) => self.redact_nested(key, &mut json).then(|| json.to_string()),
            Err(_) if self.names_secret_key(text) => Some(REDACTED.to_owned()),
            // `[::1]:8080`, `{not json`, a body cut short: text like any other.
            Err(_) => self.redact_text(text, TextKind::Field),
        }
    }

    /// Whether `text`, JSON that does not parse, has a key (a string followed by `:`) that is secret
    /// wherever it stands: a sensitive name, or the key an extra path ends with (the path to it cannot be
    /// known in broken text, so its last named segment is enough). Escapes are decoded first, so
    /// `"pass\u0077ord":` is a key named `password`.
    fn names_secret_key(&self, text: &str) -> bool {
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '"' {
                continue;
            }
            let mut name = String::new();
            loop {
                match chars.next() {
                    // An unterminated string: no value follows it.
                    None => return false,
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        None => return false,
                        Some('u') => {
                            let hex: String = chars.by_ref().take(4).collect();
                            if let Some(decoded) =
                                u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                            {
                                name.push(decoded);
                            }
                        }
                        Some(escaped) => name.push(escaped),
                    },
                    Some(other) => name.push(other),
                }
            }
            if chars.as_str().trim_start().starts_with(':') && self.is_secret_name(&name) {
                return true;
            }
        }
        false
    }

    /// Whether a key found inside text is secret wherever it stands: a sensitive (or, with `pii`,
    /// personal) name, or the key an extra path ends with.
    fn is_secret_name(&self, name: &str) -> bool {
        if is_sensitive_key(name) || self.pii && is_pii_key(name) {
            return true;
        }
        if !self.has_paths() {
            return false;
        }
        let last_keys = self.anywhere.iter().chain(
            self.anchored
                .iter()
                .filter_map(|pattern| pattern.iter().rev().find(|s| **s != Segment::Any)),
        );
        let segments: Vec<String> = name.split('.').map(normalize).collect();
        last_keys
            .filter(|segment| **segment != Segment::Any)
            .any(|segment| segments.iter().any(|key| segment.matches(key)))
    }

    fn has_paths(&self) -> bool {
        !self.anywhere.is_empty() || !self.anchored.is_empty()
    }

    /// Whether the value under `key` is secret; pushes the key's segments onto `path` (only when there are
    /// extra paths to compare with, so the common case does not pay for normalizing every segment).
    ///
    /// Every prefix the key adds is checked, not only the full path: the value of a field named
    /// `body.credit_card` lies inside `body` as much as the nested `{"body":{"credit_card":..}}` does.
    fn enter_key(&self, path: &mut Vec<String>, key: &str) -> bool {
        let mut hit = is_sensitive_key(key) || self.pii && is_pii_key(key);
        if self.has_paths() {
            for segment in key.split('.') {
                path.push(normalize(segment));
                hit = hit || self.matches(path);
            }
        }
        hit
    }

    fn enter_index(&self, path: &mut Vec<String>, index: usize) -> bool {
        if !self.has_paths() {
            return false;
        }
        path.push(index.to_string());
        self.matches(path)
    }

    fn matches(&self, path: &[String]) -> bool {
        let Some(last) = path.last() else {
            return false;
        };
        self.anywhere.iter().any(|segment| segment.matches(last))
            || self.anchored.iter().any(|pattern| {
                pattern.len() == path.len()
                    && pattern
                        .iter()
                        .zip(path)
                        .all(|(segment, key)| segment.matches(key))
            })
    }

    /// Replaces what is secret below `value`; says whether anything was.
    fn redact_children(&self, path: &mut Vec<String>, value: &mut Value, depth: usize) -> bool {
        if depth > MAX_DEPTH && matches!(value, Value::Object(_) | Value::Array(_)) {
            *value = redacted();
            return true;
        }
        let mut changed = false;
        let mut visit = |path: &mut Vec<String>, secret: bool, child: &mut Value| {
            if secret {
                // A value already redacted is no change: the text it came from is written as it was.
                if child.as_str() != Some(REDACTED) {
                    *child = redacted();
                    changed = true;
                }
            } else if let Value::String(text) = child {
                if let Some(redacted_text) = self.redact_text(text, TextKind::Field) {
                    *child = Value::String(redacted_text);
                    changed = true;
                }
            } else {
                changed |= self.redact_children(path, child, depth + 1);
            }
        };
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let mark = path.len();
                    let secret = self.enter_key(path, key);
                    visit(path, secret, child);
                    path.truncate(mark);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter_mut().enumerate() {
                    let mark = path.len();
                    let secret = self.enter_index(path, index);
                    visit(path, secret, child);
                    path.truncate(mark);
                }
            }
            _ => {}
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redact(redactor: &Redactor, key: &str, mut value: Value) -> Value {
        redactor.redact_value(key, &mut value);
        value
    }

    /// Found by the property tests: a token followed by `=` reads as a secret key (`..SSNTq..`), and the
    /// unpaired quote after it made the whole error `[REDACTED]`; an error is prose, cut where it cannot
    /// be read, with its secrets before that replaced.
    #[test]
    fn an_error_that_cannot_be_read_keeps_what_comes_before() {
        let r = Redactor::default();
        let error = "declined:  SG.aaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaa5SSNTqJGxXDC2ZZmZ_sar5<\u{b}=\u{9d}$\u{202e}`'(glpat-AFVO-MmsioUvuw-w2K3o>";
        let out = redact(&r, "error", json!(error));
        let out = out.as_str().unwrap();
        assert!(out.starts_with("declined:  "), "{out}");
        assert!(!out.contains("SG.aaaa") && !out.contains("glpat-"), "{out}");
        assert!(out.ends_with(REDACTED), "{out}");
    }

    #[test]
    fn default_names_at_any_depth_and_case() {
        let r = Redactor::default();
        assert_eq!(redact(&r, "password", json!(42)), json!(REDACTED));
        assert_eq!(redact(&r, "X-Api-Key", json!({"a": 1})), json!(REDACTED));
        assert_eq!(redact(&r, "order_id", json!(7)), json!(7));
        assert_eq!(
            redact(
                &r,
                "body",
                json!({"user": {"Password": "s3cr3t", "name": "ann",
                       "cards": [{"card_number": "4111", "brand": "visa"}]},
                       "headers": {"Set-Cookie": ["a", "b"], "authorization": {"scheme": "Bearer"}}})
            ),
            json!({"user": {"Password": REDACTED, "name": "ann",
                   "cards": [{"card_number": REDACTED, "brand": "visa"}]},
                   "headers": {"Set-Cookie": REDACTED, "authorization": REDACTED}})
        );
    }

    #[test]
    fn single_segment_path_matches_anywhere_exactly() {
        let r = Redactor::new(["Member-Ref"]);
        assert_eq!(redact(&r, "member_ref", json!("a")), json!(REDACTED));
        assert_eq!(
            redact(
                &r,
                "ctx",
                json!({"deep": [{"MEMBER_REF": 1, "member_refs": 2}]})
            ),
            json!({"deep": [{"MEMBER_REF": REDACTED, "member_refs": 2}]})
        );
        // A dotted field name is a path: its last segment is a key like any other.
        assert_eq!(
            redact(&r, "account.member_ref", json!("a")),
            json!(REDACTED)
        );
    }

    #[test]
    fn anchored_path_matches_both_dotted_names_and_nesting() {
        let r = Redactor::new(["body.account"]);
        assert_eq!(redact(&r, "body.account", json!("DE89")), json!(REDACTED));
        assert_eq!(redact(&r, "Body.ACCOUNT", json!("DE89")), json!(REDACTED));
        assert_eq!(
            redact(&r, "body", json!({"account": "DE89", "name": "x"})),
            json!({"account": REDACTED, "name": "x"})
        );
        // Anchored at the top: the same key deeper down is left alone.
        assert_eq!(
            redact(&r, "other", json!({"body": {"account": "DE89"}})),
            json!({"body": {"account": "DE89"}})
        );
        assert_eq!(
            redact(&r, "account", json!("DE89")),
            json!("DE89"),
            "a suffix of the path is not the path"
        );
    }

    #[test]
    fn a_matching_prefix_redacts_everything_under_it() {
        let r = Redactor::new(["body.card"]);
        assert_eq!(redact(&r, "body.card.number", json!("4")), json!(REDACTED));
        assert_eq!(
            redact(&r, "body", json!({"card": {"number": "4"}})),
            json!({"card": REDACTED})
        );
    }

    #[test]
    fn wildcards_and_array_indices() {
        let r = Redactor::new(["*.code", "items.*.lot"]);
        assert_eq!(redact(&r, "login.code", json!(123456)), json!(REDACTED));
        assert_eq!(
            redact(&r, "login", json!({"code": 1})),
            json!({"code": REDACTED})
        );
        assert_eq!(
            redact(&r, "a", json!({"b": {"code": 1}})),
            json!({"b": {"code": 1}}),
            "* is one segment, not many"
        );
        assert_eq!(
            redact(&r, "items", json!([{"lot": 1, "n": 2}, {"lot": 3}])),
            json!([{"lot": REDACTED, "n": 2}, {"lot": REDACTED}])
        );
        let r = Redactor::new(["list.1"]);
        assert_eq!(
            redact(&r, "list", json!([1, 2, 3])),
            json!([1, REDACTED, 3])
        );
    }

    #[test]
    fn blank_paths_are_ignored_and_duplicates_collapse() {
        let r = Redactor::new(vec!["", "  ", "pin", "PIN", "a.b", "a.b"]);
        assert_eq!(r.anywhere.len(), 1);
        assert_eq!(r.anchored.len(), 1);
        assert_eq!(redact(&r, "x", json!("y")), json!("y"));
    }

    #[test]
    fn json_text_is_redacted_inside_and_broken_json_text_naming_a_secret_whole() {
        let r = Redactor::new(["pin"]);
        let text = |t: &str| redact(&r, "body", json!(t));
        // Text nothing parsed before (a recorded value): redacted inside, still text.
        assert_eq!(
            text(r#" {"user":"ada","password":"hunter2"}"#),
            json!(r#"{"password":"[REDACTED]","user":"ada"}"#)
        );
        assert_eq!(text(r#"{"user":"ada"}"#), json!(r#"{"user":"ada"}"#));
        // Cut short, or with a member serde_json refuses: whole, when a key in it is secret.
        for broken in [
            r#"{"user":"ada","password":"hunt"#,
            r#"{"n":1e999,"auth":{"token":"t"}}"#,
            r#"["\ud800",{"Set-Cookie" : "sid"}]"#,
            r#"{"pass\u0077ord":"x","#,
            r#"{"card":{"PIN":"0000""#,
        ] {
            assert_eq!(text(broken), json!(REDACTED), "{broken}");
        }
        // Not when none is: a secret name as a value, or escaped inside a string, is no key.
        // Escaped inside a string, a key is still a key: that string's secret is replaced.
        assert_eq!(
            text(r#"{"a":"{\"password\":1}","#),
            json!(r#"{"a":"{\"password\":[REDACTED]}","#)
        );
        for kept in [
            r#"{"note":"password","#,
            "[::1]:8080",
            "{not json",
            r#"{"password"#,
        ] {
            assert_eq!(text(kept), json!(kept), "{kept}");
        }
        // A line's message is free text.
        let mut message = json!(r#"{"password":"#);
        r.redact_inside("message", &mut message);
        assert_eq!(message, json!(r#"{"password":"#));
    }

    #[test]
    fn values_too_deep_to_inspect_are_not_printed() {
        let mut value = json!("leaf");
        for _ in 0..(MAX_DEPTH + 10) {
            value = json!([value]);
        }
        let mut redacted_value = value.clone();
        Redactor::default().redact_value("deep", &mut redacted_value);
        assert_ne!(redacted_value, value);
        assert!(!serde_json::to_string(&redacted_value)
            .unwrap()
            .contains("leaf"));
    }
}
