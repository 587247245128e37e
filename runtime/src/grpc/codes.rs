//! gRPC status codes: their names (the `grpc_code` label and the access line), and which of them are the
//! server's fault.

/// The name of status `code`, as gRPC's own libraries write it (`OK`, `NotFound`, ...).
pub(crate) fn name(code: u32) -> &'static str {
    match code {
        0 => "OK",
        1 => "Canceled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        _ => "Unknown",
    }
}

/// Whether status `code` says the server failed, rather than that the caller asked for something it cannot
/// have: `Unknown`, `DeadlineExceeded`, `Unimplemented`, `Internal`, `Unavailable` and `DataLoss` (the
/// OpenTelemetry conventions' list for server spans). `NotFound`, `InvalidArgument`, `PermissionDenied`
/// and the rest are answers, as an HTTP 4xx is: they leave the span's status unset and do not page anyone.
pub(crate) fn is_server_fault(code: u32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15) || code > 16
}

/// The status code of a `grpc-status` value; `Unknown` for anything that is not a number.
pub(crate) fn parse(value: &[u8]) -> u32 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_faults() {
        assert_eq!(name(0), "OK");
        assert_eq!(name(14), "Unavailable");
        assert!(is_server_fault(13) && is_server_fault(4));
        assert!(!is_server_fault(0) && !is_server_fault(5) && !is_server_fault(3));
        assert_eq!(parse(b"5"), 5);
        assert_eq!(parse(b"x"), 2);
    }
}
