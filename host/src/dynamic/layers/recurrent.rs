//! `rnn(H)`, `gru(H)`, `lstm(H)`: PyTorch's `nn.RNN`, `nn.GRU`, `nn.LSTM` (one layer,
//! `batch_first`, zero initial state) over an input `[T][F]` (`--input-shape TxF`), with the
//! core's cell kernels (`neurite::kernel::recurrent`) and the dense kernels for the gates'
//! sums, in the order of the typed layers (`neurite::layer::{Rnn, Gru, Lstm}`): the same bits.
//!
//! Options: `hidden_size` (positional), `return` (`last`, the default: the last step's
//! hidden state `[H]`; `sequence`: every step's, `[T][H]`), and for `rnn` `nonlinearity`
//! (`tanh`, the default, or `relu`). Parameters `weight_ih_l0` `[G*H][F]`, `weight_hh_l0`
//! `[G*H][H]`, `bias_ih_l0`, `bias_hh_l0` `[G*H]`, gates in PyTorch's order.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::op::{Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, LayerKind, LayerNode};
use neurite::activation::{Relu, Tanh};
use neurite::init::LayerInit;
use neurite::kernel::dense;
use neurite::kernel::recurrent::{self as cell, GRU_TRACE, LSTM_TRACE, RNN_TRACE};
use neurite::rng::Rng;

/// Registry entry of `rnn`.
pub static RNN: LayerKind = LayerKind {
    name: "rnn",
    positional: &["hidden_size"],
    options: &["hidden_size", "input_size", "nonlinearity", "return"],
    help: "rnn(H, nonlinearity=tanh|relu, return=last|sequence)",
    build: build_rnn,
    infer: infer_nothing,
    composite: false,
};

/// Registry entry of `gru`.
pub static GRU: LayerKind = LayerKind {
    name: "gru",
    positional: &["hidden_size"],
    options: &["hidden_size", "input_size", "return"],
    help: "gru(H, return=last|sequence)",
    build: build_gru,
    infer: infer_nothing,
    composite: false,
};

/// Registry entry of `lstm`.
pub static LSTM: LayerKind = LayerKind {
    name: "lstm",
    positional: &["hidden_size"],
    options: &["hidden_size", "input_size", "return"],
    help: "lstm(H, return=last|sequence)",
    build: build_lstm,
    infer: infer_nothing,
    composite: false,
};

/// The cell of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Elman RNN with tanh.
    RnnTanh,
    /// Elman RNN with ReLU.
    RnnRelu,
    /// GRU.
    Gru,
    /// LSTM.
    Lstm,
}

impl Cell {
    /// Gates stacked in the weights.
    const fn gates(self) -> usize {
        match self {
            Self::RnnTanh | Self::RnnRelu => 1,
            Self::Gru => 3,
            Self::Lstm => 4,
        }
    }

    /// Trace values per hidden unit and step.
    const fn trace(self) -> usize {
        match self {
            Self::RnnTanh | Self::RnnRelu => RNN_TRACE,
            Self::Gru => GRU_TRACE,
            Self::Lstm => LSTM_TRACE,
        }
    }
}

/// A recurrent layer over `[T][F]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrent {
    cell: Cell,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    steps: usize,
    features: usize,
    hidden: usize,
    sequence: bool,
    w_ih_shape: [usize; 2],
    w_hh_shape: [usize; 2],
    /// `weight_ih_l0`.
    pub weight_ih: Vec<f32>,
    /// `weight_hh_l0`.
    pub weight_hh: Vec<f32>,
    /// `bias_ih_l0`.
    pub bias_ih: Vec<f32>,
    /// `bias_hh_l0`.
    pub bias_hh: Vec<f32>,
}

fn build_rnn(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("rnn", RNN.options)?;
    let cell = match node.attrs.word_or("nonlinearity", "tanh")? {
        "tanh" => Cell::RnnTanh,
        "relu" => Cell::RnnRelu,
        other => return Err(format!("rnn's nonlinearity is tanh or relu, not '{other}'")),
    };
    build(&RNN, cell, node, shape)
}

