//! The generated artefacts read back as the tests need them: every PromQL text of the rules, their
//! promtool tests and the dashboards, and the selectors in it.
#![allow(dead_code)]

/// One `name{matchers}` of a PromQL text, its matchers as (label, operator, value).
#[derive(Debug)]
pub struct Selector {
    pub name: String,
    pub matchers: Vec<(String, String, String)>,
}

/// Every selector of `expr`: a name right before `{`, outside strings (as sightline writes them).
pub fn selectors(expr: &str) -> Vec<Selector> {
    let bytes = expr.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b == b'"' {
            at += 1;
            while at < bytes.len() && bytes[at] != b'"' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at += 1;
            continue;
        }
        let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
        if (b.is_ascii_alphabetic() || b == b'_') && (at == 0 || !name_byte(bytes[at - 1])) {
            let start = at;
            while at < bytes.len() && name_byte(bytes[at]) {
                at += 1;
            }
            if bytes.get(at) == Some(&b'{') {
                let (matchers, end) = parse_matchers(expr, at + 1);
                found.push(Selector {
                    name: expr[start..at].to_owned(),
                    matchers,
                });
                at = end;
            }
            continue;
        }
        at += 1;
    }
    found
}

/// The matchers from `at` (just inside `{`) to the closing `}`; where the selector ends.
fn parse_matchers(expr: &str, mut at: usize) -> (Vec<(String, String, String)>, usize) {
    let bytes = expr.as_bytes();
    let mut matchers = Vec::new();
    loop {
        while at < bytes.len() && matches!(bytes[at], b' ' | b',' | b'\n') {
            at += 1;
        }
        if bytes.get(at) == Some(&b'}') || at >= bytes.len() {
            return (matchers, at + 1);
        }
        let start = at;
        while bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_' {
            at += 1;
        }
        let label = expr[start..at].to_owned();
        let op_start = at;
        while matches!(bytes[at], b'=' | b'!' | b'~') {
            at += 1;
        }
        let op = expr[op_start..at].to_owned();
        assert_eq!(bytes[at], b'"', "a quoted value in {expr}");
        at += 1;
        let mut value = String::new();
        while bytes[at] != b'"' {
            if bytes[at] == b'\\' {
                at += 1;
            }
            value.push(char::from(bytes[at]));
            at += 1;
        }
        at += 1;
        matchers.push((label, op, value));
    }
}

/// Every query of the rendered artefacts: rule and test expressions, panel and variable queries.
pub fn promql(files: &[(String, String)]) -> Vec<String> {
    let mut texts = Vec::new();
    for (path, content) in files {
        if path.ends_with(".json") {
            let json: serde_json::Value = serde_json::from_str(content).unwrap();
            collect_json(&json, &mut texts);
        } else if path.starts_with("alert_rules") {
            texts.extend(yaml_values(content, &["expr"]));
        }
    }
    texts
}

/// The input series of the promtool tests: made-up values, but in the names the registry exposes.
pub fn test_series(files: &[(String, String)]) -> Vec<String> {
    let (_, tests) = files
        .iter()
        .find(|(path, _)| path == "alert_rules.test.yml")
        .expect("the rules' tests");
    yaml_values(tests, &["series"])
}

pub fn collect_json(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                match child {
                    serde_json::Value::String(text) if key == "expr" || key == "query" => {
                        out.push(text.clone())
                    }
                    other => collect_json(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_json(i, out)),
        _ => {}
    }
}

/// The values of `keys` in the rule files, in the two forms sightline writes scalars: a literal block
/// (`key: |-` and the indented lines under it) or a single-quoted line (`key: '..'`, quotes doubled).
pub fn yaml_values(content: &str, keys: &[&str]) -> Vec<String> {
    let lines: Vec<&str> = content.lines().collect();
    let mut values = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let Some((key, rest)) = trimmed.split_once(": ") else {
            continue;
        };
        if !keys.contains(&key) {
            continue;
        }
        if rest == "|-" {
            let indent = lines[i + 1].len() - lines[i + 1].trim_start().len();
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.len() - l.trim_start().len() >= indent && !l.trim().is_empty())
                .map(|l| &l[indent..])
                .collect();
            values.push(block.join("\n"));
        } else if let Some(quoted) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            values.push(quoted.replace("''", "'"));
        } else if rest.starts_with('"') {
            values.push(serde_json::from_str(rest).expect("a JSON-quoted scalar"));
        }
    }
    values
}
