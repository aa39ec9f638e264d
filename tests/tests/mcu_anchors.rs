//! neurite against the MCU anchors (`benches/mcu/`): runs `benches/mcu/run.sh` (plain C,
//! CMSIS-DSP and CMSIS-NN built with arm-none-eabi-gcc, neurite's `firmware/src/bin/anchors.rs` with and
//! without `cortex-m-asm`, all in QEMU) and checks that every program ran and computed the
//! right thing (the matrix-vector products match a double-precision reference, every train
//! step lowers the loss, the packed layers give the row-major layers' bits, neurite's int8
//! outputs are CMSIS-NN's bytes and meet the instructions-per-MAC targets), that the C
//! anchors count what `benches/mcu/README.md` records (exactly with Debian's gcc 12.2.1,
//! within 25% with another compiler), and that neurite's figures stay within 25% above the
//! recorded ones (and are not below a quarter of them: a figure that fell that far is a
//! measurement that broke, or an improvement to record).
//!
//! Needs `arm-none-eabi-gcc` with newlib (`apt-get install gcc-arm-none-eabi
//! libnewlib-arm-none-eabi`) besides the firmware's tools (`qemu-system-arm`, `defmt-print`,
//! the thumbv7em target). Without them the test prints why and skips; with
//! `NEURITE_REQUIRE_QEMU=1` (CI) a missing tool fails it. AIfES is not run here (not
//! vendored: `AIFES=... benches/mcu/run.sh` runs it).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// `(implementation, model, what, instructions)` as recorded in `benches/mcu/README.md`
/// (2026-11-26, commit 49fafe9, rustc 1.95, QEMU 7.2).
const NEURITE: &[(&str, &str, &str, f64)] = &[
    ("neurite", "64x64", "matvec", 11_559.0),
    ("neurite", "64x64", "matvec-packed", 5_865.0),
    ("neurite", "64-32-10", "inference", 7_438.0),
    ("neurite", "64-32-10", "inference-packed", 4_362.0),
    ("neurite", "64-32-10", "sgd-step", 21_661.0),
    ("neurite", "64-32-10", "sgd-update", 4_008.0),
    ("neurite", "64-32-10", "adam-step", 101_290.0),
    ("neurite", "64-32-10", "adam-update", 83_867.0),
    ("neurite", "64-64-10", "inference", 16_105.0),
    ("neurite", "64-64-10", "inference-packed", 8_511.0),
    ("neurite", "64-64-10", "sgd-step", 42_706.0),
    ("neurite", "64-64-10", "sgd-update", 7_922.0),
    ("neurite", "64-64-10", "adam-step", 183_227.0),
    ("neurite", "64-64-10", "adam-update", 148_667.0),
    ("neurite-noasm", "64x64", "matvec-packed", 9_684.0),
    ("neurite-noasm", "64-32-10", "inference-packed", 6_815.0),
    ("neurite-noasm", "64-32-10", "sgd-step", 34_745.0),
    ("neurite-noasm", "64-32-10", "adam-step", 171_884.0),
    ("neurite-noasm", "64-64-10", "adam-update", 290_989.0),
    ("neurite", "int8", "fc-64x64", 6_964.0),
    ("neurite", "int8", "fc-256x64", 22_228.0),
    ("neurite", "int8", "conv-16x16x8", 512_307.0),
    ("neurite", "int8", "fc-256x64-reference", 90_215.0),
    ("neurite-noasm", "int8", "fc-256x64", 66_514.0),
    ("neurite-noasm", "int8", "conv-16x16x8", 2_172_071.0),
];

/// The int8 targets (issue 15) in instructions per MAC, with the DSP assembly:
/// `(model, what, MACs, at most)`.
const INT8_TARGETS: &[(&str, &str, f64, f64)] =
    &[("int8", "fc-256x64", 16_384.0, 1.4), ("int8", "conv-16x16x8", 294_912.0, 1.8)];

/// The C anchors as `docs/anchors/mcu/README.md` records them for 64-32-10 (gcc 12.2.1,
/// -O2), and as `benches/mcu/README.md` records them for 64-64-10.
const ANCHORS: &[(&str, &str, &str, f64)] = &[
    ("CMSIS-DSP", "64x64", "matvec", 11_606.0),
    ("CMSIS-DSP", "64x64", "matvec-mat-mult", 21_283.0),
    ("CMSIS-DSP", "64x64", "matvec-dot-prod", 17_804.0),
    ("plain-C", "64x64", "matvec", 20_942.0),
    ("plain-C", "64x64", "matvec-alias", 25_120.0),
    ("plain-C", "64-32-10", "inference", 13_008.0),
    ("plain-C", "64-32-10", "sgd-update", 14_470.0),
    ("plain-C", "64-32-10", "sgd-step", 42_335.0),
    ("plain-C", "64-32-10", "adam-update", 57_963.0),
    ("plain-C", "64-32-10", "adam-step", 86_211.0),
    ("plain-C", "64-64-10", "inference", 25_217.0),
    ("plain-C", "64-64-10", "sgd-step", 82_993.0),
    ("plain-C", "64-64-10", "adam-step", 170_086.0),
    // benches/mcu/nn_bench.c (docs/anchors/mcu's, printing the outputs' hashes besides)
    ("CMSIS-NN", "int8", "fc-64x64", 10_992.0),
    ("CMSIS-NN", "int8", "fc-256x64", 34_030.0),
    ("CMSIS-NN", "int8", "conv-16x16x8", 848_179.0),
];

