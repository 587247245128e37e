//! W3C Trace Context (Level 1, with Level 2's random flag): `traceparent` and `tracestate` read and written
//! exactly as the specification says, for HTTP headers and for any other carrier (message headers).
//!
//! Not `opentelemetry_sdk`'s `TraceContextPropagator`: it reads the first of several `traceparent` headers
//! (the specification makes two invalid), takes ids shorter than 32 and 16 digits, clears Level 2's
//! random flag, and reads only the first of several `tracestate` headers (they combine, in order).
//! Invalid input is never an error to the caller: the request starts a new trace, the way the
//! specification says a participant must.

/// The sampled flag: the caller may have recorded the trace.
pub(crate) const SAMPLED: u8 = 0x01;
/// Level 2's random flag: at least the trace id's right-most 7 bytes are random.
pub(crate) const RANDOM: u8 = 0x02;

/// The most list-members a `tracestate` may hold.
const MAX_MEMBERS: usize = 32;

/// A valid `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub(crate) trace_id: u128,
    pub(crate) parent_id: u64,
    pub(crate) flags: u8,
}

/// The `traceparent` of a request from every value it carries under that name (the caller collects them,
/// case-insensitively): `None` unless there is exactly one and it is valid.
pub(crate) fn parse_traceparent<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
) -> Option<TraceParent> {
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    traceparent(trim_ows(value))
}

fn traceparent(value: &[u8]) -> Option<TraceParent> {
    // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let version = hex(&value[0..2])? as u8;
    if version == 0xff {
        return None;
    }
    // Version 00 is exactly 55 characters; a later version may carry more after a `-`.
    if (version == 0 && value.len() != 55) || (value.len() > 55 && value[55] != b'-') {
        return None;
    }
    let trace_id = hex(&value[3..35])?;
    let parent_id = hex(&value[36..52])? as u64;
    let flags = hex(&value[53..55])? as u8;
    if trace_id == 0 || parent_id == 0 {
        return None;
    }
    Some(TraceParent {
        trace_id,
        parent_id,
        flags,
    })
}

/// Lower-case hex digits only (`HEXDIGLC`), at most 32 of them.
fn hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        Some(n << 4 | u128::from(v))
    })
}

/// `traceparent` for a span: version 00, its ids and flags.
pub(crate) fn write_traceparent(trace_id: u128, span_id: u64, flags: u8) -> String {
    format!("00-{trace_id:032x}-{span_id:016x}-{flags:02x}")
}

