//! What a span carries beyond its ids: its fields, already redacted and written as JSON entries
//! (`,"key":value`, each rendered once, then copied whole into every line inside the span, and parsed
//! into attributes on the export thread), and the events recorded inside it while it is exported.

use crate::logs::line::push_key;
use opentelemetry::KeyValue;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::ops::Range;

/// A span's fields and events.
#[derive(Debug, Default)]
pub(crate) struct Values {
    /// The entries, one after another: `,"key":value`.
    text: Vec<u8>,
    fields: SmallVec<[Field; 3]>,
    pub(crate) events: Vec<SpanEvent>,
}

#[derive(Debug)]
struct Field {
    key: Cow<'static, str>,
    /// `,"key":value` in `text`.
    entry: Range<usize>,
    /// Where its value starts.
    value: usize,
    /// Written on log lines; otherwise an attribute of the exported span only (`url.path`).
    logged: bool,
}

/// One event inside an exported span: a `tracing` event, with its attributes as recorded (the export
/// thread redacts them).
#[derive(Debug)]
pub(crate) struct SpanEvent {
    pub(crate) name: Cow<'static, str>,
    /// A [`crate::clock::now`] reading.
    pub(crate) tick: u64,
    pub(crate) attributes: Vec<KeyValue>,
}

impl Values {
    /// Sets `key` to the JSON value `write` appends to the buffer it is given. A key set again keeps its
    /// place and takes the new value (the old text stays in the buffer: a span sets few keys).
    pub(crate) fn set(
        &mut self,
        key: Cow<'static, str>,
        logged: bool,
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        self.set_if(key, logged, |out| {
            write(out);
            true
        });
    }

    /// [`set`](Self::set), unless `write` says it wrote nothing (a value that records nothing, `None`).
    pub(crate) fn set_if(
        &mut self,
        key: Cow<'static, str>,
        logged: bool,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) {
        if self.text.capacity() == 0 {
            self.text.reserve(96);
        }
        let start = self.text.len();
        push_key(&mut self.text, &key);
        let value = self.text.len();
        if !write(&mut self.text) {
            self.text.truncate(start);
            return;
        }
        let range = start..self.text.len();
        match self.fields.iter_mut().find(|f| f.key == key) {
            Some(field) => {
                field.entry = range;
                field.value = value;
                field.logged = logged;
            }
            None => self.fields.push(Field {
                key,
                entry: range,
                value,
                logged,
            }),
        }
    }

    /// Sets every field of `other` here, in its order.
    pub(crate) fn merge(&mut self, other: Values) {
        for field in other.fields {
            let value = &other.text[field.value..field.entry.end];
            self.set(field.key, field.logged, |out| out.extend_from_slice(value));
        }
        self.events.extend(other.events);
    }

    /// `(key, ,"key":value)` of each field written on log lines, in first-set order.
    pub(crate) fn logged(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .filter(|f| f.logged)
            .map(|f| (f.key.as_ref(), &self.text[f.entry.clone()]))
    }

    /// `(key, JSON value, logged)` of every field, for the exported span: a logged value was redacted
    /// when it was written, the others not yet.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&str, &[u8], bool)> {
        self.fields
            .iter()
            .map(|f| (f.key.as_ref(), &self.text[f.value..f.entry.end], f.logged))
    }

    /// Whether a field named `key` is written on log lines.
    pub(crate) fn logs_key(&self, key: &str) -> bool {
        self.fields.iter().any(|f| f.logged && f.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_again_keeps_its_place_and_takes_the_new_value() {
        let mut values = Values::default();
        values.set("a".into(), true, |t| t.extend_from_slice(b"1"));
        values.set("url.path".into(), false, |t| t.extend_from_slice(b"\"/x\""));
        values.set("b".into(), true, |t| t.extend_from_slice(b"\"two\""));
        values.set("a".into(), true, |t| t.extend_from_slice(b"3"));
        values.set_if("c".into(), true, |_| false);
        let logged: Vec<_> = values.logged().collect();
        assert_eq!(
            logged,
            [("a", &b",\"a\":3"[..]), ("b", &b",\"b\":\"two\""[..])]
        );
        let all: Vec<_> = values.all().collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1], ("url.path", &b"\"/x\""[..], false));
        assert!(values.logs_key("b") && !values.logs_key("url.path") && !values.logs_key("c"));
    }
}
