//! Writing one JSON line: the header every line starts with, the pieces of JSON the rest is made of, and
//! the writer it goes to. Lines are built in a buffer of the thread's own, reused from line to line, and
//! handed to the writer in one `write_all`, so writers shared between threads never interleave lines.

use super::handoff::Handoff;
use crate::loss::{lines_lost, LineLoss};
use crate::redact::Redactor;
use crate::warn::{warn_on_stderr, RateLimited};
use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_core::Level;
use tracing_subscriber::fmt::MakeWriter;

/// How often a failing writer may print a warning to standard error.
const WRITE_WARNING_INTERVAL_MS: u64 = 10_000;

/// A line buffer larger than this (one huge line) is freed rather than kept for the next line.
const KEPT_CAPACITY: usize = 16 * 1024;

/// Where lines go.
pub(crate) enum Writer {
    /// The default: stdout, through the writer thread.
    Handoff(Handoff),
    /// A writer the application gave, called on the logging thread.
    Make(MakeLines),
}

/// A `MakeWriter` the application gave, behind one box for the whole installation. (tracing-subscriber's
/// `BoxMakeWriter` boxes every writer it makes: an allocation per line.)
pub(crate) struct MakeLines(Box<dyn WriteLine>);

impl MakeLines {
    pub(crate) fn new<M>(make: M) -> Self
    where
        M: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        MakeLines(Box::new(make))
    }

    fn write(&self, line: &[u8]) -> std::io::Result<()> {
        self.0.write_line(line)
    }
}

trait WriteLine: Send + Sync {
    fn write_line(&self, line: &[u8]) -> std::io::Result<()>;
}

impl<M> WriteLine for M
where
    M: for<'w> MakeWriter<'w> + Send + Sync,
{
    fn write_line(&self, line: &[u8]) -> std::io::Result<()> {
        self.make_writer().write_all(line)
    }
}

/// Writes lines for one installation: its service name, its redactor, its writer, and the count of lines
/// the writer refused.
pub(crate) struct LineSink {
    /// `,"service":"<name>"`, serialized once.
    service_entry: Vec<u8>,
    pub(crate) redactor: Arc<Redactor>,
    writer: Writer,
    write_errors: AtomicU64,
    write_warning: RateLimited,
}

impl LineSink {
    pub(crate) fn new(service: &str, redactor: Arc<Redactor>, writer: Writer) -> Self {
        LineSink {
            service_entry: service_entry(service),
            redactor,
            writer,
            write_errors: AtomicU64::new(0),
            write_warning: RateLimited::new(WRITE_WARNING_INTERVAL_MS),
        }
    }

    /// `{"timestamp":"..","level":"..","service":"..","target":".."`: the start of every line.
    #[inline]
    pub(crate) fn begin(&self, line: &mut Vec<u8>, level: &Level, target: &str) {
        self.begin_fields(line, level);
        line.extend_from_slice(b",\"target\":");
        push_json(line, target);
    }

    /// [`begin`](Self::begin) with the target entry already written as JSON (`,"target":".."`, see
    /// [`target_entry`]): what a call site prepares once.
    #[inline]
    pub(crate) fn begin_with(&self, line: &mut Vec<u8>, level: &Level, target_entry: &[u8]) {
        self.begin_fields(line, level);
        line.extend_from_slice(target_entry);
    }

    #[inline]
    fn begin_fields(&self, line: &mut Vec<u8>, level: &Level) {
        line.extend_from_slice(b"{\"timestamp\":\"");
        push_timestamp(line);
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(level_name(level).as_bytes());
        line.push(b'"');
        line.extend_from_slice(&self.service_entry);
    }

    /// Ends `line` and writes it; a writer error is counted and reported, never returned.
    pub(crate) fn finish(&self, line: &mut Vec<u8>) {
        line.extend_from_slice(b"}\n");
        let written = match &self.writer {
            Writer::Handoff(handoff) => {
                handoff.hand_off(line);
                Ok(())
            }
            Writer::Make(make) => make.write(line),
        };
        if let Err(error) = written {
            let failed = self.write_errors.fetch_add(1, Ordering::Relaxed) + 1;
            lines_lost(LineLoss::WriteFailed, 1);
            warn_on_stderr(
                &self.write_warning,
                format_args!("could not write a log line ({failed} lost so far): {error}"),
            );
        }
    }

    /// Writes a whole line built elsewhere (sightline's warnings); says whether the writer took it. The
    /// default writer takes it only if its buffer has room, so a blocked stdout sends a warning to
    /// standard error instead of losing it.
    pub(crate) fn try_write(&self, line: &[u8]) -> bool {
        match &self.writer {
            Writer::Handoff(handoff) => handoff.try_hand_off(line),
            Writer::Make(make) => make.write(line).is_ok(),
        }
    }

    /// How many lines the writer refused so far.
    #[cfg(test)]
    pub(crate) fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }
}

