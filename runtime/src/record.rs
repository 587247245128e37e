//! `sightline::record`: attach a value to the current observed call after it started (a user id known
//! only after authentication, a cache hit, a retry count).

/// A value for [`record`].
#[derive(Clone, Debug, PartialEq)]
pub enum RecordValue {
    /// Text.
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A flag.
    Bool(bool),
}

macro_rules! record_value_from {
    ($($ty:ty => $variant:ident as $as:ty),* $(,)?) => {$(
        impl From<$ty> for RecordValue {
            fn from(v: $ty) -> Self {
                RecordValue::$variant(v as $as)
            }
        }
    )*};
}
record_value_from!(
    i8 => I64 as i64, i16 => I64 as i64, i32 => I64 as i64, i64 => I64 as i64, isize => I64 as i64,
    u8 => U64 as u64, u16 => U64 as u64, u32 => U64 as u64, u64 => U64 as u64, usize => U64 as u64,
    f32 => F64 as f64, f64 => F64 as f64,
);

impl From<bool> for RecordValue {
    fn from(v: bool) -> Self {
        RecordValue::Bool(v)
    }
}

impl From<&str> for RecordValue {
    fn from(v: &str) -> Self {
        RecordValue::Str(v.to_owned())
    }
}

impl From<String> for RecordValue {
    fn from(v: String) -> Self {
        RecordValue::Str(v)
    }
}

impl From<&String> for RecordValue {
    fn from(v: &String) -> Self {
        RecordValue::Str(v.clone())
    }
}

impl From<RecordValue> for serde_json::Value {
    fn from(v: RecordValue) -> Self {
        match v {
            RecordValue::Str(s) => s.into(),
            RecordValue::I64(i) => i.into(),
            RecordValue::U64(u) => u.into(),
            RecordValue::F64(f) => serde_json::Number::from_f64(f)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| f.to_string().into()),
            RecordValue::Bool(b) => b.into(),
        }
    }
}

/// Adds `key = value` to the running `#[observe]`d calls and the HTTP request around this code: it appears
/// on their completion lines and access line, on every later log line inside them, and on their exported
/// spans, redacted like any other field.
///
/// `tracing` drops fields a span did not declare when it was created, so a value learnt mid-call (the
/// user behind a request, known after authentication) cannot be recorded on the span directly; this is
/// the way to attach it. Returns `false`, and does nothing, outside an observed call or when sightline is
/// not installed in the current subscriber.
///
/// ```no_run
/// # use sightline_runtime as sightline;
/// # fn authenticate() -> u64 { 7 }
/// // inside an `#[observe]`d handler:
/// let user_id = authenticate();
/// sightline::record("user_id", user_id);
/// ```
pub fn record(key: &str, value: impl Into<RecordValue>) -> bool {
    let Some(installation) = crate::context::layer::current() else {
        return false;
    };
    let keep = crate::logs::fields::kept_in_span(key);
    let mut json = Vec::new();
    if keep {
        let redactor = &installation.lines.redactor;
        let mut value = serde_json::Value::from(value.into());
        redactor.redact_value(key, &mut value);
        match &value {
            serde_json::Value::String(text) => crate::logs::line::push_json(&mut json, text),
            other => {
                let _ = serde_json::to_writer(&mut json, other);
            }
        }
    }
    let key: std::borrow::Cow<'static, str> = std::borrow::Cow::Owned(key.to_owned());
    crate::context::with_frames_mut(|frames| {
        let mut recorded = false;
        // Every enclosing sightline span: the innermost call's completion line, the calls around it, and
        // the request's access line all carry a value learnt mid-request (a user after authentication).
        for frame in frames
            .iter_mut()
            .filter(|f| f.owner == crate::context::Owner::Sightline)
        {
            recorded = true;
            if keep {
                frame
                    .values
                    .get_or_insert_with(Default::default)
                    .set(key.clone(), true, |out| out.extend_from_slice(&json));
            }
        }
        recorded
    })
    .unwrap_or(false)
}
