//! `neurite export --rust` writes a module that compiles against the core and computes
//! bit-identical outputs: a program built from the export (trybuild `pass`) checks them, for
//! dense models and for convolutional ones (conv, batch norm with running statistics,
//! pooling in 2-D and 1-D, residual and concat blocks, transposed convolutions, activations
//! over shaped samples, flatten, graph convolutions and their readout).

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
    for packed in [false, true] {
        let module = if packed {
            neurite_host::export::rust_module_packed(&saved, "a test model").unwrap()
        } else {
            rust_module(&saved, "a test model").unwrap()
        };
        assert_eq!(module.contains("PackedDense<4, 6, 1>"), packed);
        check_dense_program(
            &saved,
            &module,
            if packed { "export_check_packed" } else { "export_check" },
        );
    }
}

/// Builds and runs a program that computes the exported `module`'s outputs on 5 samples and
/// asserts they are `saved`'s, bit for bit.
fn check_dense_program(saved: &SavedModel, module: &str, name: &str) {
    let mut rng = Rng::new(9);
    let xs: Vec<Vec<f32>> = (0..5).map(|_| (0..4).map(|_| 2.0 * rng.normal()).collect()).collect();
    let mut program =
        format!("mod exported {{\n{module}\n}}\n\nuse neurite::layer::Infer;\n\nfn main() {{\n");
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
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.rs"));
    std::fs::write(&path, program).unwrap();
    trybuild::TestCases::new().pass(&path);
}

/// A flat row-major sample of `shape` as a nested array literal (`[[[1.0, 2.0]]]`).
fn nested(x: &[f32], shape: &[usize]) -> String {
    match shape {
        [] | [_] => format!("{x:?}"),
        [n, rest @ ..] => {
            let rows: Vec<String> = x.chunks(x.len() / n).map(|r| nested(r, rest)).collect();
            format!("[{}]", rows.join(", "))
        }
    }
}

/// A program that runs the exported module on `xs` (flat samples of the model's input shape)
/// and asserts the output bits are the runtime-shaped model's (eval mode).
fn check_program(saved: &SavedModel, xs: &[Vec<f32>]) -> String {
    let module = rust_module(saved, "a test model").unwrap();
    let shape = saved.model.input_shape();
    let outputs = saved.model.output_shape().iter().product::<usize>();
    let mut program =
        format!("mod exported {{\n{module}\n}}\n\nuse neurite::layer::Infer;\n\nfn main() {{\n");
    for x in xs {
        let want: Vec<u32> = saved.model.forward(x).iter().map(|v| v.to_bits()).collect();
        assert_eq!(want.len(), outputs);
        let _ = writeln!(
            program,
            "    {{ let x = {}; let mut y = [0.0f32; {outputs}]; exported::MODEL.forward(&x, &mut y); assert_eq!(y.map(f32::to_bits), {want:?}); }}",
            nested(x, shape)
        );
    }
    program += "}\n";
    program
}

fn saved(model: DynModel) -> SavedModel {
    SavedModel {
        model,
        task: Task::Classification,
        means: vec![],
        stds: vec![],
        target_mean: 0.0,
        target_std: 1.0,
        columns: vec![],
    }
}

/// Every tensor and buffer set to random values (variances positive).
fn randomise(model: &mut DynModel, rng: &mut Rng) {
    for t in model.tensors_mut() {
        t.iter_mut().for_each(|v| *v = 0.5 * rng.normal());
    }
    for (i, b) in model.buffers_mut().into_iter().enumerate() {
        let var = i % 2 == 1;
        b.iter_mut()
            .for_each(|v| *v = if var { rng.uniform_range(0.5, 2.0) } else { 0.3 * rng.normal() });
    }
}

fn random_inputs(model: &DynModel, n: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    let len: usize = model.input_shape().iter().product();
    (0..n).map(|_| (0..len).map(|_| 1.5 * rng.normal()).collect()).collect()
}

fn write(name: &str, program: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, program).unwrap();
    path
}

#[test]
fn exported_cnn_compiles_and_matches_bit_for_bit() {
    let spec = "conv2d(4,3,padding=1),batchnorm2d,relu,maxpool2d(2),\
                residual(conv2d(4,3,padding=1),relu),flatten,dense(10)";
    let mut model = DynModel::build(&parse_spec(spec).unwrap(), &[1, 8, 8]).unwrap();
    model.init(&LayerInit::HE_RELU, &mut Rng::new(5));
    let mut rng = Rng::new(7);
    {
        let mut buffers = model.buffers_mut();
        assert_eq!(buffers.len(), 2);
        buffers[0].iter_mut().for_each(|m| *m = 0.3 * rng.normal());
        buffers[1].iter_mut().for_each(|v| *v = rng.uniform_range(0.5, 2.0));
    }
    for t in model.layers[1].params_mut() {
        t.iter_mut().for_each(|v| *v += 0.2 * rng.normal());
    }
    let saved = saved(model);
    let module = rust_module(&saved, "a test model").unwrap();
    for ty in ["Conv2d<1, 8, 8, 4, 8, 8, 3, 3, 1, 1>", "BatchNorm2d<4, 8, 8>", "Residual<"] {
        assert!(module.contains(ty), "{ty} missing from\n{module}");
    }
    let xs = random_inputs(&saved.model, 5, &mut rng);
    let path = write("export_cnn_check.rs", &check_program(&saved, &xs));
    trybuild::TestCases::new().pass(&path);
}

