//! Secrets recognised by their shape, whatever key they stand under: payment card numbers, credentials
//! with a known prefix or structure, private keys, passwords in URLs; with `redact_pii`, e-mail addresses
//! and phone numbers.
//!
//! The list follows what GitHub's secret scanning and Sentry's data scrubbing detect, kept to shapes that
//! ordinary text does not take by chance: a prefix a provider reserved (`ghp_`, `sk_live_`, `xoxb-`,
//! `AKIA`), a structure that can be checked (Luhn's checksum, a JWT's two base64 JSON objects, a PEM
//! header, base64 of `user:password`). Opaque random strings without either are not guessed at: the
//! key they stand under is what redacts them.
//!
//! Candidates are found in one pass over the bytes: digits are counted for card and phone numbers, and
//! each known prefix is looked for only where its rarest byte (its anchor: `J` of `eyJ`, `_` of `ghp_`,
//! `-` of `xoxb-`, `:` of `://`, the space after `Bearer`) stands. Not an automaton over all prefixes:
//! every string of every log line goes through this, and a sentence has none of the anchors but spaces.
//! Each candidate is then checked by hand, because the checks (Luhn, base64, boundaries) are not
//! regular expressions anyway.

use std::ops::Range;

/// What a prefix may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Jwt,
    Pem,
    Aws,
    GitHub,
    GitHubPat,
    Stripe,
    Slack,
    SlackWebhook,
    Google,
    GitLab,
    Npm,
    AiKey,
    SendGrid,
    UrlAuth,
    Bearer,
    Basic,
}

const DIGIT: u8 = 1;
/// `:`, `=`, `(`: text with none of them has no `key: value` pair in it.
const SEPARATOR: u8 = 2;
const ANCHOR: u8 = 4;
const AT_SIGN: u8 = 8;

/// The class of every byte, for the one pass.
static CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut digit = b'0';
    while digit <= b'9' {
        classes[digit as usize] = DIGIT;
        digit += 1;
    }
    classes[b':' as usize] = SEPARATOR | ANCHOR;
    classes[b'=' as usize] = SEPARATOR;
    classes[b'(' as usize] = SEPARATOR;
    classes[b'@' as usize] = AT_SIGN;
    let anchors = b"J-_AG/ ";
    let mut i = 0;
    while i < anchors.len() {
        classes[anchors[i] as usize] = ANCHOR;
        i += 1;
    }
    classes
};

/// Fewest digits in a card number (ISO/IEC 7812: 13 to 19).
const CARD_MIN: usize = 13;
const CARD_MAX: usize = 19;
/// Digits of a phone number with its country code (E.164 allows 15).
const PHONE_MIN_INTERNATIONAL: usize = 8;
const PHONE_MAX: usize = 15;
/// Digits of a national number written with separators (`(555) 123-4567`, `030 1234567`).
const PHONE_MIN_NATIONAL: usize = 10;

/// Adds the byte ranges of `text` that hold a secret (and, with `pii`, personal data) to `out`. Ranges
/// may overlap; every range starts and ends on a character boundary. Says whether `text` has a `:`, `=`
/// or `(`, without which it has no `key: value` pair for [`super::text`] to read.
pub(crate) fn find(text: &str, pii: bool, out: &mut Vec<Range<usize>>) -> bool {
    let bytes = text.as_bytes();
    let (mut digits, mut seen) = (0usize, 0u8);
    for (at, &b) in bytes.iter().enumerate() {
        let class = CLASSES[usize::from(b)];
        if class == 0 {
            continue;
        }
        seen |= class;
        if class == DIGIT {
            digits += 1;
        } else if class & ANCHOR != 0
            // The space after a scheme (`Bearer `, `Basic `): only after an `r` or a `c`.
            && (b != b' ' || at > 0 && matches!(bytes[at - 1], b'r' | b'R' | b'c' | b'C'))
        {
            anchored(text, at, out);
        }
    }
    if digits >= CARD_MIN {
        cards(text, out);
    }
    if pii {
        if digits >= PHONE_MIN_INTERNATIONAL {
            phones(text, out);
        }
        if seen & AT_SIGN != 0 {
            emails(text, out);
        }
    }
    seen & SEPARATOR != 0
}

