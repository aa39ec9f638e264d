//! Const-generic models in the version-2 model file, without allocation: [`write_typed`]
//! writes a model with the same records the host writes for the same layers, and
//! [`ModelFileV2::load_into`] checks a file's records against a model type and loads its
//! parameters. A firmware saves what it learnt in the format the host reads, and reads
//! files the host wrote.
//!
//! Supported layers: the ones [`LayerDesc`] describes in full (dense, the element-wise
//! activations, PReLU, softmax, log-softmax). Any other layer ([`LayerDesc::Other`]: its
//! options are not described) is `Err(MalformedLayer)` when writing and
//! `Err(ArchitectureMismatch)` when loading.

use super::v2::{AttrIn, AttrValue, HeaderV2, ModelFileV2, OptimizerIn, Record, WriterV2};
use crate::activation::ActivationOption;
use crate::error::Error;
use crate::layer::{Infer, Layer, LayerDesc};
use crate::model_file::Task;
use crate::optim::state::MAX_HYPER_PARAMETERS;
use crate::optim::OptimizerState;
use crate::params::{Params, Vector};

/// An option's expected value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Opt {
    Num(f32),
    Word(&'static str),
}

/// The record a described layer has in a version-2 file: name, own parameter count and at
/// most two options.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Expected {
    name: &'static str,
    params: usize,
    options: [Option<(&'static str, Opt)>; 2],
}

impl Expected {
    fn of(d: &LayerDesc) -> Option<Self> {
        let plain = |name, params| Self { name, params, options: [None, None] };
        Some(match *d {
            LayerDesc::Dense { inputs, outputs } => Self {
                name: "dense",
                params: outputs * inputs + outputs,
                options: [Some(("out", Opt::Num(outputs as f32))), None],
            },
            LayerDesc::Activation { kind, .. } => {
                let mut options = [None, None];
                for (slot, (key, value)) in options.iter_mut().zip(kind.options()) {
                    *slot = Some((
                        key,
                        match value {
                            ActivationOption::Num(v) => Opt::Num(v),
                            ActivationOption::Word(w) => Opt::Word(w),
                        },
                    ));
                }
                Self { name: kind.name(), params: 0, options }
            }
            // one slope, or one per feature ("channel": a 1-D input's channels are its features)
            LayerDesc::Prelu { slopes: 1, .. } => plain("prelu", 1),
            LayerDesc::Prelu { slopes, .. } => Self {
                name: "prelu",
                params: slopes,
                options: [Some(("num_parameters", Opt::Word("channel"))), None],
            },
            LayerDesc::Softmax { .. } => plain("softmax", 0),
            LayerDesc::LogSoftmax { .. } => plain("log_softmax", 0),
            LayerDesc::Other { .. } => return None,
        })
    }

    /// Whether `r` is this record: a plain layer (no body, no buffers) with the same name,
    /// parameter count and options, in order.
    fn matches(&self, r: &Record<'_>) -> bool {
        if r.name != self.name || r.params != self.params || r.body != 0 || r.buffers != 0 {
            return false;
        }
        let mut got = r.attrs();
        let same = self.options.iter().flatten().all(|&(key, want)| {
            got.next().is_some_and(|(k, v)| {
                k == key
                    && match (want, v) {
                        (Opt::Num(x), AttrValue::Nums(n)) => {
                            n.len() == 1 && n.get(0).map(f32::to_bits) == Some(x.to_bits())
                        }
                        (Opt::Word(w), AttrValue::Word(s)) => s == w,
                        _ => false,
                    }
            })
        });
        same && got.next().is_none()
    }
}

/// Writes `model` as a version-2 model file into `out`; returns the length written.
/// `header.input_shape` must hold `L::Input::LEN` values (checked). Each layer's record is
/// the one the host writes for it, so the host reads the file as its own.
///
/// Errors: `MalformedLayer { layer }` for a layer this cannot describe (see the module
/// docs), `LengthMismatch` when `out` is too small, and what [`WriterV2::finish`] checks.
pub fn write_typed<L: Infer + Params>(
    model: &L,
    header: &HeaderV2<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    let params = (0..L::TENSORS).map(|t| model.tensor(t));
    records_of(model, header, out)?.finish(header, params, core::iter::empty())
}

/// [`write_typed`] with the optimiser's state after the parameters (a version-3 file): its
/// name, step count, hyper-parameters and state buffers, so that training resumes from the
/// file bit for bit ([`ModelFileV2::load_optimizer_into`]).
pub fn write_typed_with_optimizer<L, O>(
    model: &L,
    optimizer: &O,
    header: &HeaderV2<'_>,
    out: &mut [u8],
) -> Result<usize, Error>
where
    L: Layer,
    O: OptimizerState<L::Grads>,
{
    let params = (0..L::TENSORS).map(|t| model.tensor(t));
    let hyper_parameters = optimizer.hyper_parameters();
    let saved = OptimizerIn {
        name: O::NAME,
        steps: optimizer.steps(),
        hyper_parameters: &hyper_parameters,
        state_len: optimizer.state_len(),
    };
    records_of(model, header, out)?.finish_with_optimizer(
        header,
        params,
        core::iter::empty(),
        &saved,
        optimizer.state_tensors(),
    )
}

/// A writer holding `model`'s records.
fn records_of<'o, L: Infer + Params>(
    model: &L,
    header: &HeaderV2<'_>,
    out: &'o mut [u8],
) -> Result<WriterV2<'o>, Error> {
    let inputs: usize = header.input_shape.iter().product();
    if inputs != <L::Input as Vector>::LEN {
        return Err(Error::ArchitectureMismatch { layer: 0 });
    }
    let mut w = WriterV2::new(out);
    let mut result = Ok(());
    let mut layer = 0;
    model.describe(&mut |d| {
        if result.is_ok() {
            result = match Expected::of(&d) {
                Some(e) => {
                    let mut attrs: [(&str, AttrIn<'_>); 2] = [("", AttrIn::Flag(false)); 2];
                    let nums: [[f32; 1]; 2] = core::array::from_fn(|i| match e.options[i] {
                        Some((_, Opt::Num(v))) => [v],
                        _ => [0.0],
                    });
                    let mut n = 0;
                    for (i, (key, value)) in e.options.iter().flatten().enumerate() {
                        attrs[i] = (
                            key,
                            match value {
                                Opt::Num(_) => AttrIn::Nums(&nums[i]),
                                Opt::Word(w) => AttrIn::Word(w),
                            },
                        );
                        n += 1;
                    }
                    w.record(e.name, 0, e.params, 0, &attrs[..n])
                }
                None => Err(Error::MalformedLayer { layer }),
            };
        }
        layer += 1;
    });
    result?;
    Ok(w)
}

/// Saves `model` as a version-2 model file in one call: a flat input of `L::Input::LEN`
/// values, no standardisation, no column names (what a firmware keeps of what it learnt).
/// Returns the length written; `Err(LengthMismatch)` when `out` is too small. For a file
/// with the training data's standardisation and column names, use [`write_typed`].
///
/// ```
/// use neurite::model_file::{load_typed, save_typed, Task};
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<3, 4>, Tanh<4>, Dense<4, 2>];
/// let mut model = Model::DEFAULT;
/// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
/// let mut file = [0u8; 512];
/// let n = save_typed(&model, Task::Classification, &mut file).unwrap();
/// let back: Model = load_typed(&file[..n]).unwrap();
/// assert_eq!(back.tensor(0), model.tensor(0));
/// // another architecture is refused
/// type Other = neurite::Seq![Dense<3, 5>, Tanh<5>, Dense<5, 2>];
/// assert!(load_typed::<Other>(&file[..n]).is_err());
/// ```
pub fn save_typed<L: Infer + Params>(
    model: &L,
    task: Task,
    out: &mut [u8],
) -> Result<usize, Error> {
    write_typed(model, &plain_header(task, &[<L::Input as Vector>::LEN]), out)
}

