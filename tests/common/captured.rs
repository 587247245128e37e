//! Log lines written by the JSON layer, kept in memory; shared with the fuzz target, so it needs only
//! `serde_json` and `tracing-subscriber`.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Log lines written by the JSON layer, kept in memory.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Every line so far, each parsed as one JSON object (a line that is not one fails the test).
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let raw = self.raw();
        raw.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
                assert!(v.is_object(), "log line is not an object: {line}");
                v
            })
            .collect()
    }

    /// The completion lines of one function.
    pub fn for_function(&self, function: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["function"] == function)
            .collect()
    }

    /// Everything written so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    pub fn raw(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("log output is UTF-8")
    }
}

pub struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = CapturedWriter;
    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(self.0.clone())
    }
}
