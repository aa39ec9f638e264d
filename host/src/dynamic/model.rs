use neurite::activation::ActivationKind;
use neurite::init::LayerInit;
use neurite::kernel::{dense, elementwise, softmax};
use neurite::layer::LayerDesc;
use neurite::rng::Rng;
use neurite::Error;

/// One layer with its parameters, shaped at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum DynLayer {
    /// `y = W x + b`; `weight` is `outputs` rows of `inputs` (PyTorch layout).
    Dense {
        /// Inputs.
        inputs: usize,
        /// Outputs.
        outputs: usize,
        /// Row-major weights.
        weight: Vec<f32>,
        /// Biases.
        bias: Vec<f32>,
    },
    /// An element-wise activation over `width` values.
    Activation {
        /// Which activation.
        kind: ActivationKind,
        /// Width.
        width: usize,
    },
    /// PReLU with 1 or `width` learnable slopes.
    Prelu {
        /// Width.
        width: usize,
        /// Slopes.
        alpha: Vec<f32>,
    },
    /// Softmax over `width` values.
    Softmax {
        /// Width.
        width: usize,
    },
    /// Log-softmax over `width` values.
    LogSoftmax {
        /// Width.
        width: usize,
    },
    /// Inverted dropout: in training each value is zeroed with probability `p` and the rest
    /// scaled by `1 / (1 - p)`; at inference it is the identity (and model files omit it).
    Dropout {
        /// Width.
        width: usize,
        /// Drop probability in [0, 1).
        p: f32,
    },
}

/// A model's trace for one sample: every layer's input, the output last, and the dropout
/// masks drawn in training.
#[derive(Clone, Debug, PartialEq)]
pub struct DynTrace {
    /// `values[k]` is layer k's input; the last entry is the model output.
    pub values: Vec<Vec<f32>>,
    /// `masks[k]`: the scaled keep-mask of dropout layer k in training, else `None`.
    pub masks: Vec<Option<Vec<f32>>>,
}

impl DynTrace {
    /// The model output.
    pub fn output(&self) -> &[f32] {
        self.values.last().map_or(&[], Vec::as_slice)
    }
}

impl DynLayer {
    /// Input width.
    pub fn inputs(&self) -> usize {
        match self {
            Self::Dense { inputs, .. } => *inputs,
            Self::Activation { width, .. }
            | Self::Prelu { width, .. }
            | Self::Softmax { width }
            | Self::LogSoftmax { width }
            | Self::Dropout { width, .. } => *width,
        }
    }

    /// The core's description of this layer (`None` for dropout, absent at inference).
    pub fn desc(&self) -> Option<LayerDesc> {
        Some(match self {
            Self::Dense { inputs, outputs, .. } => {
                LayerDesc::Dense { inputs: *inputs, outputs: *outputs }
            }
            Self::Activation { kind, width } => {
                LayerDesc::Activation { kind: *kind, width: *width }
            }
            Self::Prelu { width, alpha } => LayerDesc::Prelu { width: *width, slopes: alpha.len() },
            Self::Softmax { width } => LayerDesc::Softmax { width: *width },
            Self::LogSoftmax { width } => LayerDesc::LogSoftmax { width: *width },
            Self::Dropout { .. } => return None,
        })
    }

    /// A layer with zero parameters (PReLU slopes 0.25) from its description.
    pub fn from_desc(d: &LayerDesc) -> Self {
        match *d {
            LayerDesc::Dense { inputs, outputs } => Self::Dense {
                inputs,
                outputs,
                weight: vec![0.0; inputs * outputs],
                bias: vec![0.0; outputs],
            },
            LayerDesc::Activation { kind, width } => Self::Activation { kind, width },
            LayerDesc::Prelu { width, slopes } => Self::Prelu { width, alpha: vec![0.25; slopes] },
            LayerDesc::Softmax { width } => Self::Softmax { width },
            LayerDesc::LogSoftmax { width } => Self::LogSoftmax { width },
        }
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        match self {
            Self::Dense { outputs, .. } => *outputs,
            other => other.inputs(),
        }
    }

