//! Secrets inside text, found by their key: the `key: value` and `key = value` pairs of Rust `Debug`
//! output (`Payment { card_number: "4111..", .. }`, `{"password": "x"}`, pretty `{:#?}` alike), of
//! JSON-like text that does not parse, of logfmt and query strings (`password=x&user=y`) and of prose
//! (`Authorization: Bearer ..`); plus a tuple struct named like a secret (`ApiKey("..")`).
//!
//! Text is read as tokens (strings with their escapes, brackets, words, `:`, `=`, separators), not
//! parsed against a grammar: `Debug` impls print what they like, and a value cut short by a size cap
//! is still text. A sensitive key's value is the next string, bracketed group, or word (with the group
//! after it: `Card { .. }`, `Some(..)`); it is replaced, the rest stays readable. A string holding more
//! text (escaped JSON inside a `Debug` string) is read the same way, a few levels deep. When a
//! sensitive key's value cannot be delimited (a string or bracket never closed), the secret's extent is
//! unknown: the caller replaces everything from there ([`Broken`]).

use super::values;
use super::REDACTED;
use std::ops::Range;

/// How deep strings inside strings are read; a deeper one that names a secret key is replaced whole.
const MAX_DEPTH: usize = 4;

/// What the scan is over: a field's value is replaced whole when it cannot be read, a message (free
/// text, often a sentence before the `Debug` output) from the unreadable value on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextKind {
    Field,
    Message,
}

/// The rules of one scan: which key names are secret, and which value detectors run.
pub(crate) struct Rules<'a> {
    pub(crate) is_secret: &'a dyn Fn(&str) -> bool,
    /// Look for secrets by their shape ([`values`]).
    pub(crate) values: bool,
    /// Also personal data by its shape.
    pub(crate) pii: bool,
}

/// A sensitive key's value that could not be delimited, starting at this byte.
#[derive(Debug)]
struct Broken(usize);

enum Replace {
    Marker,
    /// `"[REDACTED]"`, in the quote the value had.
    Quoted(u8),
    /// A string whose content was redacted inside, written back with its quotes.
    Text(String),
}

struct Edit {
    range: Range<usize>,
    with: Replace,
    /// Found by a value detector (may overlap a rewritten string's range).
    detected: bool,
}

