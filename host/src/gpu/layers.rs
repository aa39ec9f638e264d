//! A [`DynModel`]'s layers lowered to GPU kernels, and each layer's forward and backward
//! dispatches over a batch.
//!
//! Dense: `Y = X W^T + b` (rows = samples x positions), `dW = dY^T X`, `db` = column sums
//! of `dY`, `dX = dY W`. Convolution (im2col): `col = im2col(X)` (`[C*KH*KW][B*P]`),
//! `Y' = W col` (`[O][B*P]`, unpermuted to `[B][O][P]`) `+ b`, `dW = dY' col^T`, `db` = row sums of `dY'`, `dX = col2im(W^T dY')`
//! with `dY'` = `dY` permuted to `[O][B*P]`. Pooling and activations element by element.

use super::context::Gpu;
use super::kernels::{k_splits, ConvKernel, Dispatch, Matmul, PoolKernel, SumKernel};
use crate::dynamic::layers::activation::Activation;
use crate::dynamic::layers::conv::Conv;
use crate::dynamic::layers::pool::Pool;
use crate::dynamic::DynModel;
use neurite::kernel::conv::Conv2dGeom;
use neurite::kernel::pool::Pool2dGeom;

/// What a layer runs on the GPU.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lowered {
    /// `ins -> outs` on the last axis, with or without bias.
    Dense { ins: usize, outs: usize, bias: bool },
    /// `ActivationKind::encode`'s code and options.
    Activation((u8, f32, f32)),
    /// A convolution of one group, with or without bias.
    Conv { geom: Conv2dGeom, bias: bool },
    /// Max (`true`) or average pooling.
    Pool { geom: Pool2dGeom, max: bool },
    /// Softmax (`log`: log-softmax) over the last axis of `n` values.
    Softmax { n: usize, log: bool },
    /// Same values, another shape: no kernel.
    Reshape,
}

/// One lowered layer: its kernels, sample sizes and first tensor's index in the model.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GpuLayer {
    pub lowered: Lowered,
    pub in_len: usize,
    pub out_len: usize,
    /// Index of its first tensor among the model's tensors.
    pub first_tensor: usize,
}

/// The layers the GPU runs, in words (the refusal's message).
pub const GPU_LAYERS: &str =
    "dense, conv1d/conv2d (groups 1), max and average pooling, flatten, softmax, log_softmax and every activation";

/// Lowers every layer of `model`, or says which one the GPU cannot run.
pub(crate) fn lower(model: &DynModel) -> Result<Vec<GpuLayer>, String> {
    let mut first_tensor = 0;
    let mut layers = Vec::with_capacity(model.layers.len());
    for (index, op) in model.layers.iter().enumerate() {
        let name = op.kind().name;
        let any = op.as_any();
        let tensors = op.params();
        let refuse = |why: &str| {
            format!(
                "layer {} ({name}){why} has no GPU kernel: the GPU runs {GPU_LAYERS}",
                index + 1
            )
        };
        let lowered = if let Some(a) = any.downcast_ref::<Activation>() {
            Lowered::Activation(a.act.encode())
        } else if let Some(c) = any.downcast_ref::<Conv>() {
            if c.geom.groups != 1 {
                return Err(refuse(" with groups > 1"));
            }
            Lowered::Conv { geom: c.geom, bias: c.bias.is_some() }
        } else if let Some(p) = any.downcast_ref::<Pool>() {
            Lowered::Pool { geom: p.geom, max: name.starts_with("max") }
        } else if name == "dense" {
            let shape = tensors.first().map_or(&[][..], |t| t.shape);
            let [outs, ins] = shape else { return Err(refuse("")) };
            Lowered::Dense { ins: *ins, outs: *outs, bias: tensors.len() == 2 }
        } else if name == "softmax" || name == "log_softmax" {
            let n = op.input_shape().last().copied().unwrap_or(1);
            Lowered::Softmax { n, log: name == "log_softmax" }
        } else if name == "flatten" {
            Lowered::Reshape
        } else {
            return Err(refuse(""));
        };
        let in_len = op.input_shape().iter().product();
        let out_len = op.output_shape().iter().product();
        layers.push(GpuLayer { lowered, in_len, out_len, first_tensor });
        first_tensor += tensors.len();
    }
    Ok(layers)
}