fn build_gru(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("gru", GRU.options)?;
    build(&GRU, Cell::Gru, node, shape)
}

fn build_lstm(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("lstm", LSTM.options)?;
    build(&LSTM, Cell::Lstm, node, shape)
}

fn build(
    kind: &LayerKind,
    cell: Cell,
    node: &LayerNode,
    shape: &[usize],
) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    let &[steps, features] = shape else {
        return Err(format!(
            "{} needs a sequence input [T][F] (--input-shape TxF), found {shape:?}",
            kind.name
        ));
    };
    let hidden = a.usize("hidden_size", 0)?;
    if hidden == 0 {
        return Err(format!("{} needs a positive hidden size, e.g. {}(32)", kind.name, kind.name));
    }
    if a.get("input_size").is_some() && a.usize("input_size", 0)? != features {
        return Err(format!(
            "input_size = {} but the input has {features} features",
            a.usize("input_size", 0)?
        ));
    }
    let sequence = match a.word_or("return", "last")? {
        "last" => false,
        "sequence" => true,
        other => return Err(format!("return is last or sequence, not '{other}'")),
    };
    let rows = cell.gates() * hidden;
    let w_ih = crate::dynamic::op::checked_values(&[rows, features], "weight_ih_l0")?;
    let w_hh = crate::dynamic::op::checked_values(&[rows, hidden], "weight_hh_l0")?;
    crate::dynamic::op::checked_values(&[steps, cell.trace() * hidden], "the trace")?;
    Ok(Box::new(Recurrent {
        cell,
        in_shape: shape.to_vec(),
        out_shape: if sequence { vec![steps, hidden] } else { vec![hidden] },
        steps,
        features,
        hidden,
        sequence,
        w_ih_shape: [rows, features],
        w_hh_shape: [rows, hidden],
        weight_ih: vec![0.0; w_ih],
        weight_hh: vec![0.0; w_hh],
        bias_ih: vec![0.0; rows],
        bias_hh: vec![0.0; rows],
    }))
}

impl Recurrent {
    /// One sample's steps: `y` gets every step's hidden state (`[T][H]`), `trace` (when
    /// given) each step's cell trace. The states start at zero.
    fn run(&self, x: &[f32], hs: &mut [f32], mut trace: Option<&mut [f32]>) {
        let (h_n, g) = (self.hidden, self.cell.gates());
        let per_step = self.cell.trace() * h_n;
        let (mut sx, mut sh) = (vec![0.0; g * h_n], vec![0.0; g * h_n]);
        let (mut h, mut c, mut c_next) = (vec![0.0; h_n], vec![0.0; h_n], vec![0.0; h_n]);
        let mut local = vec![0.0; per_step];
        for (t, (x_t, h_out)) in
            x.chunks_exact(self.features).zip(hs.chunks_exact_mut(h_n)).enumerate()
        {
            dense::forward(&self.weight_ih, &self.bias_ih, x_t, &mut sx);
            dense::forward(&self.weight_hh, &self.bias_hh, &h, &mut sh);
            let tr = match trace.as_deref_mut() {
                Some(all) => &mut all[t * per_step..(t + 1) * per_step],
                None => &mut local[..],
            };
            match self.cell {
                Cell::RnnTanh => cell::rnn_forward(&Tanh, &sx, &sh, &h, h_out, tr),
                Cell::RnnRelu => cell::rnn_forward(&Relu, &sx, &sh, &h, h_out, tr),
                Cell::Gru => cell::gru_forward(&sx, &sh, &h, h_out, tr),
                Cell::Lstm => {
                    cell::lstm_forward(&sx, &sh, &h, &c, h_out, &mut c_next, tr);
                    c.copy_from_slice(&c_next);
                }
            }
            h.copy_from_slice(h_out);
        }
    }

