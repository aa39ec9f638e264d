//! Recurrent layers over a sequence of `T` steps fixed in the type: [`Rnn`], [`Gru`] and
//! [`Lstm`] (PyTorch's `nn.RNN`, `nn.GRU`, `nn.LSTM`, one layer, `batch_first`, zero initial
//! state), and [`LastStep`], which keeps the last step's output.
//!
//! Input `[[f32; I]; T]` (`T` steps of `I` features), output `[[f32; H]; T]` (the hidden
//! state after every step). Parameters in PyTorch's order, names and layouts:
//! `weight_ih_l0` `[G * H][I]`, `weight_hh_l0` `[G * H][H]`, `bias_ih_l0` and `bias_hh_l0`
//! `[G * H]`, with `G` gates stacked in PyTorch's order (GRU `r, z, n`; LSTM `i, f, g, o`;
//! RNN one), so weights from PyTorch load unchanged. The trace keeps each step's gates and
//! states, its size a compile-time constant (`size_of::<Trace>()`), and the backward pass
//! runs backpropagation through time: steps from the last to the first, each step's weight
//! gradient added to the running sum in that order.
//!
//! Streaming on a device: `step` takes one time step and the carried state (hidden, and
//! the LSTM's cell); the whole-sequence forward is the same steps, so the results are the
//! same bits.

use super::activation::ConstDefault;
use super::{Ctx, Infer, Layer, LayerDesc};
use crate::activation::{Activation, Tanh};
use crate::init::LayerInit;
use crate::kernel::dense;
use crate::kernel::recurrent::{self, GRU_TRACE, LSTM_TRACE, RNN_TRACE};
use crate::params::{Params, Zeroed};
use crate::rng::Rng;

/// The four tensors of a recurrent layer with `G` gates, in PyTorch's order.
macro_rules! recurrent_params {
    ($t:ident, $g:literal $(, $extra:ident)*) => {
        impl<const I: usize, const H: usize, const T: usize $(, $extra: ConstDefault)*> Zeroed
            for $t<I, H, T $(, $extra)*>
        {
            const ZEROED: Self = Self {
                weight_ih: [[[0.0; I]; H]; $g],
                weight_hh: [[[0.0; H]; H]; $g],
                bias_ih: [[0.0; H]; $g],
                bias_hh: [[0.0; H]; $g],
                $(act: <$extra as ConstDefault>::DEFAULT,)*
            };
        }

        impl<const I: usize, const H: usize, const T: usize $(, $extra)*> Params
            for $t<I, H, T $(, $extra)*>
        {
            const TENSORS: usize = 4;
            const LEN: usize = $g * H * (I + H + 2);
            fn tensor(&self, i: usize) -> &[f32] {
                match i {
                    0 => self.weight_ih.as_flattened().as_flattened(),
                    1 => self.weight_hh.as_flattened().as_flattened(),
                    2 => self.bias_ih.as_flattened(),
                    3 => self.bias_hh.as_flattened(),
                    _ => &[],
                }
            }
            fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
                match i {
                    0 => self.weight_ih.as_flattened_mut().as_flattened_mut(),
                    1 => self.weight_hh.as_flattened_mut().as_flattened_mut(),
                    2 => self.bias_ih.as_flattened_mut(),
                    3 => self.bias_hh.as_flattened_mut(),
                    _ => &mut [],
                }
            }
        }

        impl<const I: usize, const H: usize, const T: usize $(, $extra)*> $t<I, H, T $(, $extra)*> {
            /// The gates' two sums for input `x` and hidden state `h`:
            /// `sx = W_ih x + b_ih`, `sh = W_hh h + b_hh` (each [`dense::forward`]).
            fn sums(&self, x: &[f32; I], h: &[f32; H]) -> ([[f32; H]; $g], [[f32; H]; $g]) {
                let (mut sx, mut sh) = ([[0.0; H]; $g], [[0.0; H]; $g]);
                let w_ih = self.weight_ih.as_flattened().as_flattened();
                let w_hh = self.weight_hh.as_flattened().as_flattened();
                dense::forward(w_ih, self.bias_ih.as_flattened(), x, sx.as_flattened_mut());
                dense::forward(w_hh, self.bias_hh.as_flattened(), h, sh.as_flattened_mut());
                (sx, sh)
            }

            /// Gradients of one step from the gates' sums' gradients: `gx` to `W_ih`,
            /// `b_ih` and (unless `None`) the step's input, `gh` to `W_hh`, `b_hh` and
            /// `dh_prev` (overwritten: `W_hh^T gh`).
            #[allow(clippy::too_many_arguments)]
            fn step_grads(
                &self,
                x: &[f32; I],
                h_prev: &[f32],
                gx: &[[f32; H]; $g],
                gh: &[[f32; H]; $g],
                dx: Option<&mut [f32; I]>,
                dh_prev: &mut [f32; H],
                grads: &mut Self,
            ) {
                let w_ih = self.weight_ih.as_flattened().as_flattened();
                let gw_ih = grads.weight_ih.as_flattened_mut().as_flattened_mut();
                match dx {
                    Some(dx) => dense::backward(
                        w_ih,
                        x,
                        gx.as_flattened(),
                        dx,
                        gw_ih,
                        grads.bias_ih.as_flattened_mut(),
                    ),
                    None => dense::backward_params(
                        x,
                        gx.as_flattened(),
                        gw_ih,
                        grads.bias_ih.as_flattened_mut(),
                    ),
                }
                dense::backward(
                    self.weight_hh.as_flattened().as_flattened(),
                    h_prev,
                    gh.as_flattened(),
                    dh_prev,
                    grads.weight_hh.as_flattened_mut().as_flattened_mut(),
                    grads.bias_hh.as_flattened_mut(),
                );
            }

            fn init_params(&mut self, init: &LayerInit, rng: &mut Rng) {
                let (w_ih, b_ih) = (
                    self.weight_ih.as_flattened_mut().as_flattened_mut(),
                    self.bias_ih.as_flattened_mut(),
                );
                init.apply(w_ih, b_ih, I, $g * H, rng);
                let (w_hh, b_hh) = (
                    self.weight_hh.as_flattened_mut().as_flattened_mut(),
                    self.bias_hh.as_flattened_mut(),
                );
                init.apply(w_hh, b_hh, H, $g * H, rng);
            }
        }

        impl<const I: usize, const H: usize, const T: usize $(, $extra)*> super::PerSample
            for $t<I, H, T $(, $extra)*>
        where
            Self: Layer,
        {
        }
    };
}