thread_local! {
    static BUFFERS: Cell<(Vec<u8>, Vec<u8>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's two line buffers, empty: the line, and room for a part of it built apart.
/// They are kept for the next line, so a line costs no allocation once the thread has written one. A line
/// written while another is being built on the same thread (a `Debug` impl that logs) gets buffers of its
/// own.
#[inline]
pub(crate) fn with_buffers<R>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> R) -> R {
    let (mut line, mut part) = BUFFERS.try_with(Cell::take).unwrap_or_default();
    line.clear();
    part.clear();
    let result = f(&mut line, &mut part);
    if line.capacity() <= KEPT_CAPACITY && part.capacity() <= KEPT_CAPACITY {
        let _ = BUFFERS.try_with(|b| b.set((line, part)));
    }
    result
}

/// `,"service":"<name>"`.
fn service_entry(service: &str) -> Vec<u8> {
    let mut entry = b",\"service\":".to_vec();
    push_json(&mut entry, service);
    entry
}

/// The `level` of a line.
pub(crate) fn level_name(level: &Level) -> &'static str {
    if *level == Level::ERROR {
        "error"
    } else if *level == Level::WARN {
        "warn"
    } else if *level == Level::INFO {
        "info"
    } else if *level == Level::DEBUG {
        "debug"
    } else {
        "trace"
    }
}

thread_local! {
    /// The second last formatted and its `YYYY-MM-DDTHH:MM:SS.`: lines within one second share it.
    static SECOND: RefCell<(u64, [u8; 20])> = const { RefCell::new((u64::MAX, [0; 20])) };
}

/// RFC 3339 UTC with milliseconds. A clock before 1970 writes 1970, one after 9999 writes 9999: a wrong
/// system clock must not take the process down or break the line's shape.
#[inline]
pub(crate) fn push_timestamp(line: &mut Vec<u8>) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (secs, millis) = (since_epoch.as_secs(), since_epoch.subsec_millis());
    let cached = SECOND.try_with(|second| {
        let mut second = second.try_borrow_mut().ok()?;
        if second.0 != secs {
            let mut text = Vec::with_capacity(24);
            push_rfc3339_millis(&mut text, secs, 0);
            second.1.copy_from_slice(&text[..20]);
            second.0 = secs;
        }
        Some(second.1)
    });
    match cached.ok().flatten() {
        Some(prefix) if secs <= LATEST => {
            line.extend_from_slice(&prefix);
            let mut digits = [b'0'; 4];
            digits[0] = b'0' + (millis / 100) as u8;
            digits[1] = b'0' + (millis / 10 % 10) as u8;
            digits[2] = b'0' + (millis % 10) as u8;
            digits[3] = b'Z';
            line.extend_from_slice(&digits);
        }
        _ => push_rfc3339_millis(line, secs, millis),
    }
}

/// 9999-12-31T23:59:59Z.
const LATEST: u64 = 253_402_300_799;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a time in seconds since 1970; after 9999 it stays at the last
/// millisecond of 9999, so the field keeps its shape whatever the clock says.
pub(crate) fn push_rfc3339_millis(line: &mut Vec<u8>, secs: u64, millis: u32) {
    let (secs, millis) = if secs > LATEST {
        (LATEST, 999)
    } else {
        (secs, millis)
    };
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil: exact for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (0..width).rev() {
            text[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u64);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, rem / 3_600);
    put(14, 2, rem % 3_600 / 60);
    put(17, 2, rem % 60);
    put(20, 3, u64::from(millis));
    line.extend_from_slice(&text);
}

