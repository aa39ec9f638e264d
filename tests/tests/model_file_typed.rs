//! The version-2 model file between the host and a const-generic model (a firmware's): the
//! core's allocation-free writer produces byte for byte the file the host writes for the
//! same model, each side loads the other's file, and the loaded models compute the same bits.

use neurite::activation as act;
use neurite::init::LayerInit;
use neurite::layer::{
    Act, Dense, Elu, GeluTanh, Infer, Layer, LeakyRelu, LogSoftmax, Prelu, Softplus, Swish,
};
use neurite::model_file::v2::{HeaderV2, ModelFileV2};
use neurite::model_file::{write_typed, Task};
use neurite::params::Params;
use neurite::prelude::Rng;
use neurite::Error;
use neurite_host::dynamic::{parse_spec, DynModel};
use neurite_host::model_io::SavedModel;

type Model = neurite::Seq![
    Dense<4, 8>,
    LeakyRelu<8>,
    Dense<8, 6>,
    Prelu<6, 6>,
    Dense<6, 6>,
    Softplus<6>,
    Prelu<6, 1>,
    Dense<6, 5>,
    GeluTanh<5>,
    Dense<5, 5>,
    Elu<5>,
    Swish<5>,
    Act<act::Selu, 5>,
    Dense<5, 3>,
    LogSoftmax<3>
];
const SPEC: &str = "dense(8),leaky_relu(0.2),dense(6),prelu(channel),dense(6),softplus(2,10),\
                    prelu,dense(5),gelu(tanh),dense(5),elu(0.5),swish(1.5),selu,dense(3),log_softmax";

fn typed(seed: u64) -> Model {
    let mut m = Model::DEFAULT;
    // Seq![l0, l1, ...] is (l0, (l1, (...))): layer k is k `.1`s then `.0`
    m.1 .0 = Act::new(act::LeakyRelu { negative_slope: 0.2 });
    m.1 .1 .1 .1 .1 .0 = Act::new(act::Softplus { beta: 2.0, threshold: 10.0 });
    let tail = &mut m.1 .1 .1 .1 .1 .1 .1 .1 .1 .1;
    tail.0 = Act::new(act::Elu { alpha: 0.5 });
    tail.1 .0 = Act::new(act::Swish { beta: 1.5 });
    m.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(seed));
    m
}

fn saved(model: DynModel) -> SavedModel {
    SavedModel {
        model,
        task: Task::Classification,
        means: Vec::new(),
        stds: Vec::new(),
        target_mean: 0.0,
        target_std: 1.0,
        columns: Vec::new(),
    }
}

fn header() -> HeaderV2<'static> {
    HeaderV2 {
        task: Task::Classification,
        input_shape: &[4],
        columns: &[],
        means: &[],
        stds: &[],
        target_mean: 0.0,
        target_std: 1.0,
    }
}

fn typed_bytes(m: &Model) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = write_typed(m, &header(), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn host_model(seed: u64) -> DynModel {
    let mut d = DynModel::build(&parse_spec(SPEC).unwrap(), &[4]).unwrap();
    d.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(seed));
    d
}

#[test]
fn the_core_writes_the_hosts_bytes() {
    let m = typed(5);
    let d = host_model(5);
    // the same weights from the same generator (checked here, so the files can be compared)
    for (t, values) in d.tensors().iter().enumerate() {
        assert_eq!(*values, m.tensor(t), "tensor {t}");
    }
    assert_eq!(typed_bytes(&m), saved(d).to_bytes().unwrap());
}

#[test]
fn each_side_reads_the_others_file_and_computes_the_same_bits() {
    let m = typed(6);
    let x = [0.3, -1.2, 2.5, -0.7];
    let mut want = [0.0f32; 3];
    m.forward(&x, &mut want);

    // the firmware's file, read by the host
    let host = SavedModel::from_bytes(&typed_bytes(&m)).unwrap();
    let got = host.predict(&x);
    assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.map(f32::to_bits));

    // the host's file (another seed), read by the typed model
    let other = saved(host_model(7)).to_bytes().unwrap();
    let mut back = typed(0);
    ModelFileV2::parse(&other).unwrap().load_into(&mut back).unwrap();
    let reference = typed(7);
    for t in 0..Model::TENSORS {
        assert_eq!(back.tensor(t), reference.tensor(t), "tensor {t}");
    }
}

#[test]
fn a_host_file_of_another_architecture_is_refused() {
    for (spec, layer) in [
        ("dense(8),leaky_relu(0.3),dense(3)", 1),
        ("dense(8),relu,dense(3)", 1),
        ("dense(9),leaky_relu(0.2),dense(3)", 0),
        ("dense(8),leaky_relu(0.2),dense(6),prelu,dense(3)", 3),
    ] {
        let d = DynModel::build(&parse_spec(spec).unwrap(), &[4]).unwrap();
        let bytes = saved(d).to_bytes().unwrap();
        let mut m = typed(1);
        let before = typed(1);
        let r = ModelFileV2::parse(&bytes).unwrap().load_into(&mut m);
        assert_eq!(r, Err(Error::ArchitectureMismatch { layer }), "{spec}");
        for t in 0..Model::TENSORS {
            assert_eq!(m.tensor(t), before.tensor(t), "{spec}: the model changed");
        }
    }
}