/// A GRU layer, `nn.GRU(I, H, batch_first=True)`: per step `r = sigmoid(W_ir x + b_ir + W_hr
/// h + b_hr)`, `z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)`, `n = tanh(W_in x + b_in + r *
/// (W_hn h + b_hn))`, `h' = n + z * (h - n)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gru<const I: usize, const H: usize, const T: usize> {
    /// `weight_ih_l0`: `[3][H][I]` (gates `r, z, n`).
    pub weight_ih: [[[f32; I]; H]; 3],
    /// `weight_hh_l0`: `[3][H][H]`.
    pub weight_hh: [[[f32; H]; H]; 3],
    /// `bias_ih_l0`: `[3][H]`.
    pub bias_ih: [[f32; H]; 3],
    /// `bias_hh_l0`: `[3][H]`.
    pub bias_hh: [[f32; H]; 3],
}

recurrent_params!(Gru, 3);

/// The `Layer` methods every recurrent layer shares: both backward passes through its
/// `bptt` (with and without the input gradient) and initialisation through `init_params`.
macro_rules! bptt_layer_methods {
    () => {
        fn backward(
            &self,
            x: &Self::Input,
            trace: &Self::Trace,
            dy: &Self::Output,
            dx: &mut Self::Input,
            grads: &mut Self,
        ) {
            self.bptt(x, trace, dy, Some(dx), grads);
        }

        fn backward_params(
            &self,
            x: &Self::Input,
            trace: &Self::Trace,
            dy: &Self::Output,
            grads: &mut Self,
        ) {
            self.bptt(x, trace, dy, None, grads);
        }

        fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
            self.init_params(init, rng);
        }
    };
}

impl<const I: usize, const H: usize, const T: usize> Gru<I, H, T> {
    /// One time step for streaming: `h` is the hidden state before `x`, and after.
    pub fn step(&self, x: &[f32; I], h: &mut [f32; H]) {
        let mut trace = [[0.0; H]; GRU_TRACE];
        let prev = *h;
        self.step_traced(x, &prev, h, &mut trace);
    }

    fn step_traced(
        &self,
        x: &[f32; I],
        h: &[f32; H],
        h_out: &mut [f32; H],
        trace: &mut [[f32; H]; GRU_TRACE],
    ) {
        let (sx, sh) = self.sums(x, h);
        recurrent::gru_forward(
            sx.as_flattened(),
            sh.as_flattened(),
            h,
            h_out,
            trace.as_flattened_mut(),
        );
    }