/// The `tracestate` of a request from every value it carries under that name, in order: the members
/// joined with `,`, without the optional whitespace and empty members the specification tolerates; `None`
/// when there are none, or when any member breaks the grammar, a key repeats or there are more than 32
/// (the specification discards such a header whole).
pub(crate) fn parse_tracestate<'a>(values: impl Iterator<Item = &'a [u8]>) -> Option<String> {
    let mut out = String::new();
    let mut keys: Vec<&[u8]> = Vec::new();
    for value in values {
        for member in value.split(|&b| b == b',') {
            let member = trim_ows(member);
            if member.is_empty() {
                continue;
            }
            let eq = member.iter().position(|&b| b == b'=')?;
            let (key, value) = (&member[..eq], &member[eq + 1..]);
            if !valid_key(key) || !valid_value(value) || keys.contains(&key) {
                return None;
            }
            keys.push(key);
            if keys.len() > MAX_MEMBERS {
                return None;
            }
            if !out.is_empty() {
                out.push(',');
            }
            // Checked above: ASCII only.
            out.push_str(std::str::from_utf8(member).ok()?);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )` (Level 2 also lets it start
/// with a digit), or `multi-tenant-key = tenant-id "@" system-id` with a tenant of 1 to 241 and a system
/// of 1 to 14 characters, the system starting with a letter.
fn valid_key(key: &[u8]) -> bool {
    let part = |s: &[u8], max: usize, first_digit: bool| {
        !s.is_empty()
            && s.len() <= max
            && (s[0].is_ascii_lowercase() || (first_digit && s[0].is_ascii_digit()))
            && s[1..].iter().all(|&b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'_' | b'-' | b'*' | b'/')
            })
    };
    match key.iter().position(|&b| b == b'@') {
        None => part(key, 256, true),
        Some(at) => part(&key[..at], 241, true) && part(&key[at + 1..], 14, false),
    }
}

/// `value = 0*255(chr) nblk-chr`: printable ASCII except `,` and `=`, at most 256, not ending in a space
/// (a trailing space would be taken for whitespace around the member, so the value cannot hold one).
fn valid_value(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value.last() != Some(&b' ')
        && value
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

/// Without the optional whitespace (spaces and tabs) around it.
fn trim_ows(s: &[u8]) -> &[u8] {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ows(b)).map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "12345678901234567890123456789012";

    fn parent(values: &[&str]) -> Option<TraceParent> {
        parse_traceparent(values.iter().map(|v| v.as_bytes()))
    }

    fn state(values: &[&str]) -> Option<String> {
        parse_tracestate(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn a_version_00_traceparent_is_read_with_its_flags() {
        let p = parent(&["00-12345678901234567890123456789012-1234567890123456-03"]).unwrap();
        assert_eq!(p.trace_id, u128::from_str_radix(TRACE, 16).unwrap());
        assert_eq!(p.parent_id, 0x1234567890123456);
        assert_eq!(p.flags, SAMPLED | RANDOM);
    }

    #[test]
    fn every_malformed_traceparent_is_refused() {
        for bad in [
            "00-12345678901234567890123456789012-1234567890123456-01.",
            "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
            "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
            "ff-12345678901234567890123456789012-1234567890123456-01",
            ".0-12345678901234567890123456789012-1234567890123456-01",
            "0.-12345678901234567890123456789012-1234567890123456-01",
            "000-12345678901234567890123456789012-1234567890123456-01",
            "0-12345678901234567890123456789012-1234567890123456-01",
            "00-00000000000000000000000000000000-1234567890123456-01",
            "00-.2345678901234567890123456789012-1234567890123456-01",
            "00-1234567890123456789012345678901.-1234567890123456-01",
            "00-123456789012345678901234567890123-1234567890123456-01",
            "00-1234567890123456789012345678901-1234567890123456-01",
            "00-12345678901234567890123456789012-0000000000000000-01",
            "00-12345678901234567890123456789012-.234567890123456-01",
            "00-12345678901234567890123456789012-12345678901234567-01",
            "00-12345678901234567890123456789012-123456789012345-01",
            "00-12345678901234567890123456789012-1234567890123456-.0",
            "00-12345678901234567890123456789012-1234567890123456-001",
            "00-12345678901234567890123456789012-1234567890123456-1",
            "00-ABCDEF78901234567890123456789012-1234567890123456-01",
            "",
        ] {
            assert_eq!(parent(&[bad]), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_first_four_fields() {
        for good in [
            "cc-12345678901234567890123456789012-1234567890123456-01",
            "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        ] {
            assert_eq!(
                parent(&[good]).unwrap().parent_id,
                0x1234567890123456,
                "{good:?}"
            );
        }
    }

    #[test]
    fn whitespace_around_a_traceparent_is_optional_and_two_of_them_are_invalid() {
        for good in [" 00", "\t00", "00 ", "00\t", "\t 00 \t"] {
            let v = good.replace(
                "00",
                "00-12345678901234567890123456789012-1234567890123456-01",
            );
            assert!(parent(&[&v]).is_some(), "{v:?}");
        }
        let one = "00-12345678901234567890123456789011-1234567890123456-01";
        let two = "00-12345678901234567890123456789012-1234567890123456-01";
        assert_eq!(parent(&[one, two]), None);
        assert_eq!(parent(&[]), None);
    }

    #[test]
    fn tracestate_headers_combine_in_order_without_empty_members_and_whitespace() {
        assert_eq!(
            state(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).as_deref(),
            Some("foo=1,bar=2,rojo=1,congo=2,baz=3")
        );
        assert_eq!(
            state(&["foo=1 \t , \t bar=2, \t baz=3"]).as_deref(),
            Some("foo=1,bar=2,baz=3")
        );
        assert_eq!(state(&["", "foo=1", ",,"]).as_deref(), Some("foo=1"));
        assert_eq!(state(&["\t foo=1 \t"]).as_deref(), Some("foo=1"));
        assert_eq!(state(&[""]), None);
        assert_eq!(state(&[]), None);
    }

    #[test]
    fn every_legal_character_is_kept() {
        let key: String = ('a'..='z').chain('0'..='9').chain("_-*/".chars()).collect();
        let value: String = (0x20u8..=0x7e)
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect();
        for key in [key.clone(), format!("{key}@a-z0-9_-*/")] {
            let member = format!("{key}={value}");
            assert_eq!(state(&[&member]), Some(member.clone()));
        }
        assert!(
            state(&["0abc=1"]).is_some(),
            "Level 2: a key may start with a digit"
        );
    }

    #[test]
    fn a_malformed_or_duplicated_member_drops_the_whole_tracestate() {
        for bad in [
            &["foo=1,foo=1"][..],
            &["foo=1,foo=2"],
            &["foo=1", "foo=2"],
            &["foo =1"],
            &["FOO=1"],
            &["foo.bar=1"],
            &["foo@=1,bar=2"],
            &["@foo=1,bar=2"],
            &["foo@@bar=1,bar=2"],
            &["foo@bar@baz=1,bar=2"],
            &["foo=bar=baz"],
            &["foo=,bar=3"],
            &["foo,bar=3"],
            &["foo=1", "z=1\u{7f}"],
        ] {
            assert_eq!(state(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn at_most_32_members_and_the_length_limits_of_keys() {
        let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
        assert_eq!(
            state(&[&members[..32].join(",")]).map(|s| s.split(',').count()),
            Some(32)
        );
        assert_eq!(state(&[&members.join(",")]), None);

        let member = |key: String| format!("{key}=1");
        assert!(state(&["foo=1", &member("z".repeat(256))]).is_some());
        assert!(state(&["foo=1", &member("z".repeat(257))]).is_none());
        assert!(state(&[
            "foo=1",
            &member(format!("{}@{}", "t".repeat(241), "v".repeat(14)))
        ])
        .is_some());
        assert!(state(&["foo=1", &member(format!("{}@v", "t".repeat(242)))]).is_none());
        assert!(state(&["foo=1", &member(format!("t@{}", "v".repeat(15)))]).is_none());
        assert!(state(&["foo=1", &format!("k={}", "v".repeat(256))]).is_some());
        assert!(state(&["foo=1", &format!("k={}", "v".repeat(257))]).is_none());
    }

    #[test]
    fn a_traceparent_is_written_as_version_00() {
        assert_eq!(
            write_traceparent(0x12345678901234567890123456789012, 0xab, SAMPLED | RANDOM),
            "00-12345678901234567890123456789012-00000000000000ab-03"
        );
    }
}
