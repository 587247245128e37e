//! Child processes of tests: the compiled example, and a guard that never leaks a process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Child;

/// The compiled example, next to this test binary: `target/<profile>/deps/<test>-<hash>` ->
/// `target/<profile>/examples/order_service` (so `CARGO_TARGET_DIR` and `--release` work too).
pub fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let name = format!("order_service{}", std::env::consts::EXE_SUFFIX);
    let binary = profile_dir.join("examples").join(name);
    let build_hint = "examples are built by `cargo test` for the whole package; with a filter \
                      (`cargo test --test <name>`) run `cargo build --example order_service` first";
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/order_service.rs");
    let Some(built) = modified(&binary) else {
        panic!("{} does not exist: {build_hint}", binary.display());
    };
    assert!(
        modified(&source).map_or(true, |edited| built >= edited),
        "{} is older than examples/order_service.rs: {build_hint}",
        binary.display()
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