    fn run(
        &self,
        x: &[[f32; I]; T],
        trace: &mut [[[f32; H]; GRU_TRACE]; T],
        y: &mut [[f32; H]; T],
    ) {
        let mut h = [0.0; H];
        for ((x_t, tr), y_t) in x.iter().zip(trace.iter_mut()).zip(y.iter_mut()) {
            self.step_traced(x_t, &h, y_t, tr);
            h = *y_t;
        }
    }

    fn bptt(
        &self,
        x: &[[f32; I]; T],
        trace: &[[[f32; H]; GRU_TRACE]; T],
        dy: &[[f32; H]; T],
        mut dx: Option<&mut [[f32; I]; T]>,
        grads: &mut Self,
    ) {
        let mut carry = [0.0f32; H];
        for t in (0..T).rev() {
            let dh: [f32; H] = core::array::from_fn(|j| dy[t][j] + carry[j]);
            let (mut gx, mut gh, mut direct) = ([[0.0; H]; 3], [[0.0; H]; 3], [0.0; H]);
            let tr = trace[t].as_flattened();
            recurrent::gru_backward(
                tr,
                &dh,
                gx.as_flattened_mut(),
                gh.as_flattened_mut(),
                &mut direct,
            );
            let dx_t = dx.as_deref_mut().map(|d| &mut d[t]);
            let mut through = [0.0; H];
            self.step_grads(&x[t], &trace[t][4], &gx, &gh, dx_t, &mut through, grads);
            carry = core::array::from_fn(|j| through[j] + direct[j]);
        }
    }
}

impl<const I: usize, const H: usize, const T: usize> Infer for Gru<I, H, T> {
    type Input = [[f32; I]; T];
    type Output = [[f32; H]; T];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let mut h = [0.0; H];
        for (x_t, y_t) in x.iter().zip(y.iter_mut()) {
            self.step(x_t, &mut h);
            *y_t = h;
        }
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let mut h = [0.0; H];
        for (x_t, y_t) in x.chunks_exact(I).zip(y.chunks_exact_mut(H)).take(T) {
            if let Ok(x_t) = x_t.try_into() {
                self.step(x_t, &mut h);
            }
            y_t.copy_from_slice(&h);
        }
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "gru", inputs: I * T, outputs: H * T, params: Self::LEN });
    }
}

impl<const I: usize, const H: usize, const T: usize> Layer for Gru<I, H, T> {
    type Trace = [[[f32; H]; GRU_TRACE]; T];
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(
        &self,
        _: &mut Ctx<'_>,
        x: &Self::Input,
        trace: &mut Self::Trace,
        y: &mut Self::Output,
    ) {
        self.run(x, trace, y);
    }

    bptt_layer_methods!();
}

/// An LSTM layer, `nn.LSTM(I, H, batch_first=True)`: per step, with `a = W_i* x + b_i* +
/// W_h* h + b_h*` per gate, `i = sigmoid(a_i)`, `f = sigmoid(a_f)`, `g = tanh(a_g)`,
/// `o = sigmoid(a_o)`, `c' = f * c + i * g`, `h' = o * tanh(c')`. The output is every step's
/// `h'`; the cell state stays inside (zero at the start).
#[derive(Clone, Debug, PartialEq)]
pub struct Lstm<const I: usize, const H: usize, const T: usize> {
    /// `weight_ih_l0`: `[4][H][I]` (gates `i, f, g, o`).
    pub weight_ih: [[[f32; I]; H]; 4],
    /// `weight_hh_l0`: `[4][H][H]`.
    pub weight_hh: [[[f32; H]; H]; 4],
    /// `bias_ih_l0`: `[4][H]`.
    pub bias_ih: [[f32; H]; 4],
    /// `bias_hh_l0`: `[4][H]`.
    pub bias_hh: [[f32; H]; 4],
}

recurrent_params!(Lstm, 4);

impl<const I: usize, const H: usize, const T: usize> Lstm<I, H, T> {
    /// One time step for streaming: `h` and `c` are the hidden and cell states before `x`,
    /// and after.
    pub fn step(&self, x: &[f32; I], h: &mut [f32; H], c: &mut [f32; H]) {
        let mut trace = [[0.0; H]; LSTM_TRACE];
        let (hp, cp) = (*h, *c);
        self.step_traced(x, &hp, &cp, h, c, &mut trace);
    }

