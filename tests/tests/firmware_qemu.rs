//! The firmware in QEMU, from `cargo test` at the root: the parity runs (seeded Adam and SGD
//! training, the digits outputs) on a Cortex-M4F and on a Cortex-M0 (soft float, 16 KB of
//! RAM) equal the host's bit for bit, the demo passes, the on-target defmt-test suite
//! passes, and the soak run (100,000 fine-tuning steps) stays finite, accurate and in budget.
//!
//! Needs `qemu-system-arm`, `defmt-print` (`cargo install defmt-print`) and the targets
//! `thumbv7em-none-eabihf` and `thumbv6m-none-eabi`. Without them the test prints why and
//! skips; with `NEURITE_REQUIRE_QEMU=1` (CI) a missing tool fails it.

use neurite_firmware::parity::{adam_run, digits_inference, sgd_run, ADAM_STEPS, SGD_EPOCHS};
use std::path::{Path, PathBuf};
use std::process::Command;

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware")
}

/// `cargo <args>` in the firmware directory (its own workspace, target and runner); returns
/// stdout and stderr, and whether it succeeded.
fn firmware_cargo(args: &[&str], envs: &[(&str, &Path)]) -> (bool, String) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(firmware_dir())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo in firmware/");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn run_ok(args: &[&str]) -> String {
    run_ok_with(args, &[])
}

fn run_ok_with(args: &[&str], envs: &[(&str, &Path)]) -> String {
    let (ok, text) = firmware_cargo(args, envs);
    println!("--- cargo {} (in firmware/)\n{}", args.join(" "), filtered(&text));
    assert!(ok, "cargo {} failed:\n{text}", args.join(" "));
    text
}

fn filtered(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !l.trim_start().starts_with("Compiling") && !l.trim_start().starts_with("Downloaded")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value after `key` on the line containing it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            l.split_once(key).map(|(_, rest)| rest.split_whitespace().next().unwrap_or(""))
        })
        .unwrap_or_else(|| panic!("'{key}' not in output:\n{text}"))
}

