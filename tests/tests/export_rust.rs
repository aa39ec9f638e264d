//! `neurite export --rust` writes a module that compiles against the core and computes
//! bit-identical outputs: a program built from the export (trybuild `pass`) checks them.

use neurite::init::LayerInit;
use neurite::model_file::Task;
use neurite::rng::Rng;
use neurite_host::dynamic::{parse_spec, DynModel};
use neurite_host::export::rust_module;
use neurite_host::model_io::SavedModel;
use std::fmt::Write as _;

#[test]
fn exported_module_compiles_and_matches_bit_for_bit() {
    let spec = "dense(6),gelu,dense(5),prelu(channel),leaky_relu(0.2),dense(5),softplus(2,3),dense(3),log_softmax";
    let mut model = DynModel::build(&parse_spec(spec).unwrap(), &[4]).unwrap();
    model.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(5));
    for (i, a) in model.layers[3].params_mut()[0].iter_mut().enumerate() {
        *a = 0.1 * i as f32 - 0.15;
    }
    let saved = SavedModel {
        model,
        task: Task::Classification,
        means: vec![1.0, 2.0, 3.0, 4.0],
        stds: vec![0.5, 1.5, 2.5, 3.5],
        target_mean: 0.0,
        target_std: 1.0,
        columns: Vec::new(),
    };
    let module = rust_module(&saved, "a test model").unwrap();
    let mut rng = Rng::new(9);
    let xs: Vec<Vec<f32>> = (0..5).map(|_| (0..4).map(|_| 2.0 * rng.normal()).collect()).collect();
    let mut program =
        format!("mod exported {{\n{module}\n}}\n\nuse neurite::layer::Layer;\n\nfn main() {{\n");
    program += "    let model: exported::Model = exported::MODEL;\n";
    program += "    assert_eq!(exported::INPUT_MEAN, [1.0, 2.0, 3.0, 4.0]);\n";
    for x in &xs {
        let want: Vec<u32> = saved.model.forward(x).iter().map(|v| v.to_bits()).collect();
        let _ = writeln!(
            program,
            "    {{ let mut y = [0.0f32; 3]; model.forward(&{x:?}, &mut y); assert_eq!(y.map(f32::to_bits), {want:?}); }}"
        );
    }
    program += "}\n";
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("export_check.rs");
    std::fs::write(&path, program).unwrap();
    trybuild::TestCases::new().pass(&path);
}