/// The secret whose prefix has its anchor at `at`, if one does.
fn anchored(text: &str, at: usize, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let before = |n: usize| at.checked_sub(n).map(|start| &bytes[start..at]);
    let from_here = &bytes[at..];
    let mut found = |start: usize, prefix_end: usize, kind: Kind| {
        if let Some(range) = check(text, start, prefix_end, kind) {
            out.push(range);
        }
    };
    match bytes[at] {
        b'J' if before(2) == Some(b"ey") => found(at - 2, at + 1, Kind::Jwt),
        b'-' => {
            if from_here.starts_with(b"-----BEGIN") {
                found(at, at + 10, Kind::Pem);
            }
            if matches!(
                before(4),
                Some(b"xoxb" | b"xoxp" | b"xoxa" | b"xoxr" | b"xoxs" | b"xoxe" | b"xapp")
            ) {
                found(at - 4, at + 1, Kind::Slack);
            }
            if before(5) == Some(b"glpat") {
                found(at - 5, at + 1, Kind::GitLab);
            }
            if before(2) == Some(b"sk") {
                for rest in [&b"-ant-"[..], b"-proj-"] {
                    if from_here.starts_with(rest) {
                        found(at - 2, at + rest.len(), Kind::AiKey);
                    }
                }
            }
        }
        b'_' => {
            match before(3) {
                Some(b"ghp" | b"gho" | b"ghu" | b"ghs" | b"ghr") => {
                    found(at - 3, at + 1, Kind::GitHub)
                }
                Some(b"npm") => found(at - 3, at + 1, Kind::Npm),
                _ => {}
            }
            if before(6) == Some(b"github") && from_here.starts_with(b"_pat_") {
                found(at - 6, at + 5, Kind::GitHubPat);
            }
            if matches!(before(2), Some(b"sk" | b"rk"))
                && (from_here.starts_with(b"_live_") || from_here.starts_with(b"_test_"))
            {
                found(at - 2, at + 6, Kind::Stripe);
            }
            if before(5) == Some(b"whsec") {
                found(at - 5, at + 1, Kind::Stripe);
            }
        }
        b'A' => {
            if [&b"AKIA"[..], b"ASIA", b"ABIA", b"ACCA"]
                .iter()
                .any(|p| from_here.starts_with(p))
            {
                found(at, at + 4, Kind::Aws);
            }
            if from_here.starts_with(b"AIza") {
                found(at, at + 4, Kind::Google);
            }
        }
        b'G' if before(1) == Some(b"S") && bytes.get(at + 1) == Some(&b'.') => {
            found(at - 1, at + 2, Kind::SendGrid)
        }
        b':' if from_here.starts_with(b"://") => found(at, at + 3, Kind::UrlAuth),
        b'/' if bytes[..at].ends_with(b"hooks.slack.com")
            && from_here.starts_with(b"/services/") =>
        {
            found(at - 15, at + 10, Kind::SlackWebhook)
        }
        b' ' => match before(1) {
            Some(b"r" | b"R") if matches!(before(6), Some(b"Bearer" | b"bearer" | b"BEARER")) => {
                found(at - 6, at + 1, Kind::Bearer)
            }
            Some(b"c" | b"C") if matches!(before(5), Some(b"Basic" | b"basic" | b"BASIC")) => {
                found(at - 5, at + 1, Kind::Basic)
            }
            _ => {}
        },
        _ => {}
    }
}

fn is_alnum_char_before(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
}

fn is_alnum_char_at(text: &str, at: usize) -> bool {
    text[at..].chars().next().is_some_and(char::is_alphanumeric)
}

/// How many bytes from `at` satisfy `allowed`.
fn run(bytes: &[u8], at: usize, allowed: impl Fn(u8) -> bool) -> usize {
    bytes[at.min(bytes.len())..]
        .iter()
        .take_while(|&&b| allowed(b))
        .count()
}

fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The range of a secret starting with the prefix at `start..prefix_end`, if the text there has the
/// kind's shape.
fn check(text: &str, start: usize, prefix_end: usize, kind: Kind) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let exact = |prefix: &str| bytes[start..prefix_end] == *prefix.as_bytes();
    // A token is a word of its own: `risk_test_case` holds no `sk_test_` key.
    let starts_word = !bytes[..start]
        .last()
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
    let token = |min: usize, allowed: fn(u8) -> bool| {
        let len = run(bytes, prefix_end, allowed);
        (starts_word && len >= min).then(|| start..prefix_end + len)
    };
    match kind {
        Kind::Jwt if exact("eyJ") && !bytes[..start].last().is_some_and(|&b| base64url(b)) => {
            jwt(bytes, start)
        }
        Kind::Pem if exact("-----BEGIN") => pem(text, start),
        Kind::Aws if bytes[start..prefix_end].iter().all(u8::is_ascii_uppercase) => {
            let len = run(bytes, prefix_end, |b| {
                b.is_ascii_uppercase() || b.is_ascii_digit()
            });
            let end = prefix_end + len;
            (starts_word && len == 16 && !is_alnum_char_at(text, end)).then_some(start..end)
        }
        Kind::GitHub
            if bytes[start..prefix_end]
                .iter()
                .all(|b| !b.is_ascii_uppercase()) =>
        {
            token(30, alnum)
        }
        Kind::GitHubPat if exact("github_pat_") => token(22, |b| alnum(b) || b == b'_'),
        Kind::Stripe
            if bytes[start..prefix_end]
                .iter()
                .all(|b| !b.is_ascii_uppercase()) =>
        {
            token(10, alnum)
        }
        Kind::Slack
            if bytes[start..prefix_end]
                .iter()
                .all(|b| !b.is_ascii_uppercase()) =>
        {
            token(10, |b| alnum(b) || b == b'-')
        }
        Kind::SlackWebhook => {
            let len = run(bytes, prefix_end, |b| alnum(b) || b == b'/');
            (len >= 8).then(|| prefix_end..prefix_end + len)
        }
        Kind::Google if exact("AIza") => token(30, base64url),
        Kind::GitLab if exact("glpat-") => token(20, base64url),
        Kind::Npm if exact("npm_") => token(30, alnum),
        Kind::AiKey
            if bytes[start..prefix_end]
                .iter()
                .all(|b| !b.is_ascii_uppercase()) =>
        {
            token(20, base64url)
        }
        Kind::SendGrid if exact("SG.") => {
            let first = run(bytes, prefix_end, base64url);
            let dot = prefix_end + first;
            let second = if bytes.get(dot) == Some(&b'.') {
                run(bytes, dot + 1, base64url)
            } else {
                0
            };
            (starts_word && first >= 16 && second >= 30).then(|| start..dot + 1 + second)
        }
        Kind::UrlAuth => url_password(bytes, start, prefix_end),
        Kind::Bearer if !is_alnum_char_before(text, start) => {
            let after = prefix_end + run(bytes, prefix_end, |b| b == b' ');
            let len = run(bytes, after, token68);
            let credential = &bytes[after..after + len];
            // An opaque token is random: it has a digit or a symbol. "the bearer instruments" has none.
            (len >= 8 && credential.iter().any(|b| !b.is_ascii_alphabetic()))
                .then(|| start..after + len)
        }
        Kind::Basic if !is_alnum_char_before(text, start) => {
            let after = prefix_end + run(bytes, prefix_end, |b| b == b' ');
            let len = run(bytes, after, |b| {
                alnum(b) || b == b'+' || b == b'/' || b == b'='
            });
            // Basic credentials are base64 of `user:password`: "Basic information" is not. What follows
            // them may continue the run (`/`, `+` and digits are base64 too), so shorter runs are tried.
            let credential = &bytes[after..after + len];
            let shortest = len.saturating_sub(8).max(4);
            (len >= 4
                && (shortest..=len)
                    .rev()
                    .any(|n| decodes_to_user_password(&credential[..n])))
            .then(|| start..after + len)
        }
        _ => None,
    }
}