    /// Backpropagation through time for one sample: `dys` is `d loss / d` every step's
    /// hidden state (`[T][H]`); adds the parameter gradients, writes `dx` when given.
    fn bptt(
        &self,
        x: &[f32],
        trace: &[f32],
        dys: &[f32],
        mut dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
    ) {
        let [gw_ih, gw_hh, gb_ih, gb_hh] = grads else { return };
        let (h_n, g) = (self.hidden, self.cell.gates());
        let per_step = self.cell.trace() * h_n;
        let (mut gx, mut gh) = (vec![0.0; g * h_n], vec![0.0; g * h_n]);
        let (mut carry, mut dc, mut direct, mut through) =
            (vec![0.0; h_n], vec![0.0; h_n], vec![0.0; h_n], vec![0.0; h_n]);
        let mut dh = vec![0.0; h_n];
        for t in (0..self.steps).rev() {
            for ((d, &y), &c) in dh.iter_mut().zip(&dys[t * h_n..(t + 1) * h_n]).zip(&carry) {
                *d = y + c;
            }
            let tr = &trace[t * per_step..(t + 1) * per_step];
            // the previous hidden state is the trace's last row
            let h_prev = &tr[per_step - h_n..];
            match self.cell {
                Cell::RnnTanh => cell::rnn_backward(&Tanh, tr, &dh, &mut gx),
                Cell::RnnRelu => cell::rnn_backward(&Relu, tr, &dh, &mut gx),
                Cell::Gru => cell::gru_backward(tr, &dh, &mut gx, &mut gh, &mut direct),
                Cell::Lstm => cell::lstm_backward(tr, &dh, &mut dc, &mut gx),
            }
            let gh = if self.cell == Cell::Gru { &gh } else { &gx };
            let x_t = &x[t * self.features..(t + 1) * self.features];
            match dx.as_deref_mut() {
                Some(dx) => {
                    let dx_t = &mut dx[t * self.features..(t + 1) * self.features];
                    dense::backward(&self.weight_ih, x_t, &gx, dx_t, gw_ih, gb_ih);
                }
                None => dense::backward_params(x_t, &gx, gw_ih, gb_ih),
            }
            dense::backward(&self.weight_hh, h_prev, gh, &mut through, gw_hh, gb_hh);
            if self.cell == Cell::Gru {
                for ((c, &a), &b) in carry.iter_mut().zip(&through).zip(&direct) {
                    *c = a + b;
                }
            } else {
                carry.copy_from_slice(&through);
            }
        }
    }

    fn sample_len(&self) -> (usize, usize) {
        let out = if self.sequence { self.steps * self.hidden } else { self.hidden };
        (self.steps * self.features, out)
    }
}

