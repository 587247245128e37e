//! The keys a JSON log line writes itself. A user's field of one of these names would be shadowed, so
//! the macros refuse it.

/// Every line starts with these, in this order.
pub const HEADER_KEYS: &[&str] = &["timestamp", "level", "service", "target", "message"];

/// The ids of the span a line belongs to, after the header.
pub const SPAN_ID_KEYS: &[&str] = &["trace_id", "span_id"];

/// The request's id: a field of the request span, written on every line inside it.
pub const REQUEST_ID: &str = "request_id";

/// What a completion line (one per observed call) adds to the header.
pub const COMPLETION_KEYS: &[&str] = &[
    "function",
    "module",
    "result",
    "outcome",
    "duration_ms",
    "error_kind",
    "error",
    "method",
    "route",
    "status_code",
    "operation",
];

/// Whether a user's field named `name` would collide with a key sightline writes.
pub fn is_reserved_field(name: &str) -> bool {
    HEADER_KEYS.contains(&name) || COMPLETION_KEYS.contains(&name)
}