/// `text` as a JSON string. Serializing into a `Vec` cannot fail, and serde_json escapes quotes,
/// newlines and control characters, so every line stays one JSON object.
#[inline]
pub(crate) fn push_json(line: &mut Vec<u8>, text: &str) {
    // Field names and most values need no escaping: copied as they are.
    if plain_ascii(text.as_bytes()) {
        line.reserve(text.len() + 2);
        line.push(b'"');
        line.extend_from_slice(text.as_bytes());
        line.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *line, text);
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether every byte is printable ASCII other than `"` and `\`: such text is its own JSON string. Eight
/// bytes at a time (the "has a byte less than n" and "has a zero byte" word tricks): a line's text is
/// mostly such text, and a byte at a time cost more than the rest of the line. A word the tricks flag
/// wrongly only sends the text the slow way, through serde_json, which is right for any text.
#[inline]
pub(crate) fn plain_ascii(bytes: &[u8]) -> bool {
    let has_byte = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
        if below_space
            || word & HIGHS != 0
            || has_byte(word, b'"')
            || has_byte(word, b'\\')
            || has_byte(word, 0x7f)
        {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// `,"key":`, before a value.
#[inline]
pub(crate) fn push_key(line: &mut Vec<u8>, key: &str) {
    line.push(b',');
    push_json(line, key);
    line.push(b':');
}

/// `,"key":` for a key of sightline's own, which needs no escaping.
#[inline]
pub(crate) fn push_own_key(line: &mut Vec<u8>, key: &'static str) {
    line.reserve(key.len() + 4);
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":");
}

/// `,"target":"<target>"`, written once per call site.
pub(crate) fn target_entry(target: &str) -> Box<[u8]> {
    let mut entry = b",\"target\":".to_vec();
    push_json(&mut entry, target);
    entry.into_boxed_slice()
}

/// A duration of `micros` microseconds in milliseconds: `0.218`, `16.405`, `2.0`, as the shortest
/// decimal of the float `micros / 1000` prints, without formatting a float.
#[inline]
pub(crate) fn push_millis(line: &mut Vec<u8>, micros: u64) {
    push_u64(line, micros / 1000);
    let fraction = micros % 1000;
    let digits = [
        b'0' + (fraction / 100) as u8,
        b'0' + (fraction / 10 % 10) as u8,
        b'0' + (fraction % 10) as u8,
    ];
    let keep = if fraction % 100 == 0 {
        1
    } else if fraction % 10 == 0 {
        2
    } else {
        3
    };
    line.push(b'.');
    line.extend_from_slice(&digits[..keep]);
}

/// A float as JSON: a number, or (JSON has none) NaN and the infinities as the strings Rust prints.
#[inline]
pub(crate) fn push_f64(line: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        let _ = serde_json::to_writer(&mut *line, &value);
    } else {
        push_json(line, &value.to_string());
    }
}

/// An integer as JSON.
#[inline]
pub(crate) fn push_u64(line: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[at..]);
}

/// One of sightline's own warnings as a log line: target `sightline`, level `warn`, the message redacted
/// like any message (an exporter's error can quote a URL with its password), and how many similar
/// warnings were suppressed before it.
pub(crate) fn warning_line(sink: &LineSink, message: &str, suppressed: u64) -> Vec<u8> {
    let message = sink
        .redactor
        .redact_text(message, crate::redact::TextKind::Message)
        .map_or(std::borrow::Cow::Borrowed(message), std::borrow::Cow::Owned);
    let mut line = Vec::with_capacity(128 + message.len());
    sink.begin(&mut line, &Level::WARN, "sightline");
    line.extend_from_slice(b",\"message\":");
    push_json(&mut line, &message);
    if suppressed > 0 {
        let _ = write!(line, ",\"suppressed\":{suppressed}");
    }
    line.extend_from_slice(b"}\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn matches_humantime_across_leap_years_and_clamps_after_9999() {
        for secs in [
            0u64,
            951_782_400,   // 2000-02-29
            1_709_164_800, // 2024-02-29
            1_735_689_599, // 2024-12-31T23:59:59
            4_107_542_400, // 2100-03-01
            253_402_300_799,
        ] {
            for millis in [0u32, 7, 999] {
                let mut line = Vec::new();
                push_rfc3339_millis(&mut line, secs, millis);
                let time =
                    UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis.into());
                let expected = humantime::format_rfc3339_millis(time).to_string();
                assert_eq!(String::from_utf8(line).unwrap(), expected, "{secs}");
            }
        }
        let mut line = Vec::new();
        push_rfc3339_millis(&mut line, u64::MAX, 5);
        assert_eq!(line, b"9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_cached_second_gives_the_same_text_as_a_fresh_one() {
        for _ in 0..3 {
            let mut cached = Vec::new();
            push_timestamp(&mut cached);
            let text = String::from_utf8(cached).unwrap();
            let parsed = humantime::parse_rfc3339(&text).unwrap();
            let age = SystemTime::now().duration_since(parsed).unwrap();
            assert!(age < Duration::from_secs(5), "{text}");
            assert_eq!(text.len(), 24);
        }
    }

    #[test]
    fn plain_text_is_told_from_text_to_escape_at_any_position() {
        let plain = "GET /api/v1/orders/{id} req_4f2a:x-1.2_ok ~!";
        assert!(plain_ascii(plain.as_bytes()));
        for at in 0..plain.len() {
            for special in [b'"', b'\\', b'\n', 0x00, 0x1f, 0x7f, 0xc3] {
                let mut bytes = plain.as_bytes().to_vec();
                bytes[at] = special;
                assert!(!plain_ascii(&bytes), "{special:#x} at {at}");
            }
        }
        for text in ["", "a", "abcdefgh", "abcdefghi", "ünïcode", "tab\there"] {
            let mut fast = Vec::new();
            push_json(&mut fast, text);
            assert_eq!(fast, serde_json::to_vec(text).unwrap(), "{text}");
        }
    }

    #[test]
    fn millis_print_as_the_shortest_decimal_of_the_float() {
        for micros in [
            0u64,
            1,
            9,
            10,
            100,
            218,
            1_000,
            2_500,
            16_405,
            123_456_789,
            999_999,
        ] {
            let mut ours = Vec::new();
            push_millis(&mut ours, micros);
            let float = (micros as f64) / 1000.0;
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&float).unwrap()
            );
        }
        let mut text = Vec::new();
        push_u64(&mut text, u64::MAX);
        assert_eq!(text, u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn floats_and_strings() {
        let mut line = Vec::new();
        push_f64(&mut line, 0.021);
        line.push(b' ');
        push_f64(&mut line, f64::NAN);
        line.push(b' ');
        push_json(&mut line, "a\"b\n");
        assert_eq!(String::from_utf8(line).unwrap(), r#"0.021 "NaN" "a\"b\n""#);
    }
}