    fn step_traced(
        &self,
        x: &[f32; I],
        h: &[f32; H],
        c: &[f32; H],
        h_out: &mut [f32; H],
        c_out: &mut [f32; H],
        trace: &mut [[f32; H]; LSTM_TRACE],
    ) {
        let (sx, sh) = self.sums(x, h);
        let (sx, sh) = (sx.as_flattened(), sh.as_flattened());
        recurrent::lstm_forward(sx, sh, h, c, h_out, c_out, trace.as_flattened_mut());
    }

    fn bptt(
        &self,
        x: &[[f32; I]; T],
        trace: &[[[f32; H]; LSTM_TRACE]; T],
        dy: &[[f32; H]; T],
        mut dx: Option<&mut [[f32; I]; T]>,
        grads: &mut Self,
    ) {
        let (mut carry, mut dc) = ([0.0f32; H], [0.0f32; H]);
        for t in (0..T).rev() {
            let dh: [f32; H] = core::array::from_fn(|j| dy[t][j] + carry[j]);
            let mut ga = [[0.0; H]; 4];
            recurrent::lstm_backward(trace[t].as_flattened(), &dh, &mut dc, ga.as_flattened_mut());
            let dx_t = dx.as_deref_mut().map(|d| &mut d[t]);
            self.step_grads(&x[t], &trace[t][6], &ga, &ga, dx_t, &mut carry, grads);
        }
    }
}

impl<const I: usize, const H: usize, const T: usize> Infer for Lstm<I, H, T> {
    type Input = [[f32; I]; T];
    type Output = [[f32; H]; T];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let (mut h, mut c) = ([0.0; H], [0.0; H]);
        for (x_t, y_t) in x.iter().zip(y.iter_mut()) {
            self.step(x_t, &mut h, &mut c);
            *y_t = h;
        }
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let (mut h, mut c) = ([0.0; H], [0.0; H]);
        for (x_t, y_t) in x.chunks_exact(I).zip(y.chunks_exact_mut(H)).take(T) {
            if let Ok(x_t) = x_t.try_into() {
                self.step(x_t, &mut h, &mut c);
            }
            y_t.copy_from_slice(&h);
        }
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "lstm", inputs: I * T, outputs: H * T, params: Self::LEN });
    }
}

impl<const I: usize, const H: usize, const T: usize> Layer for Lstm<I, H, T> {
    type Trace = [[[f32; H]; LSTM_TRACE]; T];
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(
        &self,
        _: &mut Ctx<'_>,
        x: &Self::Input,
        trace: &mut Self::Trace,
        y: &mut Self::Output,
    ) {
        let (mut h, mut c) = ([0.0; H], [0.0; H]);
        for ((x_t, tr), y_t) in x.iter().zip(trace.iter_mut()).zip(y.iter_mut()) {
            let mut c_next = [0.0; H];
            self.step_traced(x_t, &h, &c, y_t, &mut c_next, tr);
            (h, c) = (*y_t, c_next);
        }
    }

    bptt_layer_methods!();
}

/// An Elman RNN layer, `nn.RNN(I, H, nonlinearity=..., batch_first=True)`: per step
/// `h' = act(W_ih x + b_ih + W_hh h + b_hh)`, `act` [`Tanh`] (PyTorch's default) or
/// [`crate::activation::Relu`].
#[derive(Clone, Debug, PartialEq)]
pub struct Rnn<const I: usize, const H: usize, const T: usize, A = Tanh> {
    /// `weight_ih_l0`: `[1][H][I]`.
    pub weight_ih: [[[f32; I]; H]; 1],
    /// `weight_hh_l0`: `[1][H][H]`.
    pub weight_hh: [[[f32; H]; H]; 1],
    /// `bias_ih_l0`: `[1][H]`.
    pub bias_ih: [[f32; H]; 1],
    /// `bias_hh_l0`: `[1][H]`.
    pub bias_hh: [[f32; H]; 1],
    /// The nonlinearity.
    pub act: A,
}

recurrent_params!(Rnn, 1, A);

impl<const I: usize, const H: usize, const T: usize, A: Activation> Rnn<I, H, T, A> {
    /// One time step for streaming: `h` is the hidden state before `x`, and after.
    pub fn step(&self, x: &[f32; I], h: &mut [f32; H]) {
        let mut trace = [[0.0; H]; RNN_TRACE];
        let prev = *h;
        self.step_traced(x, &prev, h, &mut trace);
    }

