//! README.md's Rust quickstart runs as written against the simulator (issue
//! 13: "the docs' quickstarts still run as written"). The block is
//! `examples/readme.rs` word for word (`tests/readme.rs`), marked
//! `<!-- docs-test: run -->` in README.md like the Python and JS blocks their
//! suites run; here its binary runs with only the official SDKs' variables
//! pointing at the simulator, and must finish with the agent's answer and
//! the pool's report.
#![cfg(feature = "reqwest")]

use std::path::PathBuf;
use std::process::Command;

mod sim_common;

/// `target/<profile>/examples/readme`: built by `cargo test`, else here.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf();
    let binary = profile_dir.join("examples").join(format!("readme{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo).args(["build", "-q", "-p", "creditpool", "--example", "readme"]).status().unwrap();
        assert!(status.success(), "cargo build --example readme failed");
    }
    binary
}

#[test]
fn the_readme_rust_quickstart_runs_against_the_simulator() {
    let readme = include_str!("../../../README.md");
    assert!(readme.contains("<!-- docs-test: run -->\n```rust\n"), "README.md's Rust block is not marked runnable");
    let binary = example_binary();
    let sim = sim_common::start("readme", None, None, &[]);
    let mut cmd = Command::new(binary);
    for (k, _) in std::env::vars() {
        if k.starts_with("ANTHROPIC_") || k.starts_with("CREDITPOOL_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.env("ANTHROPIC_BASE_URL", &sim.url).env("ANTHROPIC_API_KEY", "sk-sim-docs").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "README.md's Rust block failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("Completed: "), "{stdout}");
    assert!(stdout.contains("researcher: $") && stdout.contains(" in 2 requests"), "{stdout}");
}