fn llvm_size(elf: &Path) -> Option<String> {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
    let sysroot = String::from_utf8(sysroot.stdout).ok()?;
    let version = Command::new("rustc").arg("-vV").output().ok()?;
    let version = String::from_utf8(version.stdout).ok()?;
    let host = version.lines().find_map(|l| l.strip_prefix("host: "))?;
    let bin = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/bin/llvm-size"));
    let out = Command::new(bin).arg(elf).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn firmware_in_qemu() {
    let missing = neurite_tests::qemu_tools_missing();
    if neurite_tests::skip_without_qemu("firmware QEMU tests", &missing) {
        return;
    }

    // 1. bit-identical training and inference: the Cortex-M4F (hard float) and the Cortex-M0
    //    (micro:bit, soft float, 16 KB of RAM) in QEMU against this x86-64 host
    let (adam, _) = adam_run(ADAM_STEPS);
    let (sgd, _) = sgd_run(SGD_EPOCHS);
    let (digits, correct) = digits_inference();
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        let out = run_ok(&["run", "--release", "--bin", "parity", "--target", target]);
        assert_eq!(field(&out, "parity adam "), format!("{adam:#018x}"), "{target}: Adam differs");
        assert_eq!(field(&out, "parity sgd "), format!("{sgd:#018x}"), "{target}: SGD differs");
        assert_eq!(
            field(&out, "parity digits "),
            format!("{digits:#018x}"),
            "{target}: digits outputs differ"
        );
        assert_eq!(field(&out, "correct "), correct.to_string());
        // the training runs keep everything on the stack: it must fit the M0's 16 KB of RAM
        // with room to spare (the statics of this binary are 16 bytes)
        for run in ["adam run ", "sgd run "] {
            let bytes: usize = field(&out, run).parse().expect("stack bytes");
            assert!((1024..8 * 1024).contains(&bytes), "{target}: {run}stack {bytes} bytes");
        }
    }

    // 2. the demo: fine-tuning behind a shifted sensor helps; the head and its optimiser are
    //    saved to flash (a file that outlives QEMU) as a model file, and a second QEMU process
    //    (a reboot) boots from it and resumes fine-tuning where the first stopped
    let flash = std::env::temp_dir().join(format!("neurite-demo-{}.flash", std::process::id()));
    let _ = std::fs::remove_file(&flash);
    let env = [("NEURITE_FLASH", flash.as_path())];
    let first = run_ok_with(&["run", "--release", "--bin", "demo"], &env);
    assert!(first.contains("boot: no saved head in flash (first boot)"), "{first}");
    assert!(first.contains("demo passed"), "{first}");
    check_demo_figures(&first);
    let saved = field(&first, "params fnv1a ").trim_end_matches(';').to_string();
    assert!(first.contains("flash slot 0 (seq 1): model file"), "{first}");
    let second = run_ok_with(&["run", "--release", "--bin", "demo"], &env);
    let len = neurite_firmware::saved::HEAD_FILE_LEN;
    assert!(
        second.contains(&format!(
            "boot: flash slot 0 (seq 1) holds a fine-tuned head, model file {len} bytes, params fnv1a {saved}:"
        )),
        "the reboot did not find the saved head:\n{second}"
    );
    assert!(second.contains("fine-tuning resumes at optimiser step 80"), "{second}");
    assert!(second.contains("(640 samples, 80 SGD steps, 160 in all)"), "{second}");
    assert!(second.contains("flash slot 1 (seq 2): model file"), "{second}");
    assert!(second.contains("demo passed"), "{second}");
    let saved_line = second.lines().find(|l| l.contains("saved the fine-tuned head")).unwrap();
    let resumed = field(saved_line, "params fnv1a ").trim_end_matches(';').to_string();
    // the flash the device left behind, read on the host: its newest record is a model file
    // the host's model loader reads, holding the head the host's own fine-tuning produces in
    // one process, the two runs back to back with one optimiser
    let image = std::fs::read(&flash).expect("the demo's flash file");
    let _ = std::fs::remove_file(&flash);
    check_device_flash(&image, &resumed);

    // 2b. the digits CNN from flash: the host's outputs bit for bit, reused buffers, and
    //     fine-tuning its classifier behind the shifted sensor helps
    let out = run_ok(&["run", "--release", "--bin", "cnn"]);
    let (cnn, cnn_correct) = neurite_firmware::parity::cnn_inference();
    assert_eq!(field(&out, "parity cnn "), format!("{cnn:#018x}"), "CNN outputs differ");
    assert_eq!(field(&out, "correct "), cnn_correct.to_string());
    assert!(out.contains("cnn passed"), "{out}");
    check_cnn_figures(&out);

    // 2b'. the digits MLP and CNN in int8 (packed DSP kernels, from flash): LiteRT's outputs
    //      byte for byte on the 80 inputs LiteRT ran, and on the 360 test rows the host's run
    //      of the same exported code; measured 1.98 and 6.54 instructions per MAC, stack 316
    //      and 1,628 bytes
    let out = run_ok(&["run", "--release", "--bin", "int8"]);
    macro_rules! host_accuracy {
        ($model:ident) => {{
            use neurite_firmware::digits::{LABELS, PIXELS, TEST_ROWS};
            use neurite_firmware::$model as m;
            let mut scratch = m::Scratch([0; m::SCRATCH]);
            TEST_ROWS
                .iter()
                .filter(|&&row| {
                    let pixels = &PIXELS[usize::from(row)];
                    let raw: [f32; 64] = core::array::from_fn(|k| f32::from(pixels[k]));
                    let (mut x, mut y) = ([0i8; 64], [0i8; 10]);
                    m::quantize(&raw, &mut x);
                    m::run(&x, &mut scratch, &mut y);
                    let label = usize::from(LABELS[usize::from(row)]);
                    neurite::kernel::reduce::argmax(&y.map(f32::from)) == label
                })
                .count()
        }};
    }
    for (label, right, flash) in [
        ("mlp", host_accuracy!(int8_mlp_model), 3320.0),
        ("cnn", host_accuracy!(int8_cnn_model), 2780.0),
    ] {
        assert!(out.contains(&format!("int8 {label}: 80 of 80 outputs equal LiteRT's")), "{out}");
        let line = format!("int8 {label} test accuracy: {right} of 360 rows");
        assert!(out.contains(&line), "device and host differ ({line}):\n{out}");
        let key = format!("int8 {label} inference: ");
        let rest = out.split(key.as_str()).nth(1).unwrap_or("");
        assert_eq!(number(rest, "; flash "), flash, "the README's flash figure");
    }
    // the README's figures
    assert!(out.contains("int8 mlp test accuracy: 352 of 360 rows"), "{out}");
    assert!(out.contains("int8 cnn test accuracy: 353 of 360 rows"), "{out}");
    assert!(per_mac(&out, "int8 mlp inference: ") <= 2.1, "{out}");
    assert!(per_mac(&out, "int8 cnn inference: ") <= 7.0, "{out}");
    assert!(number(&out, "int8 mlp inference stack: ") <= 500.0, "{out}");
    assert!(number(&out, "int8 cnn inference stack: ") <= 2000.0, "{out}");

    // 2c. the digits GRU streamed one row at a time: the host's outputs bit for bit, the same
    //     bits as the whole-sequence forward on the device; measured 5.21 instructions per
    //     MAC for a time step (20,023), stack 2,500 bytes
    let out = run_ok(&["run", "--release", "--bin", "gru"]);
    let (gru_hash, gru_correct) = neurite_firmware::parity::gru_inference(true);
    assert_eq!(field(&out, "parity gru "), format!("{gru_hash:#018x}"), "GRU outputs differ");
    assert_eq!(field(&out, "correct "), gru_correct.to_string());
    assert!(out.contains("whole sequence the same bits true"), "{out}");
    assert!(out.contains("gru passed"), "{out}");
    assert!(per_mac(&out, "instructions: one time step ") <= 6.0, "{out}");
    assert!(number(&out, "stack of a step ") <= 2800.0, "{out}");
    assert_eq!(number(&out, "the streaming state "), 128.0);

    // 2d. the activity GRU streaming from the simulated I2C accelerometer: streaming equals
    //     the whole-window forward on the device, the nominal part's, this unit's and the
    //     fine-tuned head's outputs equal the host's run of the same procedure bit for bit
    //     (hashes); measured 8.51 instructions per MAC for a time step (7,765), stack 1,396
    //     bytes, fine-tuning stack 5,496 bytes
    let out = run_ok(&["run", "--release", "--bin", "activity"]);
    {
        use neurite_firmware::activity::{accuracy, fine_tune, DEVICE, HEAD, TEST_WINDOWS};
        use neurite_firmware::sim::AccelCalibration;
        let nominal = accuracy(&HEAD, AccelCalibration::NOMINAL).unwrap();
        let before = accuracy(&HEAD, DEVICE).unwrap();
        let (tuned, report) = fine_tune(HEAD.clone(), DEVICE, |_, _| {}).unwrap();
        let after = accuracy(&tuned, DEVICE).unwrap();
        let whole = format!("whole window: {TEST_WINDOWS} of {TEST_WINDOWS}");
        assert!(out.contains(&whole), "{out}");
        for (key, score) in [
            ("nominal part: ", nominal),
            ("this unit, before: ", before),
            ("this unit, after: ", after),
        ] {
            let line = out.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("{out}"));
            let expected = format!("{} of {TEST_WINDOWS} hash {:#018x}", score.correct, score.hash);
            assert!(line.contains(&expected), "{key}: device {line}, host {expected}");
        }
        assert!(out.contains(&format!("steps {}", report.steps)), "{out}");
        assert!(out.contains("activity passed"), "{out}");
        assert!(per_mac(&out, "instructions: one time step ") <= 10.0, "{out}");
        assert!(number(&out, "stack of a step ") <= 1600.0, "{out}");
        assert!(number(&out, "fine-tuning stack ") <= 6500.0, "{out}");
    }

    // 3. Cortex-M0: the inference binary (accuracy as its exit status, the same outputs)
    let out = run_ok(&["run", "--release", "--bin", "inference", "--target", "thumbv6m-none-eabi"]);
    assert_eq!(
        field(&out, "parity digits "),
        format!("{digits:#018x}"),
        "Cortex-M0 outputs differ"
    );

    // 4. on-target tests (defmt-test)
    let out = run_ok(&["test", "--release"]);
    assert!(out.contains("all tests passed!"), "{out}");

    // 4b. a panic and a HardFault are reported and fail the run (exit status 1)
    for (bin, report) in [("panics", "panic: panicked at"), ("faults", "HardFault at pc")] {
        let (ok, text) = firmware_cargo(&["run", "--release", "--bin", bin], &[]);
        assert!(!ok, "{bin} exited with success:\n{text}");
        assert!(text.contains(report), "{bin} did not report '{report}':\n{text}");
        assert!(!text.contains("not reached"), "{text}");
    }

    // 5. flash and RAM of the binaries (llvm-size from rustup's llvm-tools, when installed)
    for (target, bin) in [
        ("thumbv7em-none-eabihf", "demo"),
        ("thumbv7em-none-eabihf", "cnn"),
        ("thumbv6m-none-eabi", "inference"),
        ("thumbv6m-none-eabi", "parity"),
    ] {
        let elf = firmware_dir().join("target").join(target).join("release").join(bin);
        match llvm_size(&elf) {
            Some(s) => println!("size of {target}/{bin}:\n{s}"),
            None => println!(
                "size of {target}/{bin}: llvm-size not found (rustup component add llvm-tools)"
            ),
        }
    }
}