    /// Learnable tensors, in the order the const-generic layers number them.
    pub fn tensors(&self) -> Vec<&[f32]> {
        match self {
            Self::Dense { weight, bias, .. } => vec![weight, bias],
            Self::Prelu { alpha, .. } => vec![alpha],
            _ => vec![],
        }
    }

    /// Learnable tensors, mutable.
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        match self {
            Self::Dense { weight, bias, .. } => vec![weight, bias],
            Self::Prelu { alpha, .. } => vec![alpha],
            _ => vec![],
        }
    }

    /// `y = layer(x)`.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        match self {
            Self::Dense { weight, bias, .. } => dense::forward(weight, bias, x, y),
            Self::Activation { kind, .. } => kind.forward(x, y),
            Self::Prelu { alpha, .. } => elementwise::prelu_forward(alpha, x, y),
            Self::Softmax { .. } => softmax::softmax(x, y),
            Self::LogSoftmax { .. } => softmax::log_softmax(x, y),
            Self::Dropout { .. } => y.copy_from_slice(x),
        }
    }

    /// Writes `dx` and adds parameter gradients into `grads` (this layer's tensors).
    /// `dx = None` skips the input gradient where the layer can (the first layer); `mask` is
    /// a dropout layer's training mask.
    pub fn backward(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        mask: Option<&[f32]>,
    ) {
        let mut scratch;
        let dx = match dx {
            Some(dx) => dx,
            None => {
                if let (Self::Dense { .. }, [gw, gb]) = (self, &mut *grads) {
                    dense::backward_params(x, dy, gw, gb);
                    return;
                }
                scratch = vec![0.0; x.len()];
                &mut scratch[..]
            }
        };
        match (self, grads) {
            (Self::Dense { weight, .. }, [gw, gb]) => dense::backward(weight, x, dy, dx, gw, gb),
            (Self::Activation { kind, .. }, _) => kind.backward(x, dy, dx),
            (Self::Prelu { alpha, .. }, [ga]) => elementwise::prelu_backward(alpha, x, dy, dx, ga),
            (Self::Softmax { width }, _) => {
                let mut y = vec![0.0; *width];
                softmax::softmax(x, &mut y);
                softmax::softmax_backward(&y, dy, dx);
            }
            (Self::LogSoftmax { width }, _) => {
                let mut y = vec![0.0; *width];
                softmax::log_softmax(x, &mut y);
                softmax::log_softmax_backward(&y, dy, dx);
            }
            (Self::Dropout { .. }, _) => match mask {
                Some(m) => {
                    for ((d, &g), &k) in dx.iter_mut().zip(dy).zip(m) {
                        *d = g * k;
                    }
                }
                None => dx.copy_from_slice(dy),
            },
            _ => {}
        }
    }
}

/// A sequential model of [`DynLayer`]s.
#[derive(Clone, Debug, PartialEq)]
pub struct DynModel {
    /// The layers, first to last.
    pub layers: Vec<DynLayer>,
}