impl Rules<'_> {
    /// `text` with every secret replaced, or `None` when it holds none.
    pub(crate) fn redact(&self, text: &str, kind: TextKind) -> Option<String> {
        self.redact_at(text, kind, 0)
    }

    fn redact_at(&self, text: &str, kind: TextKind, depth: usize) -> Option<String> {
        let mut edits = Vec::new();
        let found = self.find(text, depth, &mut edits);
        let changed = !edits.is_empty();
        let has_keys = !matches!(found, Ok(false));
        let (written, cut) = match found {
            Ok(_) if !changed => (None, None),
            Ok(_) => (Some(apply(text, edits)), None),
            Err(Broken(at)) => {
                // What comes before the unreadable value is redacted as any text is.
                edits.retain_mut(|edit| {
                    edit.range.end = edit.range.end.min(at);
                    edit.range.start < edit.range.end
                });
                let prefix = apply(&text[..at], edits);
                let end = prefix.len();
                (Some(prefix), Some(end))
            }
        };
        // The last word: in what is written, every secret key is followed by the marker. Text whose
        // quotes pair in a way no reading can trust fails this, and its rest goes instead.
        let shown = written.as_deref().unwrap_or(text);
        let cut = if has_keys {
            self.first_unredacted_value(shown).or(cut)
        } else {
            cut
        };
        match (cut, kind) {
            (None, _) => written,
            (Some(_), TextKind::Field) => Some(REDACTED.to_owned()),
            (Some(at), TextKind::Message) => Some(format!("{}{REDACTED}", &shown[..at])),
        }
    }

    /// Where, in `text`, a secret key's value is not the marker: after the key's `:` or `=`, spaces and
    /// quotes (escaped or not), the marker, a delimiter, or the end must come.
    fn first_unredacted_value(&self, text: &str) -> Option<usize> {
        let bytes = text.as_bytes();
        memchr::memchr2_iter(b':', b'=', bytes)
            .filter(|&at| is_separator_at(bytes, at))
            .filter(|&at| {
                key_before(text, at, true).is_some_and(|key| (self.is_secret)(trim_key(key)))
            })
            .map(|at| {
                let mut value = at + 1;
                while value < bytes.len() && matches!(bytes[value], b' ' | b'\t') {
                    value += 1;
                }
                value
            })
            .find(|&value| {
                let rest = &text[value..];
                let unquoted = rest.trim_start_matches(['"', '\'', '\\']);
                let ok = rest.is_empty()
                    || unquoted.starts_with(REDACTED)
                    || unquoted.len() < rest.len() && unquoted.is_empty()
                    || unquoted.starts_with([',', ';', '&', ')', ']', '}', '\n', '\r'])
                    || rest.starts_with(['"', '\''])
                        && unquoted.starts_with(|c: char| c.is_whitespace() || c == ',');
                !ok
            })
    }

    /// Adds the edits `text` needs; says whether it has secret keys at all.
    fn find(&self, text: &str, depth: usize, edits: &mut Vec<Edit>) -> Result<bool, Broken> {
        let mut ranges = Vec::new();
        let separators = if self.values {
            values::find(text, self.pii, &mut ranges)
        } else {
            memchr::memchr3(b':', b'=', b'(', text.as_bytes()).is_some()
        };
        let has_keys = separators && self.may_have_secret_key(text);
        let keyed = if has_keys {
            // The net runs over what the token pass read, up to where it could read no further.
            let read = self.keyed(text, depth, edits);
            let end = match read {
                Err(Broken(at)) => at,
                Ok(()) => text.len(),
            };
            match (read, self.raw_values(&text[..end], edits)) {
                (Err(Broken(a)), Err(Broken(b))) => Err(Broken(a.min(b))),
                (Err(broken), _) | (_, Err(broken)) => Err(broken),
                (Ok(()), Ok(())) => Ok(true),
            }
        } else {
            Ok(false)
        };
        if !ranges.is_empty() {
            edits.extend(ranges.into_iter().map(|range| Edit {
                range,
                with: Replace::Marker,
                detected: true,
            }));
        }
        keyed
    }

    /// The cheap test before tokenizing: does a `:`, `=` or `(` follow a key that is secret?
    fn may_have_secret_key(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        memchr::memchr3_iter(b':', b'=', b'(', bytes).any(|at| {
            let tuple = bytes[at] == b'(';
            (tuple || is_separator_at(bytes, at))
                && key_before(text, at, !tuple).is_some_and(|key| {
                    let key = trim_key(key);
                    (!tuple || is_type_name(key)) && (self.is_secret)(key)
                })
        })
    }

    fn keyed(&self, text: &str, depth: usize, edits: &mut Vec<Edit>) -> Result<(), Broken> {
        let tokens = lex(text);
        let mut i = 0;
        while i < tokens.len() {
            let token = &tokens[i];
            // What a string holds is text too, whatever the string is to what is around it.
            if let Tok::Str {
                range,
                closed,
                quote,
            } = token
            {
                self.inside_string(text, range.clone(), *closed, *quote, depth, edits);
            }
            let key = match token {
                Tok::Word(r) => Some(text[r.clone()].to_owned()),
                Tok::Str {
                    range,
                    closed: true,
                    quote,
                } => Some(unescape(&text[range.start + 1..range.end - 1], *quote)),
                _ => None,
            };
            if let Some(key) = key.as_deref().map(trim_key).filter(|k| !k.is_empty()) {
                let after = skip_space(&tokens, i + 1, true);
                let separator = matches!(tokens.get(after), Some(Tok::Colon | Tok::Eq));
                // `ApiKey("sk_..")`: a tuple struct named like a secret (a type's name, not
                // `reset password(s)` or `user@token.io(`).
                let tuple = matches!(token, Tok::Word(_))
                    && matches!(tokens.get(i + 1), Some(Tok::Open(_, b'(')))
                    && is_type_name(key);
                if (separator || tuple) && (self.is_secret)(key) {
                    let at = if separator {
                        skip_space(&tokens, after + 1, true)
                    } else {
                        i + 1
                    };
                    if let Some((mut range, quote, next)) = value(text, &tokens, at)? {
                        if !separator {
                            // Inside the parentheses: `ApiKey([REDACTED])`.
                            range = range.start + 1..range.end - 1;
                        }
                        let written = &text[range.clone()];
                        let already = written == REDACTED
                            || written.len() == REDACTED.len() + 2
                                && written.get(1..written.len() - 1) == Some(REDACTED);
                        if !already && !range.is_empty() {
                            edits.push(Edit {
                                range,
                                with: quote.map_or(Replace::Marker, Replace::Quoted),
                                detected: false,
                            });
                        }
                        i = next;
                        continue;
                    }
                }
            }
            if let Tok::Str {
                range,
                closed: true,
                quote,
            } = token
            {
                // A stray quote before a key (prose: `" password: "hunter2"`) pairs with the value's
                // opening quote: the key ends the string, and its value follows it.
                if self.ends_with_secret_key(&text[range.start + 1..range.end - 1]) {
                    // Its closing quote was the value's opening one: the value runs to the next.
                    let (end, found) = string_end(text.as_bytes(), range.end - 1, *quote, 256);
                    let at = skip_space(&tokens, i + 1, false);
                    if found && !text[range.end..end].contains('\n') {
                        edits.push(Edit {
                            range: range.end..end,
                            with: Replace::Marker,
                            detected: false,
                        });
                        i = tokens
                            .iter()
                            .position(|t| t.start() >= end)
                            .unwrap_or(tokens.len());
                        continue;
                    }
                    if let Some((value_range, quote, next)) = value(text, &tokens, at)? {
                        edits.push(Edit {
                            range: value_range,
                            with: quote.map_or(Replace::Marker, Replace::Quoted),
                            detected: false,
                        });
                        i = next;
                        continue;
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// The net under the token pass: every secret `key:` or `key=` in the raw text has the value after
    /// it replaced, unless an edit already covers it. The token pass reads quotes as they pair, and prose
    /// can pair them wrongly (`" "password": "x"`: the stray quote makes `"password"` a word and `": "` a
    /// string); a value is then what follows the separator up to a space, a delimiter, or (quoted) its
    /// closing quote.
    fn raw_values(&self, text: &str, edits: &mut Vec<Edit>) -> Result<(), Broken> {
        let bytes = text.as_bytes();
        for at in memchr::memchr2_iter(b':', b'=', bytes) {
            if !is_separator_at(bytes, at)
                || !key_before(text, at, true).is_some_and(|key| (self.is_secret)(trim_key(key)))
            {
                continue;
            }
            // A separator inside a value the token pass already replaces (`ApiKey(":(..")`) may be
            // followed by quotes that never close; what it would read up to them is gone anyway, and
            // the last word checks what is written.
            let replaced = edits
                .iter()
                .any(|e| e.range.start <= at && at < e.range.end);
            let unreadable = |start| if replaced { Ok(()) } else { Err(Broken(start)) };
            let mut start = at + 1;
            // The key's closing quote may follow the separator in broken quoting (`password": "x"`).
            while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
                start += 1;
            }
            let end = match bytes.get(start) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let (mut end, closed) = string_end(bytes, start, quote, usize::MAX);
                    if !closed {
                        unreadable(start)?;
                        continue;
                    }
                    // A closing quote with more text right after it was not the value's end.
                    while end < bytes.len()
                        && !bytes[end].is_ascii_whitespace()
                        && !matches!(bytes[end], b',' | b';' | b'&' | b')' | b']' | b'}' | b':')
                    {
                        end += 1;
                    }
                    end
                }
                Some(_) => {
                    let end = start
                        + bytes[start..]
                            .iter()
                            .take_while(|&&b| {
                                !b.is_ascii_whitespace()
                                    && !matches!(b, b',' | b';' | b'&' | b')' | b']' | b'}' | b'"')
                            })
                            .count();
                    // `ApiKey("..")`, `Some("..")`: a value that opens parentheses runs to where they
                    // close, whatever quotes it holds.
                    match text[start..end].find('(') {
                        Some(open) => match paren_end(bytes, start + open) {
                            Some(close) => close,
                            None => {
                                unreadable(start)?;
                                continue;
                            }
                        },
                        None => end,
                    }
                }
                None => start,
            };
            let written = &text[start..end];
            let already = written == REDACTED
                || written.get(1..written.len().saturating_sub(1)) == Some(REDACTED);
            let covered = edits
                .iter()
                .any(|e| e.range.start <= start && end <= e.range.end);
            if start < end && !already && !covered {
                edits.push(Edit {
                    range: start..end,
                    with: Replace::Marker,
                    detected: false,
                });
            }
        }
        Ok(())
    }

    /// Whether `content` ends with a secret key and its `:` or `=`.
    fn ends_with_secret_key(&self, content: &str) -> bool {
        let trimmed = content.trim_end();
        trimmed.ends_with([':', '='])
            && !trimmed.ends_with("::")
            && key_before(trimmed, trimmed.len() - 1, true)
                .is_some_and(|key| (self.is_secret)(trim_key(key)))
    }

    /// A string token that is no sensitive key's value: what it holds is text too (escaped JSON in a
    /// `Debug` string, a message quoted in a struct).
    fn inside_string(
        &self,
        text: &str,
        range: Range<usize>,
        closed: bool,
        quote: u8,
        depth: usize,
        edits: &mut Vec<Edit>,
    ) {
        let content = &text[range.start + 1..if closed { range.end - 1 } else { range.end }];
        // Single quotes in prose pair by guess: what they hold is read as written.
        let unescaped = if quote == b'"' {
            unescape(content, quote)
        } else {
            content.to_owned()
        };
        if !self.may_have_secret_key(&unescaped) {
            return;
        }
        let quoted = |inner: &str| {
            let mut out = String::with_capacity(inner.len() + 2);
            out.push(quote as char);
            if quote == b'"' {
                out.push_str(&escape(inner, quote));
            } else {
                out.push_str(inner);
            }
            if closed {
                out.push(quote as char);
            }
            out
        };
        let with = if depth + 1 >= MAX_DEPTH {
            Replace::Quoted(quote)
        } else {
            match self.redact_at(&unescaped, TextKind::Field, depth + 1) {
                None => return,
                Some(inner) if inner == REDACTED => Replace::Quoted(quote),
                Some(inner) => Replace::Text(quoted(&inner)),
            }
        };
        edits.push(Edit {
            range,
            with,
            detected: false,
        });
    }
}

/// A key's value: its byte range, its quote when it is a string, and the index of the token after it.
type Found = (Range<usize>, Option<u8>, usize);

/// The value starting at token `at`; `None` when there is no value (the key ends the text or a list
/// item).
fn value(text: &str, tokens: &[Tok], at: usize) -> Result<Option<Found>, Broken> {
    match tokens.get(at) {
        Some(Tok::Str {
            range,
            closed: true,
            quote,
        }) => Ok(Some((range.clone(), Some(*quote), at + 1))),
        Some(Tok::Str { range, .. }) => Err(Broken(range.start)),
        Some(Tok::Open(start, _)) => {
            let end = group_end(tokens, at).ok_or(Broken(*start))?;
            Ok(Some((*start..tokens[end].end(), None, end + 1)))
        }
        Some(Tok::Word(range)) => {
            let (start, mut end, mut next) = (range.start, range.end, at + 1);
            // `Bearer <token>`: the scheme and what follows it.
            if is_auth_scheme(&text[range.clone()]) {
                if let (Some(Tok::Space(space)), Some(Tok::Word(token))) =
                    (tokens.get(next), tokens.get(next + 1))
                {
                    if !text[space.clone()].contains('\n') {
                        end = token.end;
                        next += 2;
                    }
                }
            }
            // `Some(..)`, `Card { .. }`: a name and its group.
            let group = match (tokens.get(next), tokens.get(next + 1)) {
                (Some(Tok::Open(..)), _) => Some(next),
                (Some(Tok::Space(space)), Some(Tok::Open(_, b'{'))) if space.len() == 1 => {
                    Some(next + 1)
                }
                _ => None,
            };
            if let Some(open) = group {
                let close = group_end(tokens, open).ok_or(Broken(start))?;
                end = tokens[close].end();
                next = close + 1;
            }
            Ok(Some((start..end, None, next)))
        }
        _ => Ok(None),
    }
}

/// Whether the `:` or `=` at `at` separates a key from its value: not part of a path (`::`) or of a
/// comparison or arrow (`==`, `!=`, `<=`, `>=`, `=>`).
fn is_separator_at(bytes: &[u8], at: usize) -> bool {
    let before = at.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(at + 1).copied();
    match bytes[at] {
        b':' => before != Some(b':') && after != Some(b':'),
        b'=' => {
            !matches!(after, Some(b'=' | b'>'))
                && !matches!(before, Some(b'=' | b'!' | b'<' | b'>'))
        }
        _ => false,
    }
}

/// `ApiKey`, `SecretString`: an identifier in upper camel case.
fn is_type_name(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_auth_scheme(word: &str) -> bool {
    [
        "bearer",
        "basic",
        "token",
        "digest",
        "negotiate",
        "apikey",
        "api-key",
        "ntlm",
    ]
    .iter()
    .any(|scheme| word.eq_ignore_ascii_case(scheme))
}

/// The token closing the group opened at `open`; `None` when it is never closed, or closed by the wrong
/// bracket (the text was cut and something else follows).
fn group_end(tokens: &[Tok], open: usize) -> Option<usize> {
    let mut stack: Vec<u8> = Vec::new();
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Tok::Open(_, b) => stack.push(match b {
                b'{' => b'}',
                b'(' => b')',
                _ => b']',
            }),
            Tok::Close(_, b) => {
                if stack.pop() != Some(*b) {
                    return None;
                }
                if stack.is_empty() {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn skip_space(tokens: &[Tok], mut at: usize, newlines: bool) -> usize {
    while let Some(Tok::Space(_)) = tokens.get(at) {
        if !newlines {
            break;
        }
        at += 1;
    }
    at
}

/// A key as written, without what leads up to it (`/reset?token` in a query string is `token`) and
/// without punctuation around it; empty for what cannot be a key (an address: `ops@example.com`).
fn trim_key(key: &str) -> &str {
    let edge = |c: char| !(c.is_alphanumeric() || c == '_');
    let key = key.trim_end_matches(edge);
    let key = key.rsplit(['?', '&', ';']).next().unwrap_or(key);
    if key.contains(['@', '/']) {
        return "";
    }
    let key_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let start = key
        .char_indices()
        .rev()
        .find(|(_, c)| !key_char(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    key[start..].trim_start_matches(edge)
}

/// The key just before the `:`, `=` or `(` at `at`: a word, or a quoted string (its quotes possibly
/// escaped, as in JSON inside a `Debug` string).
fn key_before(text: &str, at: usize, spaces: bool) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut end = at;
    if spaces {
        while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
            end -= 1;
        }
    }
    let last = *bytes.get(end.checked_sub(1)?)?;
    if last == b'"' || last == b'\'' {
        let mut close = end - 1;
        if close > 0 && bytes[close - 1] == b'\\' {
            close -= 1;
        }
        let open = memchr::memrchr(last, &bytes[..close])?;
        let content = &text[open + 1..close];
        return Some(content.strip_suffix('\\').unwrap_or(content));
    }
    let start = bytes[..end]
        .iter()
        .rposition(|&b| !is_word_byte(b))
        .map_or(0, |p| p + 1);
    (start < end).then(|| &text[start..end])
}

fn is_word_byte(b: u8) -> bool {
    !b.is_ascii_whitespace()
        && !matches!(
            b,
            b'"' | b'\''
                | b'{'
                | b'}'
                | b'('
                | b')'
                | b'['
                | b']'
                | b','
                | b';'
                | b':'
                | b'='
                | b'&'
        )
}

#[derive(Debug)]
enum Tok {
    Str {
        range: Range<usize>,
        closed: bool,
        quote: u8,
    },
    Open(usize, u8),
    Close(usize, u8),
    Colon,
    Eq,
    Sep,
    Space(Range<usize>),
    Word(Range<usize>),
}

impl Tok {
    /// The token's first byte (0 for punctuation, which is never asked).
    fn start(&self) -> usize {
        match self {
            Tok::Close(at, _) | Tok::Open(at, _) => *at,
            Tok::Str { range, .. } | Tok::Space(range) | Tok::Word(range) => range.start,
            Tok::Colon | Tok::Eq | Tok::Sep => 0,
        }
    }

    /// The byte after the token (only asked of groups' closing brackets).
    fn end(&self) -> usize {
        match self {
            Tok::Close(at, _) | Tok::Open(at, _) => at + 1,
            Tok::Str { range, .. } | Tok::Space(range) | Tok::Word(range) => range.end,
            Tok::Colon | Tok::Eq | Tok::Sep => 0,
        }
    }
}

fn lex(text: &str) -> Vec<Tok> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        let start = at;
        match b {
            b if b.is_ascii_whitespace() => {
                while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                tokens.push(Tok::Space(start..at));
                continue;
            }
            b'"' => {
                let (end, closed) = string_end(bytes, at, b'"', usize::MAX);
                tokens.push(Tok::Str {
                    range: start..end,
                    closed,
                    quote: b'"',
                });
                at = end;
                continue;
            }
            // A quote opens a string only where a word could start (not `don't`), and only if it closes
            // on the same line: prose has apostrophes, `Debug` has `'c'`.
            b'\'' if !(at > 0 && is_word_byte(bytes[at - 1]) && bytes[at - 1] != b'\'') => {
                let (end, closed) = string_end(bytes, at, b'\'', 256);
                if closed && !bytes[start..end].contains(&b'\n') {
                    tokens.push(Tok::Str {
                        range: start..end,
                        closed,
                        quote: b'\'',
                    });
                    at = end;
                    continue;
                }
            }
            b'{' | b'(' | b'[' => {
                tokens.push(Tok::Open(at, b));
                at += 1;
                continue;
            }
            b'}' | b')' | b']' => {
                tokens.push(Tok::Close(at, b));
                at += 1;
                continue;
            }
            b':' if bytes.get(at + 1) != Some(&b':') => {
                tokens.push(Tok::Colon);
                at += 1;
                continue;
            }
            b'=' => {
                let comparison = matches!(bytes.get(at + 1), Some(b'=' | b'>'))
                    || at > 0 && matches!(bytes[at - 1], b'=' | b'!' | b'<' | b'>');
                tokens.push(if comparison { Tok::Sep } else { Tok::Eq });
                at += 1;
                continue;
            }
            b',' | b';' | b'&' => {
                tokens.push(Tok::Sep);
                at += 1;
                continue;
            }
            _ => {}
        }
        // A word: up to the next delimiter; `::` and apostrophes stay inside it.
        while at < bytes.len() {
            let c = bytes[at];
            if c == b':' && bytes.get(at + 1) == Some(&b':') {
                at += 2;
            } else if is_word_byte(c) || c == b'\'' {
                at += 1;
            } else {
                break;
            }
        }
        if at == start {
            at += 1;
        }
        tokens.push(Tok::Word(start..at));
    }
    tokens
}

/// Just past the `)` that closes the `(` at `open`, skipping quoted strings and nested parentheses;
/// `None` when it is never closed.
fn paren_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = open;
    while at < bytes.len() {
        match bytes[at] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            quote @ (b'"' | b'\'') => {
                let (end, closed) = string_end(bytes, at, quote, usize::MAX);
                if !closed {
                    return None;
                }
                at = end;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// Where the string opened by the quote at `open` ends (after its closing quote), and whether it is
/// closed within `limit` bytes.
fn string_end(bytes: &[u8], open: usize, quote: u8, limit: usize) -> (usize, bool) {
    let mut at = open + 1;
    while at < bytes.len() && at - open <= limit {
        match bytes[at] {
            b'\\' => at += 2,
            b if b == quote => return (at + 1, true),
            _ => at += 1,
        }
    }
    (bytes.len(), false)
}

/// A string literal's content with its escapes read: Rust's `Debug` ones (`\"`, `\n`, `\u{e9}`) and
/// JSON's (`\u00e9`, `\/`). An escape it does not know stays as written.
fn unescape(content: &str, quote: u8) -> String {
    if !content.contains('\\') {
        return content.to_owned();
    }
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(c @ ('\\' | '/' | '"' | '\'')) => out.push(c),
            Some('u') if chars.peek() == Some(&'{') => {
                chars.next();
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => out.push_str(&format!("\\u{{{hex}}}")),
                }
            }
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    // A surrogate (half of a pair) or not hex: kept as written.
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    let _ = quote;
    out
}

/// `content` as the inside of a string literal quoted by `quote`, Rust `Debug` style.
fn escape(content: &str, quote: u8) -> String {
    let mut out = String::with_capacity(content.len() + 2);
    for c in content.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c as u32 == u32::from(quote) => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `text` with `edits` applied. Overlapping edits become one marker over both, except a detector's find
/// inside a string that was rewritten: the rewrite already redacted it.
fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    let rewritten: Vec<Range<usize>> = edits
        .iter()
        .filter(|e| matches!(e.with, Replace::Text(_)))
        .map(|e| e.range.clone())
        .collect();
    edits.retain(|e| {
        !(e.detected
            && rewritten
                .iter()
                .any(|r| r.start <= e.range.start && e.range.end <= r.end))
    });
    edits.sort_by_key(|e| (e.range.start, std::cmp::Reverse(e.range.end)));
    let mut merged: Vec<Edit> = Vec::with_capacity(edits.len());
    for edit in edits {
        match merged.last_mut() {
            // Inside the previous edit: covered by it.
            Some(last) if edit.range.end <= last.range.end => {}
            Some(last) if edit.range.start < last.range.end => {
                last.range.end = edit.range.end;
                last.with = Replace::Marker;
            }
            _ => merged.push(edit),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for edit in merged {
        out.push_str(&text[at..edit.range.start]);
        match edit.with {
            Replace::Marker => out.push_str(REDACTED),
            Replace::Quoted(quote) => {
                out.push(quote as char);
                out.push_str(REDACTED);
                out.push(quote as char);
            }
            Replace::Text(text) => out.push_str(&text),
        }
        at = edit.range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(values: bool) -> Rules<'static> {
        Rules {
            is_secret: &|key| sightline_conventions::is_sensitive_key(key),
            values,
            pii: false,
        }
    }

    fn redact(text: &str) -> String {
        rules(true)
            .redact(text, TextKind::Field)
            .unwrap_or_else(|| text.to_owned())
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct CreatePayment {
        customer: String,
        card_number: String,
        cvv: String,
        password: String,
        amount: u64,
        note: Option<String>,
        api_key: ApiKey,
        items: Vec<(String, u32)>,
        meta: std::collections::BTreeMap<String, String>,
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct ApiKey(String);

    fn payment() -> CreatePayment {
        CreatePayment {
            customer: "cus_1".into(),
            card_number: "4111 1111 1111 1111".into(),
            cvv: "123".into(),
            password: "hunter2 \"quoted\" {brace".into(),
            amount: 2598,
            note: Some("leave at door".into()),
            api_key: ApiKey("k-987654".into()),
            items: vec![("beans-1kg".into(), 2)],
            meta: [
                ("authorization".to_string(), "Basic xyz".to_string()),
                (
                    "body".to_string(),
                    r#"{"pin":"0000","otp":"1"}"#.to_string(),
                ),
                ("source".to_string(), "web".to_string()),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn debug_output_keeps_its_shape_without_the_secrets() {
        let text = format!("{:?}", payment());
        let out = redact(&text);
        assert_eq!(
            out,
            "CreatePayment { customer: \"cus_1\", card_number: \"[REDACTED]\", cvv: \"[REDACTED]\", \
             password: \"[REDACTED]\", amount: 2598, note: Some(\"leave at door\"), api_key: [REDACTED], \
             items: [(\"beans-1kg\", 2)], meta: {\"authorization\": \"[REDACTED]\", \
             \"body\": \"{\\\"pin\\\":\\\"[REDACTED]\\\",\\\"otp\\\":\\\"[REDACTED]\\\"}\", \"source\": \"web\"} }"
        );
    }

    #[test]
    fn pretty_debug_output_too() {
        let text = format!("{:#?}", payment());
        let out = redact(&text);
        for secret in ["4111", "123\"", "hunter2", "k-987654", "Basic xyz", "0000"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        for kept in ["cus_1", "2598", "leave at door", "beans-1kg", "web"] {
            assert!(out.contains(kept), "{kept} lost in {out}");
        }
        assert!(out.contains("card_number: \"[REDACTED]\",\n"), "{out}");
    }

    #[test]
    fn unreadable_values_of_secret_keys_take_the_rest() {
        for cut in [
            "CreatePayment { customer: \"cus_1\", card_number: \"4111 1111",
            "Login { password: Secret(\"abc\", user: 1 }",
            "{\"token\": [1, 2",
        ] {
            assert_eq!(redact(cut), REDACTED, "{cut}");
            let message = rules(true).redact(cut, TextKind::Message).unwrap();
            assert!(
                message.ends_with(REDACTED) && !message.contains("4111"),
                "{message}"
            );
        }
        // Cut short, but not inside a secret: kept.
        let cut = "Order { id: 7, sku: \"beans";
        assert_eq!(redact(cut), cut);
    }

    #[test]
    fn prose_logfmt_and_query_strings() {
        assert_eq!(
            redact("login failed: password=hunter2 user=ada"),
            "login failed: password=[REDACTED] user=ada"
        );
        assert_eq!(
            redact("GET /reset?token=abc123&next=/home"),
            "GET /reset?token=[REDACTED]&next=/home"
        );
        assert_eq!(
            redact("sent Authorization: Bearer abc to upstream"),
            "sent Authorization: [REDACTED] to upstream"
        );
        assert_eq!(
            redact("x-api-key: 'k123' then"),
            "x-api-key: '[REDACTED]' then"
        );
    }

    #[test]
    fn harmless_text_is_left_alone() {
        for kept in [
            "std::io::Error { kind: NotFound }",
            "order 42: shipped",
            "if a == b => c",
            "Payment { customer: \"cus_1\", amount: 10 }",
            "don't stop: it's fine",
            "ratio=0.5, retries=3",
            "password",
            "password:",
            "{\"password\": \"[REDACTED]\"}",
        ] {
            assert_eq!(rules(true).redact(kept, TextKind::Field), None, "{kept}");
        }
    }

    #[test]
    fn strings_inside_strings_are_read_a_few_levels_deep() {
        let inner = r#"{"password":"x"}"#;
        let once = format!("{inner:?}");
        let twice = format!("{once:?}");
        let text = format!("Wrapper {{ body: {twice} }}");
        let out = redact(&text);
        assert!(!out.contains("\\\"x\\\""), "{out}");
        assert!(out.contains("REDACTED"), "{out}");
    }

    /// Found by the fuzz target: a stray quote before a `Debug` struct pairs its quotes wrongly, so only
    /// the net under the token pass sees `api_key: ApiKey("..")`; the value runs to its `)`.
    #[test]
    fn a_tuple_value_is_replaced_to_its_closing_parenthesis() {
        let text = "# 4111 \" ghp_x\n Payment { customer: \"#\", card_number: \"S3CR3T3\", note: \"\", api_key: ApiKey(\"S3CR3T4\") }";
        let out = redact(text);
        assert!(!out.contains("S3CR3T"), "{out}");
        let text = "oops \" then password: Some(\"hunter2\") and more";
        let out = redact(text);
        assert!(!out.contains("hunter2"), "{out}");
    }

    /// Found by the property test: a separator inside a value already replaced (`ApiKey(":(..")`)
    /// is no key of its own, and the quotes after it must not make the rest unreadable.
    #[test]
    fn a_separator_inside_a_replaced_value_starts_no_value() {
        let text = r#"Payment { inner: Payment { password: "ZQX9", customer: ApiKey(":(ZQX9:(") }, customer: Payment { customer: "" } }"#;
        let out = redact(text);
        assert_eq!(
            out,
            r#"Payment { inner: Payment { password: "[REDACTED]", customer: ApiKey([REDACTED]) }, customer: Payment { customer: "" } }"#
        );
    }

    #[test]
    fn value_detectors_run_inside_rewritten_strings() {
        let text = r#"Req { note: "card 4111111111111111 and {\"token\":\"t\"}" }"#;
        let out = redact(text);
        assert!(!out.contains("4111111111111111"), "{out}");
        assert!(!out.contains(r#"\"t\""#), "{out}");
        assert!(out.contains("card [REDACTED] and"), "{out}");
    }
}