/// Stack high-water mark of the whole soak run, in bytes: 12,540 measured (head, SGD
/// momentum, trainer, the 4-sample ring buffer and the evaluations, all on the stack; the
/// same after 1,000 steps as after 100,000), rounded up to 13 KB.
const SOAK_STACK_BUDGET: usize = 13 * 1024;
/// Static RAM (`.data`, `.bss`, `.uninit`) of the soak binary, in bytes: 20 measured, none of it
/// per step.
const SOAK_STATIC_BUDGET: usize = 64;
/// Checkpoint accuracy may drop this far (5 percentage points of the 360 test rows) below the
/// first checkpoint's.
const SOAK_ACCURACY_SLACK: u32 = 18;

/// The soak binary: the demo's on-device fine-tuning (samples one by one through the shifted
/// sensor, the head behind the frozen layers in flash, SGD with momentum, minibatches of 4)
/// for 100,000 optimiser steps: every checkpoint's parameters finite, no accuracy lost, the
/// stack and static RAM within budgets.
#[test]
fn soak_in_qemu() {
    let missing = neurite_tests::qemu_tools_missing();
    if neurite_tests::skip_without_qemu("firmware soak in QEMU", &missing) {
        return;
    }
    run_ok(&["build", "--release", "--bin", "soak"]);
    let start = std::time::Instant::now();
    let out = run_ok(&["run", "--release", "--bin", "soak"]);
    // measured 44.8 s (QEMU 7.2 on a loaded 2-core machine); not asserted
    println!("soak: {:.1} s in QEMU", start.elapsed().as_secs_f64());

    // one line per 10,000 steps: "soak checkpoint: step N, accuracy A/360, params finite B"
    // measured 328, 334, 342, 322, 342, 341, 345, 327, 349, 321 (of 360; the desktop model
    // gets 93 through this sensor, the demo's 80 steps 298)
    let checkpoints: Vec<(u32, u32, bool)> = out
        .lines()
        .filter_map(|l| l.split_once("soak checkpoint: ").map(|(_, rest)| rest))
        .map(|l| {
            let step = number(l, "step ") as u32;
            let acc = number(l, "accuracy ") as u32;
            (step, acc, field(l, "params finite ").trim_end_matches(',') == "true")
        })
        .collect();
    assert_eq!(checkpoints.len(), 10, "{out}");
    let first = checkpoints[0].1;
    for (i, &(step, acc, finite)) in checkpoints.iter().enumerate() {
        assert_eq!(step, 10_000 * (i as u32 + 1), "{out}");
        assert!(finite, "step {step}: a parameter is not finite\n{out}");
        assert!(acc + SOAK_ACCURACY_SLACK >= first, "step {step}: accuracy {acc}, first {first}");
    }
    assert!(first >= 298, "the first checkpoint is below the demo's 298/360:\n{out}");

    let result = out.lines().find(|l| l.contains("soak result: ")).expect("soak result line");
    assert!(result.trim_end().ends_with(" passed"), "{out}");
    assert!(number(result, "steps ") >= 100_000.0, "{result}");
    assert_eq!(field(result, "params_finite "), "true", "{result}");
    assert_eq!(number(result, "nonfinite_batches "), 0.0, "{result}");
    let stack = number(result, "stack ") as usize;
    assert!(stack <= SOAK_STACK_BUDGET, "stack high-water mark {stack} bytes: {result}");
    let statics = number(result, "static ") as usize;
    assert!(statics <= SOAK_STATIC_BUDGET, "static RAM {statics} bytes: {result}");
    let elf = firmware_dir().join("target/thumbv7em-none-eabihf/release/soak");
    if let Some(s) = llvm_size(&elf) {
        println!("size of thumbv7em-none-eabihf/soak:\n{s}");
    }
}