/// The buffers one layer's kernels read and write.
pub(crate) struct LayerBuffers<'a> {
    /// Input and output activations (`batch` rows).
    pub x: &'a wgpu::Buffer,
    pub y: &'a wgpu::Buffer,
    /// Gradients of the output and (when the layer is not the first) of the input.
    pub dy: &'a wgpu::Buffer,
    pub dx: Option<&'a wgpu::Buffer>,
    /// The layer's tensors and their gradients, in the model's order.
    pub params: &'a [wgpu::Buffer],
    pub grads: &'a [wgpu::Buffer],
    /// im2col columns, their gradient, the permuted `y` and `dy` (convolution); argmax (max
    /// pool).
    pub scratch: &'a [wgpu::Buffer],
}

/// Scratch buffers a layer needs for `batch` rows, in floats (`LayerBuffers::scratch`):
/// dense: the weight gradient's split-k partials; convolution: im2col columns, their
/// gradient, the permuted output (forward) and gradient (backward), the weight gradient's
/// partials; max pooling: the argmax of each output.
pub(crate) fn scratch_lens(layer: &GpuLayer, batch: usize) -> Vec<usize> {
    let partials = |m: usize, n: usize, k: usize| match k_splits(m, n, k) {
        1 => 1,
        s => s * m * n,
    };
    match layer.lowered {
        Lowered::Dense { ins, outs, .. } => vec![partials(outs, ins, batch * layer.in_len / ins)],
        Lowered::Conv { geom: g, .. } => {
            let (k, positions) = (g.weight_len() / g.out_channels, g.out_h() * g.out_w());
            let columns = batch * positions;
            let o = g.out_channels;
            vec![k * columns, k * columns, o * columns, partials(o, k, columns)]
        }
        Lowered::Pool { max: true, .. } => vec![batch * layer.out_len],
        _ => Vec::new(),
    }
}

fn conv_words(g: &Conv2dGeom, batch: usize, n: usize) -> [u32; 16] {
    let w = |v: usize| v as u32;
    [
        w(g.in_channels),
        w(g.in_h),
        w(g.in_w),
        w(g.out_channels),
        w(g.kernel[0]),
        w(g.kernel[1]),
        w(g.stride[0]),
        w(g.stride[1]),
        w(g.padding[0]),
        w(g.padding[1]),
        w(g.dilation[0]),
        w(g.dilation[1]),
        w(g.out_h()),
        w(g.out_w()),
        w(batch),
        w(n),
    ]
}

fn pool_words(g: &Pool2dGeom, n: usize) -> [u32; 12] {
    let w = |v: usize| v as u32;
    [
        w(g.channels),
        w(g.in_h),
        w(g.in_w),
        w(n),
        w(g.kernel[0]),
        w(g.kernel[1]),
        w(g.stride[0]),
        w(g.stride[1]),
        w(g.padding[0]),
        w(g.padding[1]),
        w(g.out_h()),
        w(g.out_w()),
    ]
}

/// The forward dispatches of `layer` over `batch` rows.
pub(crate) fn forward(
    gpu: &Gpu,
    layer: &GpuLayer,
    b: &LayerBuffers<'_>,
    batch: usize,
) -> Vec<Dispatch> {
    let t = layer.first_tensor;
    match layer.lowered {
        Lowered::Dense { ins, outs, bias } => {
            let rows = batch * layer.in_len / ins;
            let mm = Matmul {
                m: rows,
                n: outs,
                k: ins,
                trans_b: true,
                lda: ins,
                ldb: ins,
                ldc: outs,
                ..Matmul::default()
            };
            let mut d = vec![gpu.matmul(&mm, b.x, &b.params[t], b.y)];
            if bias {
                d.push(gpu.bias(rows * outs, outs, 1, &b.params[t + 1], b.y));
            }
            d
        }
        Lowered::Activation(act) => {
            vec![gpu.activation_forward(act, batch * layer.in_len, b.x, b.y)]
        }
        Lowered::Conv { geom: g, bias } => {
            let (k, positions) = (g.weight_len() / g.out_channels, g.out_h() * g.out_w());
            let columns = batch * positions;
            let (col, yt) = (&b.scratch[0], &b.scratch[2]);
            let mm = Matmul {
                m: g.out_channels,
                n: columns,
                k,
                lda: k,
                ldb: columns,
                ldc: columns,
                ..Matmul::default()
            };
            let out = batch * layer.out_len;
            let mut d = vec![
                gpu.conv(ConvKernel::Im2col, conv_words(&g, batch, k * columns), b.x, col),
                gpu.matmul(&mm, &b.params[t], col, yt),
                gpu.conv(ConvKernel::Unpermute, conv_words(&g, batch, out), yt, b.y),
            ];
            if bias {
                d.push(gpu.bias(out, g.out_channels, positions, &b.params[t + 1], b.y));
            }
            d
        }
        Lowered::Pool { geom, max } => {
            let words = pool_words(&geom, batch * layer.out_len);
            if max {
                vec![gpu.pool(PoolKernel::MaxForward, words, b.x, b.y, Some(&b.scratch[0]))]
            } else {
                vec![gpu.pool(PoolKernel::AvgForward, words, b.x, b.y, None)]
            }
        }
        Lowered::Softmax { n, log } => {
            vec![gpu.softmax(batch * layer.in_len / n, n, log, b.x, b.y, None)]
        }
        Lowered::Reshape => Vec::new(),
    }
}

