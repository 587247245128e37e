//! Text formats the artefacts share: numbers and durations as Prometheus reads them, strings quoted for
//! PromQL and for YAML, and Go's `humanize*` template functions, so that a test can state exactly what
//! Prometheus prints when it expands an annotation (promtool compares annotations verbatim).

pub(super) use crate::promql::promql_str;

/// A number for PromQL or YAML: Rust's shortest round-trip text after rounding to 12 significant digits,
/// so binary noise does not leak into a rule (`(100.0 - 99.9) / 100.0` is written `0.001`).
pub(super) fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let rounded: f64 = format!("{v:.11e}").parse().unwrap_or(v);
    if rounded == 0.0 {
        return "0".to_string();
    }
    format!("{rounded}")
}

/// A duration in Prometheus's notation, in the largest unit that divides it (`300` is `5m`, `20` is
/// `20s`). Weeks and years are never used: `7d` reads unambiguously.
pub(super) fn duration(secs: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("d", 86_400), ("h", 3_600), ("m", 60)];
    for (unit, len) in UNITS {
        if secs >= len && secs % len == 0 {
            return format!("{}{unit}", secs / len);
        }
    }
    format!("{secs}s")
}

/// The matcher `name="value"`.
pub(super) fn eq(name: &str, value: &str) -> String {
    format!("{name}={}", promql_str(value))
}

/// The matcher `name=~"regex"`.
pub(super) fn re(name: &str, regex: &str) -> String {
    format!("{name}=~{}", promql_str(regex))
}

/// `metric{m1,m2}`.
pub(super) fn selector(metric: &str, matchers: &[String]) -> String {
    format!("{metric}{{{}}}", matchers.join(","))
}

/// A YAML scalar for a one-line string. Single quotes (a quote doubled) need no other escaping and keep
/// PromQL's `{`, `"` and `|` readable; a string with a control character (a newline in a label value)
/// is written double-quoted with JSON escapes instead, which YAML reads the same way.
pub(super) fn yaml_str(s: &str) -> String {
    if s.chars().any(char::is_control) {
        serde_json::to_string(s).expect("a string serialises")
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A YAML literal block (`|-`) holding `text`, its lines indented by `indent` spaces: multi-line PromQL
/// stays readable and needs no escaping at all.
pub(super) fn yaml_block(text: &str, indent: usize) -> String {
    debug_assert!(
        !text.starts_with(' '),
        "the first line sets the block's indentation"
    );
    let pad = " ".repeat(indent);
    let mut out = String::from("|-");
    for line in text.lines() {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// How an annotation prints the alert's value: the Prometheus template function it is piped through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Humanize {
    /// `humanize`: SI prefixes (`1.5k`).
    Plain,
    /// `humanizePercentage`: a ratio as a percentage (`0.05` is `5%`).
    Percentage,
    /// `humanizeDuration`: seconds (`3.98s`, `995ms`, `1m 30s`).
    Duration,
    /// `humanize1024`: binary prefixes (`2Gi`).
    Bytes,
}

impl Humanize {
    /// The template function's name.
    pub(super) fn function(self) -> &'static str {
        match self {
            Humanize::Plain => "humanize",
            Humanize::Percentage => "humanizePercentage",
            Humanize::Duration => "humanizeDuration",
            Humanize::Bytes => "humanize1024",
        }
    }

    /// What the template function prints for `v`.
    pub(super) fn apply(self, v: f64) -> String {
        match self {
            Humanize::Plain => humanize(v),
            Humanize::Percentage => format!("{}%", go_g4(v * 100.0)),
            Humanize::Duration => humanize_duration(v),
            Humanize::Bytes => humanize1024(v),
        }
    }
}

/// Go's `fmt.Sprintf("%.4g", v)`, which every Prometheus `humanize*` function ends with: four significant
/// digits, trailing zeros dropped, exponent notation below 1e-4 and from 1e4 on (`1.235e+06`).
pub(super) fn go_g4(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    // Rust and Go both round the exact binary value correctly (ties to even).
    let sci = format!("{:.3e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    let digits = mantissa.replace('.', "");
    let digits = digits.trim_end_matches('0');
    let nd = digits.len() as i32;
    let dp = exponent + 1;
    // strconv's rule for %g: exponent notation if the exponent is below -4 or at least the precision,
    // the precision shrinking to the digit count when the number is an integer written in full.
    let eprec = if 4 > nd && nd >= dp { nd } else { 4 };
    if exponent < -4 || exponent >= eprec {
        let mut m = digits[..1].to_string();
        if nd > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exponent.abs());
    }
    let body = if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{sign}{body}")
}

/// Prometheus's `humanize`.
pub(super) fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g4(v);
    }
    let (v, prefix) = if v.abs() >= 1.0 {
        large_prefix(v, 1000.0, ["k", "M", "G", "T", "P", "E", "Z", "Y"])
    } else {
        small_prefix(v)
    };
    format!("{}{prefix}", go_g4(v))
}