/// The flash image a demo run left: the newest A/B record is the fine-tuned head as a
/// version-2 model file, readable by the host, equal to the host's run of the same
/// fine-tuning (hash `want`).
fn check_device_flash(image: &[u8], want: &str) {
    use neurite_firmware::saved::{FLASH_BYTES, SLOT_BYTES};
    use neurite_firmware::sim::SimFlash;
    use neurite_firmware::storage::AbStore;
    let mut flash = SimFlash::<FLASH_BYTES>::new();
    assert_eq!(image.len(), flash.bytes.len(), "flash file size");
    flash.bytes.copy_from_slice(image);
    let mut store = AbStore::new(&mut flash, 0, SLOT_BYTES);
    let mut file = vec![0u8; SLOT_BYTES as usize];
    let rec = store.load(&mut file).unwrap().expect("a saved record");
    assert_eq!(rec.seq, 2);
    let host = neurite_host::model_io::SavedModel::from_bytes(&file[..rec.len]).unwrap();
    let values: Vec<f32> = host.model.tensors().iter().flat_map(|t| t.iter().copied()).collect();
    use neurite_firmware::ondevice::{fine_tune, new_optimizer, DEVICE, TUNE_SAMPLES};
    let rows = &neurite_firmware::digits::TRAIN_ROWS[..TUNE_SAMPLES];
    let mut opt = new_optimizer().unwrap();
    let (first, _) =
        fine_tune(neurite_firmware::budget::HEAD.clone(), &mut opt, DEVICE, rows, |_, _| {})
            .unwrap();
    let (tuned, _) = fine_tune(first, &mut opt, DEVICE, rows, |_, _| {}).unwrap();
    let host_hash = neurite_firmware::parity::hash_params(&tuned);
    assert_eq!(
        format!("{host_hash:#018x}"),
        want,
        "the device's fine-tuning differs from the host's"
    );
    assert_eq!(neurite_firmware::parity::fnv1a(values), host_hash, "the file's parameters");
}