/// [`save_typed`] with the optimiser's state (a version-3 file): a device that saves this
/// and reboots resumes training where it stopped, bit for bit.
///
/// ```
/// use neurite::model_file::{load_typed_with_optimizer, save_typed_with_optimizer, Task};
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<2, 3>, Tanh<3>, Dense<3, 1>];
/// type G = <Model as Layer>::Grads;
/// let mut model = Model::DEFAULT;
/// model.init(&LayerInit::XAVIER, &mut Rng::new(1));
/// let mut opt = Adam::<G>::new(AdamConfig::adam(0.01))?;
/// let mut trainer = Trainer::<Model>::new();
/// trainer.accumulate(&model, &Mse, &[0.5, -1.0], Target::Values(&[0.25]))?;
/// trainer.finish(&Mse, Reduction::Mean)?;
/// opt.step(&mut model, &trainer.grads);
/// let mut file = [0u8; 512];
/// let n = save_typed_with_optimizer(&model, &opt, Task::Regression, &mut file)?;
/// // after a reboot: a fresh optimiser of the same type takes the saved state
/// let mut resumed = Adam::<G>::new(AdamConfig::adam(0.01))?;
/// let back: Model = load_typed_with_optimizer(&file[..n], &mut resumed)?;
/// assert_eq!((back.tensor(0), resumed.steps()), (model.tensor(0), 1));
/// // another optimiser is refused
/// let mut sgd = Sgd::<G>::new(SgdConfig::new(0.01))?;
/// assert!(load_typed_with_optimizer::<Model, _>(&file[..n], &mut sgd).is_err());
/// # Ok::<(), Error>(())
/// ```
pub fn save_typed_with_optimizer<L, O>(
    model: &L,
    optimizer: &O,
    task: Task,
    out: &mut [u8],
) -> Result<usize, Error>
where
    L: Layer,
    O: OptimizerState<L::Grads>,
{
    let header = plain_header(task, &[<L::Input as Vector>::LEN]);
    write_typed_with_optimizer(model, optimizer, &header, out)
}

