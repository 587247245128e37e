//! External tools the tests drive (promtool, ...). House rule: a missing tool is a loud skip, or a
//! failure when `SIGHTLINE_REQUIRE_TOOLS=1` (CI sets it where the tools are installed).
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// `Some(name)` when `name --version` runs. Otherwise a loud notice on stderr and `None`, or a panic
/// under `SIGHTLINE_REQUIRE_TOOLS=1`; `install` says how to get the tool.
pub fn require(name: &'static str, install: &str) -> Option<&'static str> {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(name);
    }
    if std::env::var("SIGHTLINE_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!(
            "`{name}` not found on PATH; {install}. SIGHTLINE_REQUIRE_TOOLS=1 makes that a failure"
        );
    }
    eprintln!(
        "\n!!!!!!!!!!\n!!! SKIPPED: {name} not found; {install} or set SIGHTLINE_REQUIRE_TOOLS=1 to make \
         this a failure\n!!!!!!!!!!\n"
    );
    None
}