/// The number after `key` (up to the next space, `/`, a parenthesis or `,`).
fn number(text: &str, key: &str) -> f64 {
    let v = field(text, key);
    let v = v.split(['/', '(', ')', ',']).next().unwrap_or(v);
    v.parse().unwrap_or_else(|_| panic!("'{key}' is followed by '{v}', not a number:\n{text}"))
}

/// The figure in parentheses after `key`: "(N.NN per parameter)".
fn per_parameter(text: &str, key: &str) -> f64 {
    let (_, rest) = text.split_once(key).unwrap_or_else(|| panic!("no '{key}' in:\n{text}"));
    let inner = rest.split_once('(').and_then(|(_, r)| r.split_once(" per parameter"));
    inner.and_then(|(n, _)| n.parse().ok()).unwrap_or_else(|| panic!("no figure after '{key}'"))
}

/// `(instructions per MAC)` after `key`: the figure in parentheses, "N.NN per MAC".
fn per_mac(text: &str, key: &str) -> f64 {
    let line = text.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("no '{key}'"));
    let before = line.split(" per MAC").next().unwrap();
    before.rsplit([' ', '(']).next().unwrap().parse().expect("per-MAC figure")
}

/// The demo's printed figures: accuracies equal to the host's run of the same procedure (bit
/// for bit the same arithmetic), the compile-time RAM figures the READMEs quote, and the
/// instruction and stack figures within budgets (they depend on the compiler version, so
/// they are bounded, not pinned; the READMEs quote a measured run).
fn check_demo_figures(out: &str) {
    use neurite_firmware::budget::{FINE_TUNE, HEAD, INFERENCE};
    use neurite_firmware::ondevice::{self, DEVICE, TUNE_SAMPLES};
    let before = ondevice::accuracy_through_sensor(&HEAD, DEVICE).unwrap();
    let rows = &neurite_firmware::digits::TRAIN_ROWS[..TUNE_SAMPLES];
    let mut opt = ondevice::new_optimizer().unwrap();
    let (tuned, _) = ondevice::fine_tune(HEAD.clone(), &mut opt, DEVICE, rows, |_, _| {}).unwrap();
    let after = ondevice::accuracy_through_sensor(&tuned, DEVICE).unwrap();
    assert_eq!((before, after), (93, 298), "the host's run of the demo's procedure");
    assert_eq!(number(out, "counts): accuracy "), f64::from(before));
    assert_eq!(number(out, "in all): accuracy "), f64::from(after));
    assert_eq!(number(out, "inference 296 bytes of buffers, weights "), 19240.0);
    assert_eq!(INFERENCE.buffers, 296);
    assert_eq!(
        (
            FINE_TUNE.ram(),
            FINE_TUNE.params,
            FINE_TUNE.grads,
            FINE_TUNE.optimizer,
            FINE_TUNE.buffers
        ),
        (8464, 2600, 2600, 2624, 640)
    );
    assert_eq!(number(out, "RAM (compile time): fine-tuning "), FINE_TUNE.ram() as f64);
    // measured 3.24, 4.69 and 4.21 instructions per MAC, 183,105 for an Adam step at step 3
    // (4.99, 6.74 and about 277,000 before the weight gradients and SGD's step went through
    // `add_scaled` / `sub_scaled`'s 8-element blocks and Adam resolved its options once per
    // call); the full SGD step is 2.77 inferences (the target: at most 3)
    assert!(per_mac(out, "instructions: inference ") <= 3.5, "{out}");
    assert!(per_mac(out, "instructions: fine-tuning step") <= 5.0, "{out}");
    assert!(per_mac(out, "instructions: full training step") <= 4.6, "{out}");
    assert!(number(out, "Adam ") <= 200_000.0, "{out}");
    let ratio = number(out, "all 4810 parameters: SGD ") / number(out, "instructions: inference ");
    assert!(ratio <= 3.0, "a training step costs {ratio} inferences:\n{out}");
    // the update alone: SGD 1.65 and Adam 30.90 instructions per parameter at step 4 (the
    // issue's target for Adam, 30, is not met: 27.3 of them are the update, 3.6 the step's
    // two bias corrections, `pow` in software double precision, about 17,400 instructions)
    assert!(per_parameter(out, "update alone, 4810 parameters: SGD ") <= 2.0, "{out}");
    assert!(per_parameter(out, "per parameter), Adam ") <= 33.0, "{out}");
    // an Adam step of the 67-parameter MLP at step 3: 20,354, nearly all of it the bias
    // corrections (libm's `pow` returns early at steps 1 and 2: 3,279 there)
    assert!(number(out, "(67 parameters, 4 tensors) ") <= 23_000.0, "{out}");
    // measured 1,252 (forward), 768 (forward_buffered), 1,380 and 1,348 bytes
    assert!(number(out, "stack: inference ") <= 1400.0, "{out}");
    assert!(number(out, "(forward_buffered ") <= 900.0, "{out}");
    assert!(number(out, "), fine-tuning step ") <= 1536.0, "{out}");
    assert!(number(out, "full training step (SGD) ") <= 1536.0, "{out}");
}