impl DynModel {
    /// A model from layers whose widths chain: `Err(LengthMismatch)` at the first mismatch,
    /// or for a parameter tensor of the wrong length.
    pub fn new(layers: Vec<DynLayer>) -> Result<Self, Error> {
        for pair in layers.windows(2) {
            if pair[1].inputs() != pair[0].outputs() {
                return Err(Error::LengthMismatch {
                    expected: pair[0].outputs(),
                    found: pair[1].inputs(),
                });
            }
        }
        for layer in &layers {
            let ok = match layer {
                DynLayer::Dense { inputs, outputs, weight, bias } => {
                    weight.len() == inputs * outputs && bias.len() == *outputs
                }
                DynLayer::Prelu { width, alpha } => alpha.len() == 1 || alpha.len() == *width,
                _ => true,
            };
            if !ok {
                return Err(Error::LengthMismatch { expected: layer.inputs(), found: 0 });
            }
            for t in layer.tensors() {
                neurite::error::check_finite(t)?;
            }
        }
        if layers.is_empty() {
            return Err(Error::Empty);
        }
        Ok(Self { layers })
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, DynLayer::inputs)
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, DynLayer::outputs)
    }

    /// Every learnable tensor, layer by layer.
    pub fn tensors(&self) -> Vec<&[f32]> {
        self.layers.iter().flat_map(DynLayer::tensors).collect()
    }

    /// Every learnable tensor, mutable.
    pub fn tensors_mut(&mut self) -> Vec<&mut [f32]> {
        self.layers.iter_mut().flat_map(DynLayer::tensors_mut).collect()
    }

    /// Number of learnable scalars.
    pub fn param_count(&self) -> usize {
        self.tensors().iter().map(|t| t.len()).sum()
    }

    /// Zeroed gradient tensors shaped like the parameters.
    pub fn zero_grads(&self) -> Vec<Vec<f32>> {
        self.tensors().iter().map(|t| vec![0.0; t.len()]).collect()
    }

    /// Initialises every dense layer, first to last (the order of the const-generic chain).
    pub fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        for layer in &mut self.layers {
            if let DynLayer::Dense { inputs, outputs, weight, bias } = layer {
                init.apply(weight, bias, *inputs, *outputs, rng);
            }
        }
    }

    /// Inference on one sample: `y = model(x)`. `x` must have [`DynModel::inputs`] values.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut cur = x.to_vec();
        for layer in &self.layers {
            let mut next = vec![0.0; layer.outputs()];
            layer.forward(&cur, &mut next);
            cur = next;
        }
        cur
    }

    /// Forward keeping every layer's input. With `dropout_rng`, dropout layers draw masks
    /// (training); without, they are the identity.
    pub fn forward_trace(&self, x: &[f32], mut dropout_rng: Option<&mut Rng>) -> DynTrace {
        let mut values = Vec::with_capacity(self.layers.len() + 1);
        let mut masks = Vec::with_capacity(self.layers.len());
        values.push(x.to_vec());
        for layer in &self.layers {
            let input = values.last().map_or(&[][..], Vec::as_slice);
            let mut next = vec![0.0; layer.outputs()];
            let mut mask = None;
            match (layer, dropout_rng.as_deref_mut()) {
                (DynLayer::Dropout { p, .. }, Some(rng)) => {
                    let keep = 1.0 / (1.0 - p);
                    let m: Vec<f32> =
                        input.iter().map(|_| if rng.uniform() < *p { 0.0 } else { keep }).collect();
                    for ((o, &v), &k) in next.iter_mut().zip(input).zip(&m) {
                        *o = v * k;
                    }
                    mask = Some(m);
                }
                _ => layer.forward(input, &mut next),
            }
            values.push(next);
            masks.push(mask);
        }
        DynTrace { values, masks }
    }

    /// The core descriptions of the inference layers (dropout omitted).
    pub fn descs(&self) -> Vec<LayerDesc> {
        self.layers.iter().filter_map(DynLayer::desc).collect()
    }

    /// Backward from `dy` through the trace; adds into `grads` (one entry per tensor) and
    /// returns `d loss / d x` when `input_grad`.
    pub fn backward(
        &self,
        trace: &DynTrace,
        dy: &[f32],
        grads: &mut [Vec<f32>],
        input_grad: bool,
    ) -> Option<Vec<f32>> {
        let counts: Vec<usize> = self.layers.iter().map(|l| l.tensors().len()).collect();
        let mut end = grads.len();
        let mut dcur = dy.to_vec();
        for (k, layer) in self.layers.iter().enumerate().rev() {
            let start = end - counts[k];
            let g = &mut grads[start..end];
            end = start;
            let mask = trace.masks.get(k).and_then(Option::as_deref);
            if k == 0 && !input_grad {
                layer.backward(&trace.values[k], &dcur, None, g, mask);
                return None;
            }
            let mut dx = vec![0.0; layer.inputs()];
            layer.backward(&trace.values[k], &dcur, Some(&mut dx), g, mask);
            dcur = dx;
        }
        Some(dcur)
    }
}
