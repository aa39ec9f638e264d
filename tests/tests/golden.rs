//! PyTorch golden parity: every case in `tests/golden/` and, when set, in
//! `$NEURITE_GOLDEN_DIR` (cases from elsewhere in the same format must pass unchanged).

use neurite_tests::golden::{run_case_report, run_value, run_value_report, Tolerance};
use serde_json::json;
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

/// What the committed cases must also be: named after their file, from a recorded PyTorch,
/// at the tolerance measured for them (`tests/golden_tolerances.json`), comparing every value
/// of their `expect`.
fn check_shipped(path: &Path, case: &serde_json::Value, values: usize) -> Result<(), String> {
    static MEASURED: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let measured = MEASURED.get_or_init(|| {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden_tolerances.json");
        serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON")
    });
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if case["name"] != json!(stem) {
        return Err(format!("'name' is {}, the file is {stem}", case["name"]));
    }
    if !case["torch_version"].is_string() {
        return Err("no 'torch_version'".into());
    }
    if case["tolerance"] != measured[stem] {
        return Err(format!(
            "tolerance {} is not the measured {} (tests/golden_tolerances.json)",
            case["tolerance"], measured[stem]
        ));
    }
    let expected = numbers_in(&case["expect"]);
    if values != expected {
        return Err(format!("{values} values compared of the {expected} in 'expect'"));
    }
    Ok(())
}

/// What a directory of cases held: how many, the values compared, and (shipped cases only)
/// every `torch_version` recorded, one entry per case.
struct Totals {
    cases: usize,
    values: usize,
    torch_versions: Vec<String>,
}

fn run_dir(dir: &Path, shipped: bool) -> Totals {
    let cases = cases_in(dir);
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());
    let mut failures = Vec::new();
    let mut checks = 0;
    let mut torch_versions = Vec::new();
    for case in &cases {
        // read and parse once: the run and the shipped-case checks share the value
        let outcome = std::fs::read_to_string(case)
            .map_err(|e| format!("read: {e}"))
            .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("JSON: {e}")))
            .and_then(|value: serde_json::Value| {
                let n = run_value(&value)?;
                if shipped {
                    check_shipped(case, &value, n)?;
                    torch_versions.push(value["torch_version"].as_str().unwrap_or("").to_owned());
                }
                Ok(n)
            });
        match outcome {
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
    Totals { cases: cases.len(), values: checks, torch_versions }
}

/// The totals README.md ("PyTorch parity") and tests/README.md state: change them there
/// when cases are added or removed.
const SHIPPED_CASES: usize = 130;
const SHIPPED_VALUES: usize = 37_946;
/// Of them, written by `generate_layers.py` (the `layer_*` cases); the rest by `generate.py`.
const SHIPPED_LAYER_CASES: usize = 62;
/// The PyTorch release the READMEs say wrote the committed cases.
const SHIPPED_TORCH: &str = "2.15.0";

#[test]
fn shipped_golden_cases_match_pytorch() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let totals = run_dir(&dir, true);
    assert_eq!(totals.cases, SHIPPED_CASES, "shipped cases (the READMEs state {SHIPPED_CASES})");
    assert_eq!(
        totals.values, SHIPPED_VALUES,
        "values compared (the READMEs state {SHIPPED_VALUES})"
    );
    let layer_cases = cases_in(&dir)
        .iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("layer_")))
        .count();
    assert_eq!(layer_cases, SHIPPED_LAYER_CASES, "layer_* cases (README.md states 62 + 68)");
    // one PyTorch wrote them all, and it is the one the READMEs name
    let first = &totals.torch_versions[0];
    assert!(
        totals.torch_versions.iter().all(|v| v == first),
        "the shipped cases record different torch_versions: {:?}",
        totals.torch_versions.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert!(
        first.starts_with(SHIPPED_TORCH)
            && !first[SHIPPED_TORCH.len()..].starts_with(|c: char| c.is_ascii_digit()),
        "the shipped cases record torch_version {first}, the READMEs say {SHIPPED_TORCH}"
    );
}

#[test]
fn external_golden_cases_match_pytorch() {
    match std::env::var_os("NEURITE_GOLDEN_DIR") {
        Some(dir) => {
            run_dir(Path::new(&dir), false);
        }
        None => println!("NEURITE_GOLDEN_DIR not set: no external golden cases"),
    }
}