/// The CNN binary's printed figures, as [`check_demo_figures`].
fn check_cnn_figures(out: &str) {
    use neurite_firmware::cnn::{self, HEAD};
    use neurite_firmware::ondevice::{DEVICE, TUNE_SAMPLES};
    let before = cnn::accuracy_through_sensor(&HEAD, DEVICE).unwrap();
    let rows = &neurite_firmware::digits::TRAIN_ROWS[..TUNE_SAMPLES];
    let (tuned, _) = cnn::fine_tune(HEAD.clone(), DEVICE, rows, |_, _| {}).unwrap();
    let after = cnn::accuracy_through_sensor(&tuned, DEVICE).unwrap();
    assert_eq!((before, after), (86, 269), "the host's run of the CNN's procedure");
    assert_eq!(number(out, "counts): accuracy "), f64::from(before));
    assert_eq!(number(out, "SGD steps): accuracy "), f64::from(after));
    assert_eq!(number(out, "two reused activation buffers "), 8192.0);
    assert_eq!(number(out, "every intermediate kept: "), cnn::INTERMEDIATES as f64);
    assert_eq!(number(out, "inference buffers in all "), cnn::INFERENCE.buffers as f64);
    assert_eq!(cnn::INFERENCE.buffers, 8488);
    // measured 11.24 instructions per MAC (32.61 before the convolution summed 8 output
    // channels side by side); stack 1,064 bytes with reused buffers, 15,284 with the chain's
    // own (at least the intermediates' 14,336)
    assert!(per_mac(out, "instructions: inference ") <= 12.0, "{out}");
    assert!(number(out, "with reused buffers ") <= 1280.0, "{out}");
    // the convolutions packed: the same outputs on every test row; measured 4.42
    // instructions per MAC for the whole inference, 2.28 for the second convolution alone
    // (9.25 row-major), stack 1,264 bytes
    let (cnn_hash, _) = neurite_firmware::parity::cnn_inference();
    assert_eq!(field(out, "parity cnn packed "), format!("{cnn_hash:#018x}"));
    assert!(out.contains("same bits true"), "{out}");
    assert!(per_mac(out, "packed convolutions: inference ") <= 5.2, "{out}");
    let conv2 = out.lines().find(|l| l.contains("second convolution")).unwrap();
    let packed_conv2 = conv2.split("), packed ").nth(1).unwrap();
    assert!(per_mac(packed_conv2, "") <= 2.5, "{out}");
    assert!(number(out, "per MAC), stack ") <= 1280.0, "{out}");
    assert!(number(out, "with the chain's own buffers ") >= cnn::INTERMEDIATES as f64, "{out}");
}

