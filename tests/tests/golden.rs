//! PyTorch golden parity: every case in `tests/golden/` and, when set, in
//! `$NEURITE_GOLDEN_DIR` (cases from elsewhere in the same format must pass unchanged).

use neurite_tests::golden::run_case;
use std::path::{Path, PathBuf};

fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

fn run_dir(dir: &Path) {
    let cases = cases_in(dir);
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());
    let mut failures = Vec::new();
    let mut checks = 0;
    for case in &cases {
        match run_case(case) {
            Ok(n) => checks += n,
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    println!("{} golden cases, {checks} values compared, in {}", cases.len(), dir.display());
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn shipped_golden_cases_match_pytorch() {
    run_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("golden"));
}

#[test]
fn external_golden_cases_match_pytorch() {
    match std::env::var_os("NEURITE_GOLDEN_DIR") {
        Some(dir) => run_dir(Path::new(&dir)),
        None => println!("NEURITE_GOLDEN_DIR not set: no external golden cases"),
    }
}
