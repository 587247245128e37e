//! PromQL's own syntax that both the rules and the renaming of selectors write.

/// A PromQL string literal: double-quoted, with the escapes PromQL (Go's `strconv.Unquote`) reads.
pub(crate) fn promql_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::promql_str;

    #[test]
    fn string_literals_are_quoted_as_promql_reads_them() {
        assert_eq!(promql_str(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(promql_str("tab\tnew\nline"), r#""tab\tnew\nline""#);
        assert_eq!(promql_str("\u{1}"), r#""\u0001""#);
    }
}