/// The functions `elf`'s disassembly (llvm-objdump from rustup's llvm-tools) shows, each
/// with the symbols it branches or calls to (its own name excluded).
fn call_graph(elf: &Path) -> Option<std::collections::HashMap<String, Vec<String>>> {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
    let sysroot = String::from_utf8(sysroot.stdout).ok()?;
    let version = Command::new("rustc").arg("-vV").output().ok()?;
    let version = String::from_utf8(version.stdout).ok()?;
    let host = version.lines().find_map(|l| l.strip_prefix("host: "))?;
    let objdump = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/bin/llvm-objdump"));
    let out =
        Command::new(objdump).args(["-d", "--no-show-raw-insn", "-C"]).arg(elf).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut graph = std::collections::HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        // `00001234 <name>:` starts a function
        if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")).map(|(_, n)| n)
        {
            current = Some(name.to_string());
            graph.entry(name.to_string()).or_insert_with(Vec::new);
            continue;
        }
        // a branch or call to `<target+offset>` or `<target>`
        let Some(f) = &current else { continue };
        let Some((_, rest)) = line.split_once('<') else { continue };
        let target = rest.split(['>', '+']).next().unwrap_or("");
        let is_branch = line.split_whitespace().nth(1).is_some_and(|op| op.starts_with('b'));
        if is_branch && !target.is_empty() && target != f.as_str() {
            if let Some(calls) = graph.get_mut(f.as_str()) {
                calls.push(target.to_string());
            }
        }
    }
    Some(graph)
}

