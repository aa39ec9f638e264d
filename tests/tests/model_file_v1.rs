//! Version-1 model files (written by earlier releases: dense and activation chains) still
//! load, and give the same outputs as the typed model they were written from; version-2
//! files round-trip every layer family with buffers and column names.

use neurite::layer::{Dense, Layer, LayerDesc};
use neurite::model_file::{self, Header, Task};
use neurite::params::Params;
use neurite::prelude::*;
use neurite_host::dynamic::{parse_spec, DynModel};
use neurite_host::model_io::SavedModel;

type Model = neurite::Seq![Dense<3, 5>, Tanh<5>, Dense<5, 2>, Softmax<2>];

#[test]
fn version_1_files_still_load() {
    let mut m = Model::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(7));
    let mut descs = Vec::new();
    m.describe(&mut |d: LayerDesc| descs.push(d));
    let header = Header {
        task: Task::Classification,
        inputs: 3,
        means: &[0.5, 1.0, -1.0],
        stds: &[2.0, 1.0, 0.5],
        target_mean: 0.0,
        target_std: 1.0,
    };
    let tensors: Vec<&[f32]> = (0..Model::TENSORS).map(|i| m.tensor(i)).collect();
    let mut bytes = vec![0u8; model_file::encoded_len(descs.len(), 3, Model::LEN)];
    model_file::write(&mut bytes, &header, &descs, tensors).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    let saved = SavedModel::from_bytes(&bytes).unwrap();
    assert_eq!(saved.means, [0.5, 1.0, -1.0]);
    let x = [0.3, -1.2, 2.0];
    let mut y = [0.0; 2];
    m.forward(&x, &mut y);
    assert_eq!(saved.model.forward(&x), y);
    // Saved again, it is a version-2 file with the same model.
    let again = SavedModel::from_bytes(&saved.to_bytes().unwrap()).unwrap();
    assert_eq!(again, saved);
}

#[test]
fn version_2_round_trips_every_family() {
    let spec = "conv2d(4,3,padding=1,bias=false),batchnorm2d(eps=0.001,momentum=0.2),relu,\
                maxpool2d(2),residual(conv2d(4,3,padding=1,groups=2),gelu(tanh)),\
                concat(avgpool2d(2),conv_transpose2d(2,2,stride=2)),\
                conv2d(3,1x3,stride=2x1,dilation=1x1),global_avg_pool,dense(6),layernorm,dropout(0.2),dense(3)";
    let mut model = DynModel::build(&parse_spec(spec).unwrap(), &[1, 8, 8]).unwrap();
    model.init(&LayerInit::HE_RELU, &mut Rng::new(3));
    for (i, b) in model.buffers_mut().into_iter().enumerate() {
        for (j, v) in b.iter_mut().enumerate() {
            *v = 0.5 + 0.1 * (i + j) as f32;
        }
    }
    let saved = SavedModel {
        model,
        task: Task::Classification,
        means: Vec::new(),
        stds: Vec::new(),
        target_mean: 0.0,
        target_std: 1.0,
        columns: (0..64).map(|i| format!("p{i}")).chain(["label".to_string()]).collect(),
    };
    let bytes = saved.to_bytes().unwrap();
    let back = SavedModel::from_bytes(&bytes).unwrap();
    // Dropout is training-only and not stored.
    assert_eq!(back.model.layers.len(), saved.model.layers.len() - 1);
    assert_eq!(back.columns, saved.columns);
    assert_eq!(back.model.buffers(), saved.model.buffers());
    assert_eq!(back.model.tensors(), saved.model.tensors());
    let x: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
    assert_eq!(back.model.forward(&x), saved.model.forward(&x));
    for n in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(SavedModel::from_bytes(&bytes[..n]).is_err());
    }
}