impl Op for Recurrent {
    fn kind(&self) -> &'static LayerKind {
        match self.cell {
            Cell::RnnTanh | Cell::RnnRelu => &RNN,
            Cell::Gru => &GRU,
            Cell::Lstm => &LSTM,
        }
    }
    fn attrs(&self) -> Attrs {
        let mut a = Attrs::new().num("hidden_size", self.hidden as f32);
        if self.cell == Cell::RnnRelu {
            a = a.word("nonlinearity", "relu");
        }
        if self.sequence {
            a = a.word("return", "sequence");
        }
        a
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor { name: "weight_ih_l0", shape: &self.w_ih_shape, values: &self.weight_ih },
            Tensor { name: "weight_hh_l0", shape: &self.w_hh_shape, values: &self.weight_hh },
            Tensor { name: "bias_ih_l0", shape: &self.w_ih_shape[..1], values: &self.bias_ih },
            Tensor { name: "bias_hh_l0", shape: &self.w_hh_shape[..1], values: &self.bias_hh },
        ]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight_ih, &mut self.weight_hh, &mut self.bias_ih, &mut self.bias_hh]
    }
    /// As the typed layers: `W_ih` and `b_ih` with fans `(F, G*H)`, `W_hh` and `b_hh` with
    /// `(H, G*H)`.
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let rows = self.cell.gates() * self.hidden;
        init.apply(&mut self.weight_ih, &mut self.bias_ih, self.features, rows, rng);
        init.apply(&mut self.weight_hh, &mut self.bias_hh, self.hidden, rows, rng);
    }
    fn macs(&self) -> usize {
        self.steps * (self.weight_ih.len() + self.weight_hh.len())
    }
    /// The typed layer's gates and states per step and, for `return=last`, the `[T][H]`
    /// sequence between it and its `LastStep`.
    fn trace_values(&self) -> usize {
        let sequence = if self.sequence { 0 } else { self.steps * self.hidden };
        self.steps * self.cell.trace() * self.hidden + sequence
    }
    /// `Gru<F, H, T>` (`Lstm`, `Rnn<F, H, T, Relu>`), with `LastStep<H, T>` after it for
    /// `return=last` (the pair as one element of the chain).
    fn rust(&self) -> Option<(String, String)> {
        let (ty, act) = match self.cell {
            Cell::RnnTanh => ("Rnn", ""),
            Cell::RnnRelu => ("Rnn", ", neurite::activation::Relu"),
            Cell::Gru => ("Gru", ""),
            Cell::Lstm => ("Lstm", ""),
        };
        let (f, h, t) = (self.features, self.hidden, self.steps);
        // `[G][H][cols]` from the row-major `[G*H][cols]`, and `[G][H]` from `[G*H]`
        let matrix = |w: &[f32], cols: usize| {
            let gates: Vec<String> = w
                .chunks(h * cols)
                .map(|gate| {
                    let rows: Vec<String> = gate.chunks(cols).map(crate::export::floats).collect();
                    format!("[{}]", rows.join(", "))
                })
                .collect();
            format!("[{}]", gates.join(", "))
        };
        let vector = |b: &[f32]| {
            let gates: Vec<String> = b.chunks(h).map(crate::export::floats).collect();
            format!("[{}]", gates.join(", "))
        };
        let value_act = match self.cell {
            Cell::RnnTanh => ", act: neurite::activation::Tanh",
            Cell::RnnRelu => ", act: neurite::activation::Relu",
            _ => "",
        };
        let layer_ty = format!("neurite::layer::{ty}<{f}, {h}, {t}{act}>");
        let layer = format!(
            "neurite::layer::{ty} {{ weight_ih: {}, weight_hh: {}, bias_ih: {}, bias_hh: {}{value_act} }}",
            matrix(&self.weight_ih, f),
            matrix(&self.weight_hh, h),
            vector(&self.bias_ih),
            vector(&self.bias_hh),
        );
        Some(if self.sequence {
            (layer_ty, layer)
        } else {
            (
                format!("({layer_ty}, neurite::layer::LastStep<{h}, {t}>)"),
                format!("({layer}, neurite::layer::LastStep)"),
            )
        })
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let (il, ol) = self.sample_len();
        let mut hs = vec![0.0; self.steps * self.hidden];
        for n in 0..batch {
            self.run(&x[n * il..(n + 1) * il], &mut hs, None);
            let out = &mut y[n * ol..(n + 1) * ol];
            out.copy_from_slice(&hs[hs.len() - ol..]);
        }
    }
    fn forward_train(
        &mut self,
        _: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        let (il, ol) = self.sample_len();
        let per_sample = self.steps * self.cell.trace() * self.hidden;
        saved.values.clear();
        saved.values.resize(batch * per_sample, 0.0);
        let mut hs = vec![0.0; self.steps * self.hidden];
        for n in 0..batch {
            let trace = &mut saved.values[n * per_sample..(n + 1) * per_sample];
            self.run(&x[n * il..(n + 1) * il], &mut hs, Some(trace));
            y[n * ol..(n + 1) * ol].copy_from_slice(&hs[hs.len() - ol..]);
        }
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        let (il, ol) = self.sample_len();
        let per_sample = self.steps * self.cell.trace() * self.hidden;
        // `return=last`: the gradient reaches the last step only
        let mut dys = vec![0.0; self.steps * self.hidden];
        for n in 0..batch {
            let start = dys.len() - ol;
            dys[..start].fill(0.0);
            dys[start..].copy_from_slice(&dy[n * ol..(n + 1) * ol]);
            let trace = &saved.values[n * per_sample..(n + 1) * per_sample];
            let dx_n = dx.as_deref_mut().map(|d| &mut d[n * il..(n + 1) * il]);
            self.bptt(&x[n * il..(n + 1) * il], trace, &dys, dx_n, grads);
        }
    }
}
