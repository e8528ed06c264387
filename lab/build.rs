//! Builds the clock shim (`clockshim/shim.rs`, see `docs/clock.md`) into
//! `OUT_DIR` with the same `rustc`, so that the lab embeds it and every
//! build of the lab (the binary, its tests) has it without a step of its
//! own. The shim is a dependency-free `no_std` cdylib: rustc and the linker
//! it already uses for the lab are all it needs.
//!
//! Built only where the shim has raw system calls (x86_64 and aarch64
//! Linux with glibc); elsewhere `cfg(locklab_clockshim)` stays unset and a
//! skewable clock is reported as unsupported.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// The file name of the built shim inside `OUT_DIR`.
const SHIM: &str = "liblocklab_clockshim.so";

fn main() {
    println!("cargo::rerun-if-changed=clockshim/shim.rs");
    println!("cargo::rerun-if-changed=clockshim/layout.rs");
    println!("cargo::rustc-check-cfg=cfg(locklab_clockshim)");
    let target = var("TARGET");
    println!("cargo::rustc-env=LOCKLAB_BUILD_TARGET={target}");

    let supported = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && matches!(var("CARGO_CFG_TARGET_ARCH").as_str(), "x86_64" | "aarch64");
    if !supported {
        return;
    }

    let source = PathBuf::from(var("CARGO_MANIFEST_DIR")).join("clockshim/shim.rs");
    let out = PathBuf::from(var("OUT_DIR")).join(SHIM);
    let mut rustc = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc
        .args(["--edition", "2021", "--crate-type", "cdylib"])
        .args(["--crate-name", "locklab_clockshim", "--target", &target])
        .args([
            "-C",
            "opt-level=3",
            "-C",
            "panic=abort",
            "-C",
            "codegen-units=1",
        ])
        .args(["-C", "debuginfo=0", "-C", "strip=symbols"])
        .arg("-o")
        .arg(&out)
        .arg(&source);
    // The linker Cargo resolved for this target, if the user configured one.
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        rustc.arg("-C").arg({
            let mut flag = std::ffi::OsString::from("linker=");
            flag.push(linker);
            flag
        });
    }
    let output = rustc
        .output()
        .unwrap_or_else(|e| panic!("could not run rustc to build the clock shim: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!(
            "building the clock shim ({}) failed ({}):\n{stderr}",
            source.display(),
            output.status
        );
    }
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        println!("cargo::warning=clock shim: {line}");
    }
    println!("cargo::rustc-cfg=locklab_clockshim");
}

fn var(name: &str) -> String {
    env::var(name).unwrap_or_else(|e| panic!("build script: {name}: {e}"))
}
