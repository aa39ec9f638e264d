//! docs/GUIDE.md, run: the template (`template/`) is copied out of the repository as a user
//! would, the guide's commands train a model on a CSV file and export it into the copy, the
//! export must be the template's own `src/model.rs` byte for byte, and the copy builds and
//! runs in QEMU (inference, a refused NaN reading, fine-tuning, the model file saved and
//! read back). Needs the QEMU tools as `firmware_qemu.rs` does (skips without them, fails
//! with `NEURITE_REQUIRE_QEMU=1`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("repository root")
}

/// Copies `from` into `to` without build outputs.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a guide command");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn the_guide_from_a_csv_file_to_firmware_in_qemu() {
    let missing = neurite_tests::qemu_tools_missing();
    if neurite_tests::skip_without_qemu("the guide's QEMU run", &missing) {
        return;
    }
    let repo = repo();
    let dir = std::env::temp_dir().join(format!("neurite-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&repo.join("template"), &dir);
    // a copy outside the repository points its `neurite` dependency at the checkout
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let core = repo.join("core");
    let pointed = text.replace(
        r#"neurite = { path = "../core" }"#,
        &format!("neurite = {{ path = {:?} }}", core.display().to_string()),
    );
    assert_ne!(pointed, text, "the template's neurite dependency line changed");
    std::fs::write(&manifest, pointed).unwrap();

    // the guide's step 1: train on a CSV file and export the model into the firmware
    let bin = neurite_tests::neurite_bin();
    let iris = repo.join("host/data/iris.csv");
    run(Command::new(&bin).current_dir(&dir).args(["train", "--data"]).arg(&iris).args([
        "--layers",
        "dense(16),relu,dense(3)",
        "--epochs",
        "60",
        "--out",
        "iris.neurite",
        "--quiet",
    ]));
    run(Command::new(&bin).current_dir(&dir).args([
        "export",
        "--model",
        "iris.neurite",
        "--rust",
        "src/model.rs",
    ]));
    let exported = std::fs::read_to_string(dir.join("src/model.rs")).unwrap();
    let shipped = std::fs::read_to_string(repo.join("template/src/model.rs")).unwrap();
    assert!(
        exported == shipped,
        "template/src/model.rs is not what the guide's commands export: rerun them (docs/GUIDE.md)"
    );

    // step 2: build and run the firmware (QEMU here; probe-rs on a board)
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = repo.join("target/guide-template");
    let out = run(Command::new(cargo)
        .current_dir(&dir)
        .args(["run", "--release"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"));
    println!("{out}");
    let _ = std::fs::remove_dir_all(&dir);
    for line in [
        "inference: 12/12 samples right",
        "a NaN reading is refused: true",
        "read back equal: true",
        "RAM (compile time): inference 28 bytes, fine-tuning 580 bytes",
        "template passed",
    ] {
        assert!(out.contains(line), "'{line}' not in the template's output:\n{out}");
    }
}