/// Prometheus's `humanize1024`.
pub(super) fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return go_g4(v);
    }
    let (v, prefix) = large_prefix(v, 1024.0, ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]);
    format!("{}{prefix}", go_g4(v))
}

/// Prometheus's `humanizeDuration` (seconds in; whole seconds from a minute up).
pub(super) fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g4(v);
    }
    if v == 0.0 {
        return format!("{}s", go_g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let whole = v as i64; // Go's int64(v) truncates too
        let (days, hours, minutes, seconds) = (
            whole / 86_400,
            (whole / 3_600) % 24,
            (whole / 60) % 60,
            whole % 60,
        );
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g4(v))
        };
    }
    let (v, prefix) = small_prefix(v);
    format!("{}{prefix}s", go_g4(v))
}

/// `v` divided by `base` for as long as it stays at least `base` in magnitude (at most once per
/// prefix), and the prefix of the last division: the loop of Prometheus's `humanize` above 1 and of
/// `humanize1024`.
fn large_prefix(v: f64, base: f64, prefixes: [&'static str; 8]) -> (f64, &'static str) {
    let (mut v, mut prefix) = (v, "");
    for p in prefixes {
        if v.abs() < base {
            break;
        }
        prefix = p;
        v /= base;
    }
    (v, prefix)
}

/// `v` multiplied by 1000 until it is at least 1 in magnitude (at most once per prefix), and the SI
/// prefix that says so: the loop of Prometheus's `humanize` and `humanizeDuration` below 1.
fn small_prefix(v: f64) -> (f64, &'static str) {
    let (mut v, mut prefix) = (v, "");
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    (v, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g4_matches_fmt() {
        // Expected values are Go's `fmt.Sprintf("%.4g", v)`.
        for (v, go) in [
            (50.0, "50"),
            (0.5, "0.5"),
            (3.98, "3.98"),
            (1000.0, "1000"),
            (1234.0, "1234"),
            (10_000.0, "1e+04"),
            (1_234_567.0, "1.235e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (2.999_999_999_999_999_6, "3"),
            (12.345_67, "12.35"),
            (-0.25, "-0.25"),
            (0.0, "0"),
        ] {
            assert_eq!(go_g4(v), go, "{v}");
        }
    }

    #[test]
    fn humanize_functions_match_prometheus_docs() {
        // The examples of Prometheus's (and Grafana's) template reference.
        assert_eq!(humanize(1_234_567.0), "1.235M");
        assert_eq!(humanize(0.25), "250m");
        assert_eq!(humanize1024(1_048_576.0), "1Mi");
        assert_eq!(humanize1024(2.0 * 1024.0 * 1024.0 * 1024.0), "2Gi");
        assert_eq!(humanize_duration(899.99), "14m 59s");
        assert_eq!(humanize_duration(3.98), "3.98s");
        assert_eq!(humanize_duration(0.995), "995ms");
        assert_eq!(humanize_duration(90_061.0), "1d 1h 1m 1s");
        assert_eq!(Humanize::Percentage.apply(0.123_456_7), "12.35%");
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(num((100.0 - 99.9) / 100.0), "0.001");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(1024.0 * 1024.0 * 1024.0), "1073741824");
        assert_eq!(duration(300), "5m");
        assert_eq!(duration(20), "20s");
        assert_eq!(duration(90), "90s");
        assert_eq!(duration(3 * 86_400), "3d");
        assert_eq!(duration(17_280), "288m");
    }

    #[test]
    fn quoting() {
        assert_eq!(yaml_str("it's {x}"), "'it''s {x}'");
        assert_eq!(yaml_str("two\nlines"), r#""two\nlines""#);
        assert_eq!(yaml_block("a\n  b", 4), "|-\n    a\n      b");
    }
}
