//! Child processes of tests: the compiled example, and a guard that never leaks a process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Child;

/// The compiled example, next to this test binary: `target/<profile>/deps/<test>-<hash>` ->
/// `target/<profile>/examples/order_service` (so `CARGO_TARGET_DIR` and `--release` work too).
pub fn example_binary() -> PathBuf {
    built(
        "examples",
        "order_service",
        "examples/order_service.rs",
        "examples are built by `cargo test` for the whole package; with a filter \
         (`cargo test --test <name>`) run `cargo build --example order_service` first",
    )
}

/// The `sightline-alerts` binary, next to this test binary: `target/<profile>/sightline-alerts`.
pub fn alerts_binary() -> PathBuf {
    built(
        "",
        "sightline-alerts",
        "alerts/src/main.rs",
        "`cargo test --workspace` builds it (for its own tests); with a filter run \
         `cargo build -p sightline-alerts` first",
    )
}

/// `target/<profile>/<folder>/<name>`, failing with `build_hint` when it is missing or older than
/// `source`.
fn built(folder: &str, name: &str, source: &str, build_hint: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let binary = profile_dir.join(folder).join(name);
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
    let Some(built) = modified(&binary) else {
        panic!("{} does not exist: {build_hint}", binary.display());
    };
    assert!(
        modified(&source).map_or(true, |edited| built >= edited),
        "{} is older than {}: {build_hint}",
        binary.display(),
        source.display()
    );
    binary
}

/// Kills the child when dropped, so a failing assertion never leaks a process.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
