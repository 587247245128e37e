//! A strict parser for the Prometheus text exposition format (0.0.4).
//!
//! `prometheus-parse` was the obvious crate, but its sample regex ends label sets at the first `}`, so a
//! route label such as `"/api/v1/orders/{id}"` breaks it; this parser follows the format's grammar,
//! quoted values and escapes included, and fails the test on any line it does not understand.

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// `# TYPE` per family.
    pub types: HashMap<String, String>,
    /// `# HELP` per family.
    pub help: HashMap<String, String>,
}

pub fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line has a kind");
            out.types.insert(name.to_owned(), kind.to_owned());
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.help.insert(name.to_owned(), help.to_owned());
        } else if line.starts_with('#') {
            continue;
        } else {
            let sample = parse_sample(line)
                .unwrap_or_else(|e| panic!("exposition line {}: {e}: {line}", n + 1));
            out.samples.push(sample);
        }
    }
    out
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
    {
        i += 1;
    }
    if i == 0 {
        return Err("no metric name".into());
    }
    let name = line[..i].to_owned();
    let mut labels = BTreeMap::new();
    if bytes.get(i) == Some(&b'{') {
        i += 1;
        loop {
            if bytes.get(i) == Some(&b'}') {
                i += 1;
                break;
            }
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let key = line[start..i].to_owned();
            if key.is_empty() || bytes.get(i) != Some(&b'=') || bytes.get(i + 1) != Some(&b'"') {
                return Err(format!("bad label at byte {start}"));
            }
            i += 2;
            let mut value = String::new();
            let mut chars = line[i..].char_indices();
            let end = loop {
                match chars.next() {
                    Some((j, '"')) => break i + j + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        other => return Err(format!("bad escape {other:?}")),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            i = end;
            if labels.insert(key.clone(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            match bytes.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected , or }} at byte {i}")),
            }
        }
    }
    let mut rest = line[i..].split_whitespace();
    let raw = rest.next().ok_or("no value")?;
    let value = match raw {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|e| format!("bad value {v}: {e}"))?,
    };
    if let Some(ts) = rest.next() {
        ts.parse::<i64>()
            .map_err(|e| format!("bad timestamp {ts}: {e}"))?;
    }
    if rest.next().is_some() {
        return Err("trailing tokens".into());
    }
    Ok(Sample {
        name,
        labels,
        value,
    })
}

impl Exposition {
    /// Samples named `name` whose labels include all of `labels`.
    pub fn find<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}