/// A flat input, no standardisation, no column names.
fn plain_header<'a>(task: Task, input_shape: &'a [usize]) -> HeaderV2<'a> {
    HeaderV2 {
        task,
        input_shape,
        columns: &[],
        means: &[],
        stds: &[],
        target_mean: 0.0,
        target_std: 1.0,
    }
}

/// Loads a model of type `L` from model-file bytes in one call: [`ModelFileV2::parse`]
/// (every check, no allocation), then [`ModelFileV2::load_into`] a fresh `L` (the file's
/// architecture must be `L`'s). Only the layers: a file the CLI wrote for its training data
/// also holds the input standardisation and, for regression, the target scaling, which the
/// model expects around it ([`ModelFileV2::standardisation`], [`ModelFileV2::target_scale`]).
pub fn load_typed<L: Layer>(bytes: &[u8]) -> Result<L, Error> {
    let file = ModelFileV2::parse(bytes)?;
    let mut model = L::DEFAULT;
    file.load_into(&mut model)?;
    Ok(model)
}

/// [`load_typed`], and the optimiser's state into `optimizer`
/// ([`ModelFileV2::load_optimizer_into`]); both or neither change.
pub fn load_typed_with_optimizer<L, O>(bytes: &[u8], optimizer: &mut O) -> Result<L, Error>
where
    L: Layer,
    O: OptimizerState<L::Grads>,
{
    let file = ModelFileV2::parse(bytes)?;
    let mut model = L::DEFAULT;
    file.load_into(&mut model)?;
    file.load_optimizer_into(optimizer)?;
    Ok(model)
}