/// RFC 7235's token68, what follows `Bearer`.
fn token68(b: u8) -> bool {
    alnum(b) || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `header.payload.signature`, the first two base64url JSON objects (so both start `eyJ`).
fn jwt(bytes: &[u8], start: usize) -> Option<Range<usize>> {
    let header = run(bytes, start, base64url);
    let dot = start + header;
    if header < 10 || bytes.get(dot) != Some(&b'.') || !bytes[dot + 1..].starts_with(b"eyJ") {
        return None;
    }
    let payload = run(bytes, dot + 1, base64url);
    let second_dot = dot + 1 + payload;
    if payload < 10 {
        return None;
    }
    // An unsigned token (`alg: none`) ends at its second dot.
    if bytes.get(second_dot) != Some(&b'.') {
        return Some(start..second_dot);
    }
    let signature = run(bytes, second_dot + 1, base64url);
    Some(start..second_dot + 1 + signature)
}

/// `-----BEGIN ... PRIVATE KEY-----` through its `-----END ...-----`; cut before it, as far as the body's
/// characters go (base64, headers, line breaks, escaped ones in `Debug` or JSON text), which is the end of
/// the string holding it.
fn pem(text: &str, start: usize) -> Option<Range<usize>> {
    let rest = &text[start + "-----BEGIN".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    if !label.contains("PRIVATE KEY") || label.len() > 64 {
        return None;
    }
    let body = start + "-----BEGIN".len() + label_end + "-----".len();
    let bytes = text.as_bytes();
    let body_char = |b: u8| {
        b.is_ascii_alphanumeric()
            || b.is_ascii_whitespace()
            || matches!(b, b'+' | b'/' | b'=' | b':' | b',' | b'-' | b'\\')
    };
    let extent = body + run(bytes, body, body_char);
    match text[body..extent].find("-----END") {
        Some(end) => {
            let end = body + end + "-----END".len();
            let close = text[end..extent]
                .find("-----")
                .map_or(extent, |c| end + c + 5);
            Some(start..close)
        }
        None => Some(start..extent),
    }
}

/// The password of `scheme://user:password@host`: only the password, so the log still says which
/// user and host.
fn url_password(bytes: &[u8], colon_slash: usize, after: usize) -> Option<Range<usize>> {
    let scheme = bytes[..colon_slash]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
        .count();
    if scheme == 0 {
        return None;
    }
    let userinfo_end = after
        + run(bytes, after, |b| {
            !matches!(b, b'/' | b'?' | b'#' | b'@') && !b.is_ascii_whitespace() && b != b'"'
        });
    if bytes.get(userinfo_end) != Some(&b'@') {
        return None;
    }
    let colon = memchr::memchr(b':', &bytes[after..userinfo_end])? + after;
    (colon + 1 < userinfo_end).then(|| colon + 1..userinfo_end)
}

/// Whether `encoded` is base64 of text of the form `user:password`.
fn decodes_to_user_password(encoded: &[u8]) -> bool {
    let value = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let data: Vec<u8> = encoded.iter().copied().take_while(|&b| b != b'=').collect();
    // Padding is not checked: what counts is that the data decodes to `user:password`.
    if data.len() % 4 == 1 {
        return false;
    }
    let mut decoded = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            let Some(v) = value(b) else {
                return false;
            };
            acc |= u32::from(v) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        decoded.extend_from_slice(&bytes[1..chunk.len()]);
    }
    let Ok(text) = std::str::from_utf8(&decoded) else {
        return false;
    };
    text.find(':').is_some_and(|colon| colon > 0) && text.chars().all(|c| !c.is_control())
}

/// A run of digit groups: `4111 1111-1111 1111`, each group's byte range and digit count.
struct Groups {
    groups: Vec<(usize, usize)>,
    /// Where the run ended.
    end: usize,
}

/// The digit groups from `start` (a digit), each separated from the next by one byte `separator` accepts.
fn digit_groups(bytes: &[u8], start: usize, separator: impl Fn(u8) -> bool) -> Groups {
    let mut groups = Vec::new();
    let mut at = start;
    loop {
        let len = run(bytes, at, |b| b.is_ascii_digit());
        groups.push((at, at + len));
        at += len;
        match (bytes.get(at), bytes.get(at + 1)) {
            (Some(&s), Some(next)) if separator(s) && next.is_ascii_digit() => at += 1,
            _ => break,
        }
    }
    Groups { groups, end: at }
}

fn luhn(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.rev().enumerate() {
        let d = u32::from(d - b'0');
        sum += if i % 2 == 1 {
            let doubled = d * 2;
            if doubled > 9 {
                doubled - 9
            } else {
                doubled
            }
        } else {
            d
        };
    }
    sum % 10 == 0
}

/// Card numbers: 13 to 19 digits, optionally grouped by single spaces or dashes, Luhn-valid, not part of
/// a longer run of letters or digits. In a longer grouped run (two cards side by side, a card after an
/// order number) every stretch of whole groups is a candidate.
fn cards(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let run = digit_groups(bytes, at, |b| b == b' ' || b == b'-');
        // A group touching a letter (or a digit, which cannot happen) belongs to a longer word.
        let mut groups: &[(usize, usize)] = &run.groups;
        if is_alnum_char_before(text, at) {
            groups = &groups[1..];
        }
        if is_alnum_char_at(text, run.end) && !groups.is_empty() {
            groups = &groups[..groups.len() - 1];
        }
        // A card is written in one piece or in groups of at most 6 (4-4-4-4, 4-6-5): a 16-digit group
        // joined by a dash to others is a span id in a `traceparent`, and 8-4-4 the start of a UUID.
        let joined_by_dash = |i: usize| {
            let dash = |at: usize| bytes.get(at) == Some(&b'-');
            (i > 0 && dash(groups[i].0 - 1)) || (i + 1 < groups.len() && dash(groups[i].1))
        };
        for first in 0..groups.len() {
            let mut count = 0;
            for last in first..groups.len() {
                let len = groups[last].1 - groups[last].0;
                count += len;
                if count > CARD_MAX || (last > first && len > 6) {
                    break;
                }
                let one_piece = first == last;
                if one_piece && joined_by_dash(first) {
                    continue;
                }
                if !one_piece && groups[first].1 - groups[first].0 > 6 {
                    break;
                }
                if count >= CARD_MIN {
                    let digits = groups[first..=last]
                        .iter()
                        .flat_map(|&(s, e)| bytes[s..e].iter().copied());
                    if luhn(digits) {
                        out.push(groups[first].0..groups[last].1);
                    }
                }
            }
        }
        at = run.end.max(at + 1);
    }
}