/// The tolerance `text` states right after `lead`, written "rel R, abs A".
fn stated_tolerance(text: &str, lead: &str) -> Tolerance {
    let at = text.find(lead).unwrap_or_else(|| panic!("'{lead}' not found")) + lead.len();
    let words: Vec<&str> = text[at..].split_whitespace().take(4).collect();
    let number = |w: &str| -> f32 {
        let w = w.trim_end_matches([',', ')', ';', '.']);
        w.parse().unwrap_or_else(|e| panic!("'{w}' after '{lead}': {e}"))
    };
    match words.as_slice() {
        ["rel", rel, "abs", abs] => Tolerance { rel: number(rel), abs: number(abs) },
        other => panic!("after '{lead}': {other:?}, not 'rel R, abs A'"),
    }
}

/// docs/DESIGN.md ("(both `rel` and `abs`; default rel 1e-4, abs 1e-5)") and tests/README.md
/// ("the format's default (rel 1e-4, abs 1e-5)") state the tolerance of a case without one:
/// the runner's default is that, and a case that leaves it out is held to it.
#[test]
fn the_default_tolerance_is_the_documented_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (file, lead) in
        [("docs/DESIGN.md", "`abs`; default"), ("tests/README.md", "the format's default (")]
    {
        let text = std::fs::read_to_string(root.join(file)).expect("read the document");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(Tolerance::DEFAULT, stated_tolerance(&text, lead), "the default {file} states");
    }
    let mut case = good_case();
    case.as_object_mut().unwrap().remove("tolerance");
    let report = run_value_report(&case, None).expect("the good case passes at the default");
    assert_eq!(report.tolerance, Tolerance::DEFAULT, "a case without a tolerance");
}

/// A small committed case, parsed, to derive broken cases from.
fn good_case() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/act_relu_ce_adam.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read the case")).expect("JSON")
}

/// `edit` applied to the good case must make the runner fail with a message containing `why`.
fn rejected(edit: impl FnOnce(&mut serde_json::Value), why: &str) {
    let mut case = good_case();
    edit(&mut case);
    match run_value(&case) {
        Ok(n) => panic!("accepted a case that should fail with '{why}' ({n} values compared)"),
        Err(e) => assert!(e.contains(why), "failed with '{e}', expected '{why}'"),
    }
}

/// Numbers in a JSON value, nested lists and objects included.
fn numbers_in(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Number(_) => 1,
        serde_json::Value::Array(a) => a.iter().map(numbers_in).sum(),
        serde_json::Value::Object(o) => o.values().map(numbers_in).sum(),
        _ => 0,
    }
}

#[test]
fn every_expected_value_is_compared() {
    let case = good_case();
    let n = run_value(&case).expect("the good case passes");
    assert_eq!(n, numbers_in(&case["expect"]), "values compared");
}

#[test]
fn a_case_that_checks_nothing_is_rejected() {
    rejected(|c| c["expect"] = json!({}), "missing 'output'");
    for key in ["output", "loss", "input_grad", "grads", "params"] {
        rejected(
            |c| {
                c["expect"].as_object_mut().unwrap().remove(key);
            },
            &format!("missing '{key}'"),
        );
    }
}

#[test]
fn misspelled_keys_are_rejected() {
    let rename = |from: &'static str, to: &'static str| {
        move |c: &mut serde_json::Value| {
            let e = c["expect"].as_object_mut().unwrap();
            let v = e.remove(from).unwrap();
            e.insert(to.into(), v);
        }
    };
    rejected(rename("output", "outputs"), "unknown key 'outputs'");
    rejected(rename("loss", "losses"), "unknown key 'losses'");
    rejected(|c| c["stpes"] = json!(3), "unknown key 'stpes'");
    rejected(|c| c["tolerance"] = json!({"rell": 1e-4, "abs": 1e-5}), "unknown key 'rell'");
    rejected(|c| c["expect"]["grads"][0]["wieght"] = json!([1.0]), "unknown key 'wieght'");
    rejected(
        |c| {
            c["expect"]["params"][2].as_object_mut().unwrap().remove("bias");
        },
        "missing 'bias'",
    );
    rejected(|c| c["expect"]["buffers"] = json!([null, null, null]), "has no buffers");
    rejected(|c| c["expect"]["input_grad"] = json!(null), "input_grad is null");
}