    fn step_traced(
        &self,
        x: &[f32; I],
        h: &[f32; H],
        h_out: &mut [f32; H],
        trace: &mut [[f32; H]; RNN_TRACE],
    ) {
        let (sx, sh) = self.sums(x, h);
        let (sx, sh) = (sx.as_flattened(), sh.as_flattened());
        recurrent::rnn_forward(&self.act, sx, sh, h, h_out, trace.as_flattened_mut());
    }

    fn bptt(
        &self,
        x: &[[f32; I]; T],
        trace: &[[[f32; H]; RNN_TRACE]; T],
        dy: &[[f32; H]; T],
        mut dx: Option<&mut [[f32; I]; T]>,
        grads: &mut Self,
    ) {
        let mut carry = [0.0f32; H];
        for t in (0..T).rev() {
            let dh: [f32; H] = core::array::from_fn(|j| dy[t][j] + carry[j]);
            let mut ga = [[0.0; H]; 1];
            recurrent::rnn_backward(&self.act, trace[t].as_flattened(), &dh, ga.as_flattened_mut());
            let dx_t = dx.as_deref_mut().map(|d| &mut d[t]);
            self.step_grads(&x[t], &trace[t][1], &ga, &ga, dx_t, &mut carry, grads);
        }
    }
}

impl<const I: usize, const H: usize, const T: usize, A: Activation> Infer for Rnn<I, H, T, A> {
    type Input = [[f32; I]; T];
    type Output = [[f32; H]; T];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let mut h = [0.0; H];
        for (x_t, y_t) in x.iter().zip(y.iter_mut()) {
            self.step(x_t, &mut h);
            *y_t = h;
        }
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let mut h = [0.0; H];
        for (x_t, y_t) in x.chunks_exact(I).zip(y.chunks_exact_mut(H)).take(T) {
            if let Ok(x_t) = x_t.try_into() {
                self.step(x_t, &mut h);
            }
            y_t.copy_from_slice(&h);
        }
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "rnn", inputs: I * T, outputs: H * T, params: Self::LEN });
    }
}

impl<const I: usize, const H: usize, const T: usize, A: Activation + ConstDefault> Layer
    for Rnn<I, H, T, A>
{
    type Trace = [[[f32; H]; RNN_TRACE]; T];
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(
        &self,
        _: &mut Ctx<'_>,
        x: &Self::Input,
        trace: &mut Self::Trace,
        y: &mut Self::Output,
    ) {
        let mut h = [0.0; H];
        for ((x_t, tr), y_t) in x.iter().zip(trace.iter_mut()).zip(y.iter_mut()) {
            self.step_traced(x_t, &h, y_t, tr);
            h = *y_t;
        }
    }

    bptt_layer_methods!();
}

/// The last step of a sequence: `[[f32; H]; T]` in, `[f32; H]` out (the final hidden state
/// of a recurrent layer, for a classifier head); its backward puts the gradient on the last
/// step and zero on the others.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LastStep<const H: usize, const T: usize>;

crate::params::no_params! {
    [const H: usize, const T: usize] LastStep<H, T>;
}

impl<const H: usize, const T: usize> Infer for LastStep<H, T> {
    type Input = [[f32; H]; T];
    type Output = [f32; H];

    fn forward(&self, x: &Self::Input, y: &mut [f32; H]) {
        if let Some(last) = x.last() {
            *y = *last;
        }
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let from = x.len().saturating_sub(H);
        super::copy_flat(&x[from..], y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "last_step", inputs: H * T, outputs: H, params: 0 });
    }
}

impl<const H: usize, const T: usize> Layer for LastStep<H, T> {
    type Trace = ();
    type Grads = ();
    const DEFAULT: Self = Self;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut [f32; H]) {
        self.forward(x, y);
    }

    fn backward(&self, _: &Self::Input, _: &(), dy: &[f32; H], dx: &mut Self::Input, _: &mut ()) {
        for row in dx.iter_mut() {
            *row = [0.0; H];
        }
        if let Some(last) = dx.last_mut() {
            *last = *dy;
        }
    }

    fn backward_params(&self, _: &Self::Input, _: &(), _: &[f32; H], _: &mut ()) {}
}

impl<const H: usize, const T: usize> super::PerSample for LastStep<H, T> {}