/// Phone numbers: `+` and 8 to 15 digits, or 10 to 15 digits written with separators (spaces, dashes,
/// parentheses); not part of a longer word, a time (`12:30`) or a decimal.
fn phones(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let plus = bytes[at] == b'+' && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        let paren = bytes[at] == b'(' && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        if !(plus || paren || bytes[at].is_ascii_digit()) || is_alnum_char_before(text, at) {
            at += 1;
            continue;
        }
        let first = if plus || paren { at + 1 } else { at };
        let mut end = first;
        let mut digits = 0;
        let mut separated = paren;
        loop {
            let len = run(bytes, end, |b| b.is_ascii_digit());
            digits += len;
            end += len;
            // One separator, or `) ` after an area code.
            let mut next = end;
            if bytes.get(next) == Some(&b')') {
                next += 1;
            }
            if matches!(bytes.get(next), Some(b' ' | b'-')) {
                next += 1;
            }
            if bytes.get(next) == Some(&b'(') {
                next += 1;
            }
            if next > end && bytes.get(next).is_some_and(u8::is_ascii_digit) && len > 0 {
                separated = true;
                end = next;
            } else {
                break;
            }
        }
        let min = if plus {
            PHONE_MIN_INTERNATIONAL
        } else {
            PHONE_MIN_NATIONAL
        };
        let follows = bytes.get(end).copied();
        // `12:30`, `1.5`, `04/12`: a number that goes on is not a phone number.
        let part_of_more = is_alnum_char_at(text, end)
            || (matches!(follows, Some(b':' | b'.' | b',' | b'/'))
                && bytes.get(end + 1).is_some_and(u8::is_ascii_digit))
            || (!plus && !paren && at > 0 && bytes[at - 1] == b'.');
        if (plus || separated) && (min..=PHONE_MAX).contains(&digits) && !part_of_more {
            out.push(at..end);
        }
        at = end.max(at + 1);
    }
}