/// RAM besides the parameters, bytes (exact: sizes of arrays and types).
const RAM: &[(&str, &str, &str, f64)] = &[
    ("plain-C", "64-32-10", "ram-sgd", 9_976.0),
    ("plain-C", "64-32-10", "ram-adam", 29_256.0),
    ("neurite", "64-32-10", "ram-sgd", 10_304.0),
    ("neurite", "64-32-10", "ram-adam", 29_588.0),
    ("neurite", "64-64-10", "ram-sgd", 20_160.0),
    ("neurite", "64-64-10", "ram-adam", 58_644.0),
];

fn gcc_missing() -> Vec<String> {
    let gcc = Command::new("arm-none-eabi-gcc").arg("-print-file-name=librdimon.a").output();
    match gcc {
        Ok(o) if o.status.success() => {
            let lib = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if Path::new(&lib).is_absolute() && Path::new(&lib).exists() {
                vec![]
            } else {
                vec!["newlib for arm-none-eabi-gcc (apt-get install libnewlib-arm-none-eabi)".into()]
            }
        }
        _ => {
            vec!["arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
                .into()]
        }
    }
}

fn gcc_version() -> String {
    Command::new("arm-none-eabi-gcc")
        .arg("-dumpversion")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[test]
fn neurite_against_the_mcu_anchors() {
    let mut missing = neurite_tests::qemu_tools_missing();
    missing.extend(gcc_missing());
    if neurite_tests::skip_without_qemu("MCU anchors (benches/mcu/run.sh)", &missing) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tempfile::tempdir().expect("temporary directory");
    let run = Command::new("bash")
        .arg(root.join("benches/mcu/run.sh"))
        .env("MCU_OUT", out.path())
        .env_remove("AIFES")
        .env_remove("OPT")
        .env_remove("NEURITE")
        .output()
        .expect("run benches/mcu/run.sh");
    let text =
        format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    println!("{text}");
    assert!(run.status.success(), "benches/mcu/run.sh failed:\n{text}");

    let figures_txt = std::fs::read_to_string(out.path().join("figures.txt")).expect("figures.txt");
    let mut figures = HashMap::new();
    let mut checks = 0;
    for line in figures_txt.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["figure", implementation, model, what, n, _, _] => {
                let n: f64 = n.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
                figures
                    .insert((implementation.to_string(), model.to_string(), what.to_string()), n);
            }
            ["check", _, _, result] => {
                assert_eq!(*result, "ok", "a check failed: {line}\n{text}");
                checks += 1;
            }
            _ => panic!("unexpected line in figures.txt: {line}"),
        }
    }
    // every program's checks: calibration (4), the five 64x64 products, plain C's two
    // losses per model, neurite's per build: the init, the packed layers and two losses per
    // model, the 64x64 bits, the verdict
    // and the int8 checks: each build's two packed-equals-reference lines and its three
    // outputs equal to CMSIS-NN's bytes
    assert!(checks >= 4 + 5 + 4 + 2 * 9 + 2 * (2 + 3), "{checks} checks only:\n{figures_txt}");
    for problem in ["fc-64x64", "fc-256x64", "conv-16x16x8"] {
        for implementation in ["neurite", "neurite-noasm"] {
            let needle = format!("check {implementation} int8-{problem}-same-bytes-as-CMSIS-NN ok");
            assert!(figures_txt.contains(&needle), "no '{needle}':\n{figures_txt}");
        }
    }
    for needle in ["calibration", "CMSIS-DSP matvec-maxdiff", "plain-C 64-32-10-sgd-loss"] {
        assert!(figures_txt.contains(needle), "no check '{needle}':\n{figures_txt}");
    }
    for verdict in ["check neurite-asm anchors-passed ok", "check neurite-noasm anchors-passed ok"]
    {
        assert!(figures_txt.contains(verdict), "no '{verdict}':\n{figures_txt}");
    }
    let get = |implementation: &str, model: &str, what: &str| -> f64 {
        *figures
            .get(&(implementation.to_string(), model.to_string(), what.to_string()))
            .unwrap_or_else(|| panic!("no figure {implementation} {model} {what}:\n{figures_txt}"))
    };

    let exact_c = gcc_version() == "12.2.1";
    for &(implementation, model, what, recorded) in ANCHORS {
        let got = get(implementation, model, what);
        if exact_c {
            assert_eq!(got, recorded, "{implementation} {model} {what} with gcc 12.2.1");
        } else {
            assert!(
                (got - recorded).abs() <= 0.25 * recorded,
                "{implementation} {model} {what}: {got}, recorded {recorded} (gcc {})",
                gcc_version()
            );
        }
    }
    for &(implementation, model, what, recorded) in NEURITE {
        let got = get(implementation, model, what);
        assert!(
            got <= 1.25 * recorded && got >= 0.25 * recorded,
            "{implementation} {model} {what}: {got} instructions, recorded {recorded} \
             (bounds: at most 25% above, at least a quarter; an improvement: record it in \
             benches/mcu/README.md and here)"
        );
    }
    for &(model, what, macs, most) in INT8_TARGETS {
        let per_mac = get("neurite", model, what) / macs;
        assert!(per_mac <= most, "neurite {model} {what}: {per_mac} instructions per MAC > {most}");
        assert!(get("CMSIS-NN", model, what) / macs > per_mac, "CMSIS-NN {what} is not slower");
    }
    for &(implementation, model, what, recorded) in RAM {
        assert_eq!(get(implementation, model, what), recorded, "{implementation} {model} {what}");
    }
    // the table holds a row per figure and the columns of what ran
    let table = std::fs::read_to_string(out.path().join("table.md")).expect("table.md");
    assert!(table.starts_with("| model | figure"), "{table}");
    for column in ["CMSIS-DSP", "CMSIS-NN", "plain C", "neurite", "neurite, no `cortex-m-asm`"] {
        assert!(table.lines().next().is_some_and(|h| h.contains(column)), "{table}");
    }
    assert_eq!(table.lines().count(), 2 + 2 + 2 * 9 + 6, "{table}");
}
