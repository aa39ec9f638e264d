//! Shared helpers for neurite's integration tests: the golden-case runner, gradient checks,
//! tolerance comparison, and the fuzz targets' bodies (also run by `fuzz/`).

pub mod fuzz;
pub mod golden;
pub mod gradcheck;

use std::path::PathBuf;
use std::sync::OnceLock;

/// The `neurite` binary, built once per test process with the cargo and profile running the
/// tests (the binary belongs to `neurite-host`, so cargo does not hand its path to this
/// crate's tests).
pub fn neurite_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_neurite(&[])).clone()
}

/// The `neurite` binary built with the `gpu` feature (`tests/tests/gpu.rs`; the same path as
/// [`neurite_bin`]'s, so a test process uses one or the other).
pub fn neurite_gpu_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_neurite(&["--features", "gpu"])).clone()
}

fn build_neurite(extra: &[&str]) -> PathBuf {
    // target/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>");
    // target/debug is the `dev` profile; any other directory is its profile's name
    // (`release`, or `mutants` under cargo-mutants).
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "neurite-host", "--bin", "neurite"]);
    cmd.args(["--profile", profile]).args(extra);
    let status = cmd.status().expect("run cargo build for the neurite binary");
    assert!(status.success(), "building the neurite binary failed");
    profile_dir.join(format!("neurite{}", std::env::consts::EXE_SUFFIX))
}

/// Runs the `neurite` binary with `args`, expects exit status `code` with one stderr line
/// containing every `needle`, no panic, and no file at `out`.
#[track_caller]
pub fn cli_fails(code: i32, args: &[&str], needles: &[&str], out: Option<&std::path::Path>) {
    let o = std::process::Command::new(neurite_bin()).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: status {:?}, stderr {err}", o.status.code());
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' not in: {err}");
    }
    if let Some(out) = out {
        assert!(!out.exists(), "{args:?}: partial output {}", out.display());
    }
}

/// `|got - want| <= abs + rel * |want|` for every element; `Err` names the first miss.
pub fn close(what: &str, got: &[f32], want: &[f32], rel: f32, abs: f32) -> Result<usize, String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= abs + rel * w.abs() || (g.is_nan() && w.is_nan()) || g == w;
        if !ok {
            return Err(format!("{what}[{i}]: got {g}, expected {w} (rel {rel}, abs {abs})"));
        }
    }
    Ok(got.len())
}

/// What the QEMU tests need and this machine lacks: `qemu-system-arm`, `defmt-print` and the
/// Rust targets `thumbv7em-none-eabihf` and `thumbv6m-none-eabi` (empty: all there).
pub fn qemu_tools_missing() -> Vec<String> {
    use std::process::Command;
    let mut missing = Vec::new();
    for (tool, arg) in [("qemu-system-arm", "--version"), ("defmt-print", "--version")] {
        if Command::new(tool).arg(arg).output().map_or(true, |o| !o.status.success()) {
            missing.push(tool.to_string());
        }
    }
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        let libdir =
            Command::new("rustc").args(["--print", "target-libdir", "--target", target]).output();
        let present = libdir.ok().and_then(|o| String::from_utf8(o.stdout).ok()).is_some_and(|d| {
            std::fs::read_dir(d.trim()).is_ok_and(|mut entries| {
                entries.any(|e| {
                    e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libcore"))
                })
            })
        });
        if !present {
            missing.push(format!("rust target {target}"));
        }
    }
    missing
}

/// `true` when `what` must be skipped because tools are `missing` (it says so on stderr);
/// with `NEURITE_REQUIRE_QEMU=1` (CI) a missing tool panics instead.
pub fn skip_without_qemu(what: &str, missing: &[String]) -> bool {
    if missing.is_empty() {
        return false;
    }
    let msg = format!("{what} SKIPPED: missing {} (see firmware/README.md)", missing.join(", "));
    if std::env::var("NEURITE_REQUIRE_QEMU").is_ok_and(|v| v == "1") {
        panic!("{msg}; NEURITE_REQUIRE_QEMU=1 makes this a failure");
    }
    // straight to the stderr handle: libtest captures println!/eprintln! of passing tests
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{msg}");
    true
}
