//! Label names: those sightline's families use, and those refused because each value would be a series.

/// Metric label names refused outright: each value is an identity, so each would be its own series.
pub const REFUSED_LABELS: &[&str] = &[
    "id",
    "uuid",
    "guid",
    "email",
    "username",
    "session",
    "token",
    "ip",
    "ip_address",
    "url",
    "uri",
    "path",
    "query",
    "timestamp",
];

/// Suffixes that mark a label name as an identity (`user_id`, `request_id`, `client_ip`).
pub const REFUSED_LABEL_SUFFIXES: &[&str] = &["_id", "_uuid", "_email", "_token", "_ip"];

/// Label names sightline's own families use; a custom label may not shadow them.
pub const BUILT_IN_LABELS: &[&str] = &[
    "function",
    "module",
    "result",
    "outcome",
    "operation",
    "error_kind",
    "method",
    "route",
    "status_code",
    "le",
    "quantile",
    "job",
    "instance",
];

/// What one series per value of a refused label name would be one series per (`user_id` -> `user`),
/// or `None` when the name is acceptable.
pub fn unbounded_label(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let exact = match lower.as_str() {
        "id" | "uuid" | "guid" => Some("ID"),
        "email" => Some("email address"),
        "username" => Some("user"),
        "session" => Some("session"),
        "token" => Some("token"),
        "ip" | "ip_address" => Some("IP address"),
        "url" | "uri" => Some("URL"),
        "path" => Some("path"),
        "query" => Some("query string"),
        "timestamp" => Some("timestamp"),
        _ => None,
    };
    if let Some(noun) = exact {
        return Some(noun.to_string());
    }
    REFUSED_LABEL_SUFFIXES.iter().find_map(|suffix| {
        let stem = lower.strip_suffix(suffix)?.replace('_', " ");
        Some(match *suffix {
            "_email" => format!("{stem} email address"),
            "_token" => format!("{stem} token"),
            "_ip" => format!("{stem} IP address"),
            _ => stem,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_labels_are_refused_by_name() {
        assert_eq!(unbounded_label("user_id").as_deref(), Some("user"));
        assert_eq!(unbounded_label("request_id").as_deref(), Some("request"));
        assert_eq!(
            unbounded_label("client_ip").as_deref(),
            Some("client IP address")
        );
        assert_eq!(unbounded_label("path").as_deref(), Some("path"));
        assert_eq!(unbounded_label("provider"), None);
        assert_eq!(unbounded_label("valid"), None);
    }
}