/// The core's checked inference and a fine-tuning step (`firmware/src/bin/no_panic.rs`) reach
/// no panic in the release build: no function reachable from its `main` calls one.
#[test]
fn inference_and_fine_tuning_reach_no_panic() {
    let missing = neurite_tests::qemu_tools_missing();
    if neurite_tests::skip_without_qemu("firmware no-panic check", &missing) {
        return;
    }
    run_ok(&["run", "--release", "--bin", "no_panic"]);
    let elf = firmware_dir().join("target/thumbv7em-none-eabihf/release/no_panic");
    let graph = call_graph(&elf).expect("llvm-objdump (rustup component add llvm-tools)");
    let main =
        graph.keys().find(|k| k.starts_with("no_panic::__cortex_m_rt_main")).expect("main").clone();
    let (mut seen, mut todo) = (std::collections::HashSet::new(), vec![main.clone()]);
    while let Some(f) = todo.pop() {
        if !seen.insert(f.clone()) {
            continue;
        }
        // the exit through semihosting ends the run; it is not the core's path
        if f.starts_with("cortex_m_semihosting::") || f.contains("target::exit") {
            continue;
        }
        todo.extend(graph.get(&f).into_iter().flatten().cloned());
    }
    let panics: Vec<&String> = seen.iter().filter(|f| f.starts_with("core::panicking::")).collect();
    assert!(panics.is_empty(), "{main} reaches {panics:?}; reached: {seen:?}");
    assert!(seen.len() > 3, "the walk found the calls: {seen:?}");
}

/// Deep Q-learning trains on the Cortex-M4F (`firmware/src/bin/dqn.rs`): the host's cart-pole
/// agent with a replay of `DEVICE_REPLAY` transitions learns in QEMU until the last 100
/// episodes average 195, its greedy policy averages at least 195 over 100 new episodes, and
/// every figure and the trained Q-network's hash equal the host's run of the same seeds bit
/// for bit; the whole run's RAM (stack high-water mark, the agent being on the stack, plus
/// static RAM) stays within `DQN_RAM_BUDGET`.
#[test]
fn dqn_trains_in_qemu_to_the_hosts_bits() {
    use neurite_firmware::dqn::{Agent, DQN_RAM_BUDGET, ENV_SEED, INIT_SEED, LR, MAX_STEPS};
    let missing = neurite_tests::qemu_tools_missing();
    if neurite_tests::skip_without_qemu("DQN training in QEMU", &missing) {
        return;
    }
    // the host's run first (about 10 s), then the device's (QEMU's timeout raised: minutes)
    let opt = neurite::rl::cartpole_adam(LR).expect("Adam");
    let mut agent: Box<Agent> = Box::new(neurite::rl::cartpole_agent(INIT_SEED, opt));
    let host = neurite::rl::cartpole_run_device(&mut agent, ENV_SEED, MAX_STEPS, &mut |_, _| {})
        .expect("host run");
    let hash = neurite_firmware::parity::hash_params(&agent.q);
    eprintln!("host: {host:?} {hash:#018x}");
    assert!(host.last_100 >= 195.0 && host.greedy >= 195.0, "{host:?}");

    let timeout = PathBuf::from("1500");
    let out =
        run_ok_with(&["run", "--release", "--bin", "dqn"], &[("NEURITE_QEMU_TIMEOUT", &timeout)]);
    assert_eq!(field(&out, "parity dqn "), format!("{hash:#018x}"), "the Q-networks differ");
    assert_eq!(field(&out, "episodes "), host.episodes.to_string());
    assert_eq!(field(&out, "steps "), host.steps.to_string());
    assert_eq!(field(&out, "updates "), host.updates.to_string());
    let bits = |key: &str| field(&out, key).parse::<f32>().expect("a number").to_bits();
    assert_eq!(bits("last_100 "), host.last_100.to_bits());
    assert_eq!(bits("greedy "), host.greedy.to_bits());
    let ram = number(&out, "stack high-water mark ") + number(&out, "static RAM ");
    assert!(ram <= DQN_RAM_BUDGET as f64, "{ram} bytes of RAM:\n{out}");
    assert!(out.contains("dqn passed"), "{out}");
}