impl ModelFileV2<'_> {
    /// Loads the parameters into a const-generic model after checking that the file's
    /// input size and every record (name, parameter count, options) are the model type's,
    /// layer by layer; `Err(ArchitectureMismatch { layer })` at the first difference (also
    /// for a layer this cannot check, see [`write_typed`]). The model is unchanged on error.
    pub fn load_into<L: Infer + Params>(&self, model: &mut L) -> Result<(), Error> {
        let inputs: usize = self.input_shape()[..self.input_rank()].iter().product();
        if inputs != <L::Input as Vector>::LEN {
            return Err(Error::ArchitectureMismatch { layer: 0 });
        }
        let mut records = self.records();
        let (mut layer, mut mismatch) = (0, None);
        model.describe(&mut |d| {
            let same = Expected::of(&d).zip(records.next()).is_some_and(|(e, r)| e.matches(&r));
            if mismatch.is_none() && !same {
                mismatch = Some(layer);
            }
            layer += 1;
        });
        if mismatch.is_none() && (records.next().is_some() || self.buffer_count() != 0) {
            mismatch = Some(layer);
        }
        if let Some(layer) = mismatch {
            return Err(Error::ArchitectureMismatch { layer });
        }
        // A model whose parameters are not all its described layers' (a `FineTune`: the
        // frozen layers are described, only the head's are parameters) cannot be filled
        // from the file in order.
        if self.param_count() != L::LEN {
            return Err(Error::LengthMismatch { expected: L::LEN, found: self.param_count() });
        }
        // the records' parameter counts are the model's, so the values fill it exactly
        super::fill_params(model, self.params());
        Ok(())
    }

    /// Loads the optimiser's state (a version-3 file) into `optimizer`, an optimiser of the
    /// model's gradient type: its hyper-parameters (as PyTorch's `load_state_dict` restores
    /// `param_groups`), step count and state buffers. Checked first, nothing changed on error:
    /// `Err(ArchitectureMismatch { layer: record count })` when the file holds no optimiser,
    /// another optimiser (name), other hyper-parameter names or another state size;
    /// `Err(InvalidHyperParameter)` for hyper-parameters the optimiser's type refuses (as its
    /// constructor). Check the model with [`ModelFileV2::load_into`]: the state's size alone
    /// does not tell two architectures apart.
    pub fn load_optimizer_into<G: Params, O: OptimizerState<G>>(
        &self,
        optimizer: &mut O,
    ) -> Result<(), Error> {
        let mismatch = Error::ArchitectureMismatch { layer: self.record_count() };
        let saved = self.optimizer().ok_or(mismatch)?;
        let r = &saved.record;
        let mut values = [0.0f32; MAX_HYPER_PARAMETERS];
        let mut n = 0;
        for (i, (key, value)) in r.attrs().enumerate() {
            let number = match value {
                AttrValue::Nums(v) if v.len() == 1 => v.get(0),
                _ => None,
            };
            match (O::HYPER_PARAMETERS.get(i), values.get_mut(i), number) {
                (Some(&want), Some(slot), Some(v)) if want == key => *slot = v,
                _ => return Err(mismatch),
            }
            n += 1;
        }
        if r.name != O::NAME || n != O::HYPER_PARAMETERS.len() || r.buffers != optimizer.state_len()
        {
            return Err(mismatch);
        }
        optimizer.restore(&values[..n], saved.steps)?;
        let mut state = saved.state.iter();
        for k in 0..O::BUFFERS {
            if let Some(g) = optimizer.buffer_mut(k) {
                super::fill_params(g, &mut state);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::ActivationKind;
    use crate::layer::{Act, Dense, LogSoftmax, Prelu};
    use crate::model_file::Task;
    use crate::prelude::{Layer, LayerInit, Rng};

    type Mlp = crate::Seq![
        Dense<3, 5>,
        Act<crate::activation::LeakyRelu, 5>,
        Prelu<5, 5>,
        Dense<5, 4>,
        Act<crate::activation::Softplus, 4>,
        Dense<4, 2>,
        LogSoftmax<2>
    ];

    fn header(shape: &[usize]) -> HeaderV2<'_> {
        HeaderV2 {
            task: Task::Classification,
            input_shape: shape,
            columns: &[],
            means: &[],
            stds: &[],
            target_mean: 0.0,
            target_std: 1.0,
        }
    }

    fn load<L: Layer>(f: &ModelFileV2<'_>) -> Result<(), Error> {
        let mut m = L::DEFAULT;
        f.load_into(&mut m)
    }

    fn model() -> Mlp {
        let mut m = Mlp::DEFAULT;
        m.init(&LayerInit::XAVIER, &mut Rng::new(3));
        m
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let m = model();
        let mut buf = [0u8; 1024];
        let n = write_typed(&m, &header(&[3]), &mut buf).unwrap();
        let f = ModelFileV2::parse(&buf[..n]).unwrap();
        assert_eq!(f.param_count(), crate::layer::param_count::<Mlp>());
        let names: [&str; 7] = core::array::from_fn(|i| f.records().nth(i).unwrap().name);
        assert_eq!(
            names,
            ["dense", "leaky_relu", "prelu", "dense", "softplus", "dense", "log_softmax"]
        );
        let slope = f.records().nth(1).unwrap().attr("negative_slope");
        assert!(matches!(slope, Some(AttrValue::Nums(n)) if n.get(0) == Some(0.01)));
        let mut back = Mlp::DEFAULT;
        f.load_into(&mut back).unwrap();
        for t in 0..Mlp::TENSORS {
            let (a, b) = (m.tensor(t), back.tensor(t));
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }

    #[test]
    fn another_architecture_is_refused_at_its_first_difference() {
        let mut buf = [0u8; 1024];
        let n = write_typed(&model(), &header(&[3]), &mut buf).unwrap();
        let f = ModelFileV2::parse(&buf[..n]).unwrap();
        // other widths
        let mut wider = <crate::Seq![Dense<3, 6>, Act<crate::activation::Relu, 6>]>::DEFAULT;
        assert_eq!(f.load_into(&mut wider), Err(Error::ArchitectureMismatch { layer: 0 }));
        // another input size
        let mut other_input = <crate::Seq![Dense<4, 5>]>::DEFAULT;
        assert_eq!(f.load_into(&mut other_input), Err(Error::ArchitectureMismatch { layer: 0 }));
        // the same first layer, then another activation
        type Relu5 = crate::Seq![Dense<3, 5>, Act<crate::activation::Relu, 5>];
        assert_eq!(load::<Relu5>(&f), Err(Error::ArchitectureMismatch { layer: 1 }));
        // a prefix of the file: the file has more records
        type Prefix = crate::Seq![Dense<3, 5>, Act<crate::activation::LeakyRelu, 5>];
        assert_eq!(load::<Prefix>(&f), Err(Error::ArchitectureMismatch { layer: 2 }));
        // a longer model than the file
        type Longer = crate::Seq![
            Dense<3, 5>,
            Act<crate::activation::LeakyRelu, 5>,
            Prelu<5, 5>,
            Dense<5, 4>,
            Act<crate::activation::Softplus, 4>,
            Dense<4, 2>,
            LogSoftmax<2>,
            LogSoftmax<2>
        ];
        assert_eq!(load::<Longer>(&f), Err(Error::ArchitectureMismatch { layer: 7 }));
        // one PReLU slope instead of one per feature
        type OneSlope = crate::Seq![
            Dense<3, 5>,
            Act<crate::activation::LeakyRelu, 5>,
            Prelu<5, 1>,
            Dense<5, 4>,
            Act<crate::activation::Softplus, 4>,
            Dense<4, 2>,
            LogSoftmax<2>
        ];
        assert_eq!(load::<OneSlope>(&f), Err(Error::ArchitectureMismatch { layer: 2 }));
    }

    #[test]
    fn an_option_that_differs_is_a_mismatch() {
        // leaky_relu's slope and softplus's threshold are options of the record
        let e = Expected::of(&LayerDesc::Activation {
            kind: ActivationKind::Softplus(1.0, 20.0),
            width: 4,
        })
        .unwrap();
        let other = Expected::of(&LayerDesc::Activation {
            kind: ActivationKind::Softplus(1.0, 10.0),
            width: 4,
        })
        .unwrap();
        let mut buf = [0u8; 256];
        let mut w = WriterV2::new(&mut buf);
        w.record(
            "softplus",
            0,
            0,
            0,
            &[("beta", AttrIn::Nums(&[1.0])), ("threshold", AttrIn::Nums(&[20.0]))],
        )
        .unwrap();
        let n = w.finish(&header(&[4]), core::iter::empty(), core::iter::empty()).unwrap();
        let f = ModelFileV2::parse(&buf[..n]).unwrap();
        let r = f.records().next().unwrap();
        assert!(e.matches(&r));
        assert!(!other.matches(&r));
        let gelu =
            Expected::of(&LayerDesc::Activation { kind: ActivationKind::Gelu, width: 4 }).unwrap();
        assert!(!gelu.matches(&r));
    }

    #[test]
    fn layers_without_full_descriptions_are_refused() {
        type Cnn = crate::Seq![crate::layer::Flatten<1, 2, 2, 4>, Dense<4, 2>];
        let mut buf = [0u8; 512];
        let r = write_typed(&Cnn::DEFAULT, &header(&[1, 2, 2]), &mut buf);
        assert_eq!(r, Err(Error::MalformedLayer { layer: 0 }));
        assert_eq!(
            write_typed(&model(), &header(&[4]), &mut buf),
            Err(Error::ArchitectureMismatch { layer: 0 })
        );
        let mut small = [0u8; 64];
        assert!(matches!(
            write_typed(&model(), &header(&[3]), &mut small),
            Err(Error::LengthMismatch { .. })
        ));
    }
}