/// E-mail addresses: `local@domain.tld`, the top-level domain two or more letters.
fn emails(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let local_char =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    for at in memchr::memchr_iter(b'@', bytes) {
        let local = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| local_char(b))
            .count();
        let domain = run(bytes, at + 1, |b| {
            b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
        });
        if local == 0 || domain == 0 {
            continue;
        }
        let mut domain_text = &text[at + 1..at + 1 + domain];
        // A sentence's full stop is not part of the domain.
        while let Some(stripped) = domain_text.strip_suffix(['.', '-']) {
            domain_text = stripped;
        }
        let Some((_, tld)) = domain_text.rsplit_once('.') else {
            continue;
        };
        if tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()) {
            out.push(at - local..at + 1 + domain_text.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str, pii: bool) -> Vec<&str> {
        let mut ranges = Vec::new();
        find(text, pii, &mut ranges);
        ranges.sort_by_key(|r| (r.start, r.end));
        ranges.dedup();
        ranges.into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn card_numbers_plain_grouped_and_side_by_side() {
        assert_eq!(
            secrets("card 4111111111111111 ok", false),
            ["4111111111111111"]
        );
        assert_eq!(
            secrets("customer pasted card 4242 4242 4242 4242", false),
            ["4242 4242 4242 4242"]
        );
        assert_eq!(
            secrets("4111-1111-1111-1111", false),
            ["4111-1111-1111-1111"]
        );
        // Amex, 15 digits in 4-6-5.
        assert_eq!(
            secrets("amex 3782 822463 10005.", false),
            ["3782 822463 10005"]
        );
        assert_eq!(
            secrets("4111111111111111 4242424242424242", false),
            ["4111111111111111", "4242424242424242"]
        );
        assert!(secrets("order 12 4111 1111 1111 1111", false).contains(&"4111 1111 1111 1111"));
        assert_eq!(secrets("€4111111111111111€", false), ["4111111111111111"]);
        assert_eq!(secrets("x_4111111111111111_", false), ["4111111111111111"]);
    }

    #[test]
    fn numbers_that_are_not_cards_stay() {
        for kept in [
            "ref 4111111111111112",                                    // fails Luhn
            "id=a4111111111111111",                                    // inside a word
            "4111111111111111b",                                       // inside a word
            "41111111111111110000", // inside a longer run of digits
            "550e8400-e29b-41d4-a716-446655440000", // a UUID
            "4bf92f3577b34da6a3ce929d0e0e4736", // a trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // a traceparent
            "took 1500ms, 2.5s",    // durations
            "2026-12-04T01:20:38.123456789Z", // a timestamp
            "ts 1733273038123456789ns", // nanoseconds, inside a word
            "v1.2.3",
        ] {
            assert!(
                secrets(kept, false).is_empty(),
                "{kept}: {:?}",
                secrets(kept, false)
            );
        }
    }

    #[test]
    fn credentials_by_shape() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases = [
            (
                "Authorization: Bearer abc123.def-456_ghi".to_string(),
                "Bearer abc123.def-456_ghi",
            ),
            (
                "auth basic dXNlcjpwYXNzd29yZA== end".to_string(),
                "basic dXNlcjpwYXNzd29yZA==",
            ),
            (format!("token={jwt}&x=1"), jwt),
            (
                "AKIAIOSFODNN7EXAMPLE in config".to_string(),
                "AKIAIOSFODNN7EXAMPLE",
            ),
            (
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789".to_string(),
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            ),
            (
                "key github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz".to_string(),
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            ),
            (
                "header Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc".to_string(),
                "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            ),
            (
                "rk_live_51H8abcdefghijklmnop".to_string(),
                "rk_live_51H8abcdefghijklmnop",
            ),
            (
                "slack xoxb-123456789012-abcdefghij".to_string(),
                "xoxb-123456789012-abcdefghij",
            ),
            (
                "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
                    .to_string(),
                "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            ),
            (
                "AIzaSyA1234567890abcdefghijklmnopqrstuv".to_string(),
                "AIzaSyA1234567890abcdefghijklmnopqrstuv",
            ),
            (
                "glpat-abcdefghij0123456789".to_string(),
                "glpat-abcdefghij0123456789",
            ),
            (
                "postgres://app:hunter2@db.internal:5432/orders".to_string(),
                "hunter2",
            ),
        ];
        for (text, secret) in &cases {
            let found = secrets(text, false);
            assert!(
                found.iter().any(|f| f == secret),
                "{text}: found {found:?}, expected {secret}"
            );
        }
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        assert_eq!(secrets(&format!("key: {pem} done"), false), [pem]);
        let cut = "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk";
        assert_eq!(secrets(cut, false), [cut]);
    }

    #[test]
    fn prose_and_look_alikes_stay() {
        for kept in [
            "the bearer instruments are settled",
            "Basic information about the order",
            "risk_test_case_number_one passed",
            "a -----BEGIN CERTIFICATE----- is public",
            "AKIA is a prefix, AKIAIOSFODNN7EXAMPL is short",
            "see https://example.com/path?q=1 and http://user@host/",
            "email me at ops@example.com",
            "call +1 555 123 4567",
        ] {
            assert!(
                secrets(kept, false).is_empty(),
                "{kept}: {:?}",
                secrets(kept, false)
            );
        }
    }

    #[test]
    fn personal_data_when_asked() {
        assert_eq!(
            secrets("mail ada.lovelace+orders@example.co.uk.", true),
            ["ada.lovelace+orders@example.co.uk"]
        );
        assert_eq!(
            secrets("call +44 20 7946 0958 now", true),
            ["+44 20 7946 0958"]
        );
        assert_eq!(secrets("call (555) 123-4567 now", true), ["(555) 123-4567"]);
        assert_eq!(secrets("tel 030 12345678", true), ["030 12345678"]);
        for kept in [
            "at 2026-12-04 01:20:38",
            "epoch 1733273038",
            "ip 192.168.100.200",
            "version 10.0.2",
            "order 12345678",
            "user@localhost",
        ] {
            assert!(
                secrets(kept, true).is_empty(),
                "{kept}: {:?}",
                secrets(kept, true)
            );
        }
    }
}