#[test]
fn the_loss_list_must_have_one_entry_per_step() {
    rejected(|c| c["expect"]["loss"] = json!(1.0986), "must be a list");
    rejected(
        |c| c["expect"]["loss"].as_array_mut().unwrap().push(json!(0.5)),
        "4 entries for 3 steps",
    );
    rejected(
        |c| c["expect"]["loss"].as_array_mut().unwrap().pop().map(drop).unwrap_or(()),
        "2 entries for 3 steps",
    );
    rejected(|c| c["expect"]["loss"][0] = json!([1.0]), "one number");
    rejected(|c| c["steps"] = json!(0), "positive integer");
}

#[test]
fn unknown_layer_loss_and_optimizer_options_are_rejected() {
    rejected(|c| c["model"][1]["inplace"] = json!(true), "unknown key 'inplace'");
    rejected(|c| c["model"][0]["activation"] = json!("relu"), "unknown key 'activation'");
    rejected(|c| c["model"][0]["bias_init"] = json!([0.0]), "unknown tensor 'bias_init'");
    rejected(|c| c["loss"]["ignore_index"] = json!(-100), "unknown key 'ignore_index'");
    rejected(|c| c["loss"]["reduction"] = json!(5), "must be a string");
    rejected(|c| c["loss"]["name"] = json!("cross_entropyy"), "unknown loss 'cross_entropyy'");
    rejected(|c| c["optimizer"]["betas2"] = json!(0.9), "unknown key 'betas2'");
    rejected(|c| c["optimizer"]["amsgrad"] = json!("yes"), "must be true or false");
    rejected(|c| c["y"][0] = json!(-1), "not a non-negative integer");
    rejected(|c| c["y"][0] = json!(1.5), "not a non-negative integer");
    rejected(|c| c["optimizer"]["foreach"] = json!("no"), "must be true or false");
    rejected(|c| c["x"][0][0] = json!("0.5"), "is not a number");
    rejected(|c| c["tolerance"] = json!({"rel": "inf", "abs": 1e-5}), "finite");
    rejected(|c| c["tolerance"] = json!({"rel": 1e-4}), "missing 'abs'");
    rejected(|c| c["input_shape"] = json!([4.5]), "not a positive integer");
    rejected(|c| c["comment"] = json!(3), "must be a string");
}

#[test]
fn a_composite_layer_takes_no_tensors_of_its_own() {
    // A residual around the first dense layers' output; its own 'shortcut' list is no tensor
    // of a residual (it would have been stored and never looked at).
    rejected(
        |c| {
            let relu = json!({"layer": "residual", "body": [{"layer": "relu"}], "shortcut": [1.0]});
            c["model"].as_array_mut().unwrap().insert(1, relu);
        },
        "unknown key 'shortcut'",
    );
}

/// Measures how closely every shipped case agrees with PyTorch and prints the tightest
/// tolerance that holds for each (`cargo test -p neurite-tests --test golden -- --ignored
/// --nocapture measure`). With `NEURITE_GOLDEN_TOLERANCES=FILE` it writes them as JSON
/// (`{case name: {"rel": .., "abs": ..}}`), the file the generators read.
#[test]
#[ignore = "a measurement: prints the agreement of every case"]
fn measure_agreement() {
    let loose = Tolerance { rel: 1.0, abs: 1.0 };
    let mut table = serde_json::Map::new();
    for case in cases_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")) {
        let r = run_case_report(&case, Some(loose))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let tol = r.agreement.tightest();
        let worst = r.agreement.errors.iter().map(|e| e.0).fold(0.0, f64::max);
        println!(
            "{name:55} max abs error {worst:8.1e}, rel with abs 0: {:8.1e} -> rel {:.0e} abs {:.0e}",
            r.agreement.rel_needed(0.0),
            tol.rel,
            tol.abs
        );
        // f32 -> shortest decimal -> f64, so the file says 4e-7 rather than 4.0000000467e-7
        let exact = |x: f32| x.to_string().parse::<f64>().expect("a number");
        table.insert(name, json!({"rel": exact(tol.rel), "abs": exact(tol.abs)}));
    }
    if let Some(path) = std::env::var_os("NEURITE_GOLDEN_TOLERANCES") {
        let text = serde_json::to_string_pretty(&table).expect("JSON") + "\n";
        std::fs::write(&path, text).expect("write the tolerances");
    }
}