/// The rest of the typed family: a non-square kernel, batch norm with non-default `eps` and
/// `momentum` and over `[C, L]` and `[F]`, average and global pooling, `ActOn` over images
/// and sequences, layer norm, `conv1d` with stride and padding, `Flatten1d`; dropout is left
/// out.
#[test]
fn exported_conv_family_compiles_and_matches_bit_for_bit() {
    let cases: [(&str, &[usize]); 6] = [
        (
            "conv2d(3,3x2,padding=1),batchnorm2d(eps=0.001,momentum=0.2),gelu,\
             avgpool2d(2,stride=1),residual(conv2d(3,3,padding=1),tanh),global_avg_pool,\
             layernorm,dense(4),batchnorm1d,elu,dropout(0.5),softmax",
            &[2, 6, 6],
        ),
        ("conv1d(3,3,stride=2,padding=1),batchnorm1d,leaky_relu(0.2),flatten,dense(3)", &[2, 10]),
        (
            "conv2d(4,3,padding=1),relu,concat(maxpool2d(2),conv2d(4,3,padding=1),relu,\
             conv_transpose2d(4,2,stride=2)),conv_transpose2d(2,3,stride=2,padding=1,\
             output_padding=1),flatten,dense(3)",
            &[1, 8, 8],
        ),
        (
            "conv1d(3,3,padding=1),maxpool1d(3,stride=2,padding=1),avgpool1d(2),flatten,dense(2)",
            &[2, 9],
        ),
        (
            "conv2d(4,3,padding=1,groups=2),relu,conv2d(4,3,stride=2,padding=1,groups=4),\
             conv2d(6,1),flatten,dense(3)",
            &[2, 6, 6],
        ),
        // a random weighted directed graph (the adjacency is a buffer)
        ("gcn_conv(4),relu,gcn_conv(3),tanh,graph_mean_pool,dense(2)", &[5, 3]),
    ];
    let t = trybuild::TestCases::new();
    for (i, (spec, shape)) in cases.into_iter().enumerate() {
        let mut model = DynModel::build(&parse_spec(spec).unwrap(), shape).unwrap();
        let mut rng = Rng::new(11 + i as u64);
        randomise(&mut model, &mut rng);
        let saved = saved(model);
        let xs = random_inputs(&saved.model, 4, &mut rng);
        t.pass(write(&format!("export_conv_family_{i}.rs"), &check_program(&saved, &xs)));
    }
}

/// Layers the typed core cannot express are refused with the layer named, not exported
/// wrongly.
#[test]
fn export_refuses_layers_without_a_typed_counterpart() {
    let cases: [(&str, &[usize], &str); 8] = [
        ("conv2d(2,3,bias=false),flatten,dense(2)", &[1, 6, 6], "layer 1 (conv2d)"),
        ("conv2d(2,3,stride=2x1),flatten,dense(2)", &[1, 6, 6], "layer 1 (conv2d)"),
        ("conv2d(2,3,dilation=2),flatten,dense(2)", &[1, 6, 6], "layer 1 (conv2d)"),
        ("conv_transpose2d(2,3,bias=false),flatten", &[1, 4, 4], "layer 1 (conv_transpose2d)"),
        ("conv_transpose2d(2,3,stride=2x1),flatten", &[1, 4, 4], "layer 1 (conv_transpose2d)"),
        ("maxpool2d(2x1),flatten,dense(2)", &[1, 6, 6], "layer 1 (maxpool2d)"),
        ("concat(conv2d(2,3,dilation=2,padding=2)),flatten", &[1, 6, 6], "layer 1 (concat)"),
        (
            "relu,residual(conv2d(1,3,padding=1,bias=false)),flatten",
            &[1, 4, 4],
            "layer 2 (residual)",
        ),
    ];
    for (spec, shape, want) in cases {
        let model = DynModel::build(&parse_spec(spec).unwrap(), shape).unwrap();
        let err = rust_module(&saved(model), "x").unwrap_err();
        assert!(err.contains(want), "{spec}: {err}");
    }
}