/// The backward dispatches of `layer` over `batch` rows: its tensors' gradients (written,
/// not added) and, when `b.dx` is given, the input's gradient.
pub(crate) fn backward(
    gpu: &Gpu,
    layer: &GpuLayer,
    b: &LayerBuffers<'_>,
    batch: usize,
) -> Vec<Dispatch> {
    let t = layer.first_tensor;
    let mut d = Vec::new();
    match layer.lowered {
        Lowered::Dense { ins, outs, bias } => {
            let rows = batch * layer.in_len / ins;
            let dw = Matmul {
                m: outs,
                n: ins,
                k: rows,
                trans_a: true,
                lda: outs,
                ldb: ins,
                ldc: ins,
                ..Matmul::default()
            };
            let splits = k_splits(outs, ins, rows);
            d.extend(gpu.matmul_split(&dw, splits, [b.dy, b.x, &b.grads[t], &b.scratch[0]]));
            if bias {
                d.push(gpu.sum(SumKernel::Tree, outs, rows, 1, outs, b.dy, &b.grads[t + 1]));
            }
            if let Some(dx) = b.dx {
                let mm = Matmul {
                    m: rows,
                    n: ins,
                    k: outs,
                    lda: outs,
                    ldb: ins,
                    ldc: ins,
                    ..Matmul::default()
                };
                d.push(gpu.matmul(&mm, b.dy, &b.params[t], dx));
            }
        }
        Lowered::Activation(act) => {
            if let Some(dx) = b.dx {
                d.push(gpu.activation_backward(act, batch * layer.in_len, b.x, b.dy, dx));
            }
        }
        Lowered::Conv { geom: g, bias } => {
            let (k, positions) = (g.weight_len() / g.out_channels, g.out_h() * g.out_w());
            let columns = batch * positions;
            let (col, dcol, dyt) = (&b.scratch[0], &b.scratch[1], &b.scratch[2]);
            let o = g.out_channels;
            d.push(gpu.conv(
                ConvKernel::Permute,
                conv_words(&g, batch, batch * o * positions),
                b.dy,
                dyt,
            ));
            let dw = Matmul {
                m: o,
                n: k,
                k: columns,
                trans_b: true,
                lda: columns,
                ldb: columns,
                ldc: k,
                ..Matmul::default()
            };
            let splits = k_splits(o, k, columns);
            d.extend(gpu.matmul_split(&dw, splits, [dyt, col, &b.grads[t], &b.scratch[3]]));
            if bias {
                d.push(gpu.sum(SumKernel::Tree, o, columns, columns, 1, dyt, &b.grads[t + 1]));
            }
            if let Some(dx) = b.dx {
                let mm = Matmul {
                    m: k,
                    n: columns,
                    k: o,
                    trans_a: true,
                    lda: k,
                    ldb: columns,
                    ldc: columns,
                    ..Matmul::default()
                };
                d.push(gpu.matmul(&mm, &b.params[t], dyt, dcol));
                d.push(gpu.conv(
                    ConvKernel::Col2im,
                    conv_words(&g, batch, batch * layer.in_len),
                    dcol,
                    dx,
                ));
            }
        }
        Lowered::Pool { geom, max } => {
            if let Some(dx) = b.dx {
                let words = pool_words(&geom, batch * layer.in_len);
                d.push(if max {
                    gpu.pool(PoolKernel::MaxBackward, words, b.dy, dx, Some(&b.scratch[0]))
                } else {
                    gpu.pool(PoolKernel::AvgBackward, words, b.dy, dx, None)
                });
            }
        }
        Lowered::Softmax { n, log } => {
            if let Some(dx) = b.dx {
                d.push(gpu.softmax(batch * layer.in_len / n, n, log, b.y, dx, Some(b.dy)));
            }
        }
        Lowered::Reshape => {}
    }
    d
}
