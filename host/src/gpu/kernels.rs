//! The compute kernels (WGSL in `shaders/`) and the dispatches that bind them to buffers.
//!
//! Every kernel's parameters are a uniform of 32-bit words whose layout is the WGSL struct
//! of the same name; the constructors here are the one place that writes them.

use super::context::Gpu;

/// The compiled pipelines, one per WGSL entry point.
pub(crate) struct Kernels {
    matmul: wgpu::ComputePipeline,
    act_forward: wgpu::ComputePipeline,
    act_backward: wgpu::ComputePipeline,
    softmax_forward: wgpu::ComputePipeline,
    softmax_backward: wgpu::ComputePipeline,
    bias: wgpu::ComputePipeline,
    sum: wgpu::ComputePipeline,
    sum_few: wgpu::ComputePipeline,
    im2col: wgpu::ComputePipeline,
    col2im: wgpu::ComputePipeline,
    permute: wgpu::ComputePipeline,
    unpermute: wgpu::ComputePipeline,
    max_forward: wgpu::ComputePipeline,
    max_backward: wgpu::ComputePipeline,
    avg_forward: wgpu::ComputePipeline,
    avg_backward: wgpu::ComputePipeline,
    loss_per_sample: wgpu::ComputePipeline,
    loss_total: wgpu::ComputePipeline,
    grad_check: wgpu::ComputePipeline,
    update: wgpu::ComputePipeline,
}

const STEP: &str = include_str!("shaders/step.wgsl");

impl Kernels {
    pub(crate) fn new(device: &wgpu::Device) -> Self {
        let module = |name: &str, source: String| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
        };
        let pipeline = |m: &wgpu::ShaderModule, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: m,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let matmul = module("matmul", include_str!("shaders/matmul.wgsl").into());
        let act = module("activation", include_str!("shaders/activation.wgsl").into());
        let softmax = module("softmax", include_str!("shaders/softmax.wgsl").into());
        let bias = module("bias", include_str!("shaders/bias.wgsl").into());
        let sum = module("sum", include_str!("shaders/sum.wgsl").into());
        let conv = module("conv", include_str!("shaders/conv.wgsl").into());
        let pool = module("pool", include_str!("shaders/pool.wgsl").into());
        let loss = module("loss", [STEP, include_str!("shaders/loss.wgsl")].concat());
        let optim = module("optim", [STEP, include_str!("shaders/optim.wgsl")].concat());
        Self {
            matmul: pipeline(&matmul, "main"),
            act_forward: pipeline(&act, "forward"),
            act_backward: pipeline(&act, "backward"),
            softmax_forward: pipeline(&softmax, "forward"),
            softmax_backward: pipeline(&softmax, "backward"),
            bias: pipeline(&bias, "main"),
            sum: pipeline(&sum, "main"),
            sum_few: pipeline(&sum, "few"),
            im2col: pipeline(&conv, "im2col"),
            col2im: pipeline(&conv, "col2im"),
            permute: pipeline(&conv, "permute"),
            unpermute: pipeline(&conv, "unpermute"),
            max_forward: pipeline(&pool, "max_forward"),
            max_backward: pipeline(&pool, "max_backward"),
            avg_forward: pipeline(&pool, "avg_forward"),
            avg_backward: pipeline(&pool, "avg_backward"),
            loss_per_sample: pipeline(&loss, "per_sample"),
            loss_total: pipeline(&loss, "total"),
            grad_check: pipeline(&optim, "check"),
            update: pipeline(&optim, "update"),
        }
    }
}

/// One kernel launch: a pipeline, its bound buffers, the workgroup grid.
pub(crate) struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
}

impl Dispatch {
    /// Records the launch into a compute pass.
    pub(crate) fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]);
    }
}

/// A grid of `items` workgroups, at most 65,535 along x (the rest along y; the kernels
/// index `x + y * groups_x`).
fn grid(items: usize) -> [u32; 3] {
    let x = items.clamp(1, 65_535);
    [x as u32, items.div_ceil(x).max(1) as u32, 1]
}

/// The grid for one invocation per value in workgroups of `size`.
fn per_value(n: usize, size: usize) -> [u32; 3] {
    grid(n.div_ceil(size))
}

fn f(v: f32) -> u32 {
    v.to_bits()
}

/// `C = op(A) op(B)` (or `C +=`): sizes, leading dimensions and offsets in floats.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Matmul {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub accumulate: bool,
    pub lda: usize,
    pub ldb: usize,
    pub ldc: usize,
    pub off: [usize; 3],
    pub stride: [usize; 3],
    pub batches: usize,
    /// Split k into chunks of this many (0: no split); `batches` chunks, partials `stride[2]`
    /// apart.
    pub k_chunk: usize,
}

/// How many parts to split the k of an `m x n x k` multiply into: 1 when C has enough tiles
/// to occupy a GPU (16) or k is short, else up to 32 parts of at least 256.
pub(crate) fn k_splits(m: usize, n: usize, k: usize) -> usize {
    let tiles = m.div_ceil(TILE) * n.div_ceil(TILE);
    if tiles >= 16 || k < 512 {
        1
    } else {
        (k / 256).min(32)
    }
}

/// The tile of C one workgroup computes (matmul.wgsl's `TILE`).
const TILE: usize = 64;

impl Gpu {
    fn bind(
        &self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .map(|&(binding, b)| wgpu::BindGroupEntry { binding, resource: b.as_entire_binding() })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        words: &[u32],
        buffers: &[(u32, &wgpu::Buffer)],
        groups: [u32; 3],
    ) -> Dispatch {
        let params = self.uniform(words);
        let mut all = vec![(0, &params)];
        all.extend_from_slice(buffers);
        Dispatch { pipeline: pipeline.clone(), bind_group: self.bind(pipeline, &all), groups }
    }

    /// The tiled matrix multiply.
    pub(crate) fn matmul(
        &self,
        mm: &Matmul,
        a: &wgpu::Buffer,
        b: &wgpu::Buffer,
        c: &wgpu::Buffer,
    ) -> Dispatch {
        let flags =
            u32::from(mm.trans_a) | u32::from(mm.trans_b) << 1 | u32::from(mm.accumulate) << 2;
        let w = |v: usize| v as u32;
        let words = [
            w(mm.m),
            w(mm.n),
            w(mm.k),
            flags,
            w(mm.lda),
            w(mm.ldb),
            w(mm.ldc),
            w(mm.k_chunk),
            w(mm.off[0]),
            w(mm.off[1]),
            w(mm.off[2]),
            0,
            w(mm.stride[0]),
            w(mm.stride[1]),
            w(mm.stride[2]),
            0,
        ];
        let groups = [
            mm.n.div_ceil(TILE).max(1) as u32,
            mm.m.div_ceil(TILE).max(1) as u32,
            mm.batches.max(1) as u32,
        ];
        self.dispatch(&self.kernels.matmul, &words, &[(1, a), (2, b), (3, c)], groups)
    }

    /// `y = f(x)` over `n` values (`code`, `a`, `b`: `ActivationKind::encode`).
    pub(crate) fn activation_forward(
        &self,
        (code, a, b): (u8, f32, f32),
        n: usize,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Dispatch {
        let words = [n as u32, u32::from(code), f(a), f(b)];
        self.dispatch(&self.kernels.act_forward, &words, &[(1, x), (2, y)], per_value(n, 256))
    }

    /// `dx = f'(x) dy` over `n` values.
    pub(crate) fn activation_backward(
        &self,
        (code, a, b): (u8, f32, f32),
        n: usize,
        x: &wgpu::Buffer,
        dy: &wgpu::Buffer,
        dx: &wgpu::Buffer,
    ) -> Dispatch {
        let words = [n as u32, u32::from(code), f(a), f(b)];
        self.dispatch(
            &self.kernels.act_backward,
            &words,
            &[(1, x), (2, dx), (3, dy)],
            per_value(n, 256),
        )
    }

    /// Softmax (`log`: log-softmax) of `rows` rows of `n` values: forward from `x` into `y`,
    /// or, given `dy`, backward from the output `x = y` into `y = dx`.
    pub(crate) fn softmax(
        &self,
        rows: usize,
        n: usize,
        log: bool,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        dy: Option<&wgpu::Buffer>,
    ) -> Dispatch {
        let words = [rows as u32, n as u32, u32::from(log), 0];
        let mut buffers = vec![(1, x), (2, y)];
        let pipeline = match dy {
            Some(dy) => {
                buffers.push((3, dy));
                &self.kernels.softmax_backward
            }
            None => &self.kernels.softmax_forward,
        };
        self.dispatch(pipeline, &words, &buffers, per_value(rows, 64))
    }

    /// `y[i] += bias[(i / inner) % channels]` over `n` values.
    pub(crate) fn bias(
        &self,
        n: usize,
        channels: usize,
        inner: usize,
        bias: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Dispatch {
        let words = [n as u32, channels as u32, inner as u32, 0];
        self.dispatch(&self.kernels.bias, &words, &[(1, bias), (2, y)], per_value(n, 256))
    }

    /// `C = op(A) op(B)` in `splits` parts of k (see [`k_splits`]) summed into `c`; `partial`
    /// holds `splits` blocks of `m x n` (unused for one part).
    pub(crate) fn matmul_split(
        &self,
        mm: &Matmul,
        splits: usize,
        [a, b, c, partial]: [&wgpu::Buffer; 4],
    ) -> Vec<Dispatch> {
        if splits <= 1 {
            return vec![self.matmul(mm, a, b, c)];
        }
        let chunk = mm.k.div_ceil(splits).next_multiple_of(16);
        let parts = mm.k.div_ceil(chunk);
        let split = Matmul {
            k_chunk: chunk,
            batches: parts,
            ldc: mm.n,
            stride: [0, 0, mm.m * mm.n],
            ..*mm
        };
        let mn = mm.m * mm.n;
        vec![
            self.matmul(&split, a, b, partial),
            self.sum(SumKernel::Few, mn, parts, 1, mn, partial, c),
        ]
    }

    /// `out[i] = sum_j src[i * stride_out + j * stride_in]` for `i < outs`, `j < count`:
    /// one workgroup per output with a tree ([`SumKernel::Tree`]), or one invocation per
    /// output summing in order ([`SumKernel::Few`], a few `j`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sum(
        &self,
        which: SumKernel,
        outs: usize,
        count: usize,
        stride_out: usize,
        stride_in: usize,
        src: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Dispatch {
        let words = [outs as u32, count as u32, stride_out as u32, stride_in as u32];
        let (pipeline, groups) = match which {
            SumKernel::Tree => (&self.kernels.sum, grid(outs)),
            SumKernel::Few => (&self.kernels.sum_few, per_value(outs, 256)),
        };
        self.dispatch(pipeline, &words, &[(1, src), (2, out)], groups)
    }

    /// One of conv.wgsl's kernels over `words[15]` values.
    pub(crate) fn conv(
        &self,
        which: ConvKernel,
        words: [u32; 16],
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
    ) -> Dispatch {
        let pipeline = match which {
            ConvKernel::Im2col => &self.kernels.im2col,
            ConvKernel::Col2im => &self.kernels.col2im,
            ConvKernel::Permute => &self.kernels.permute,
            ConvKernel::Unpermute => &self.kernels.unpermute,
        };
        let n = words[15] as usize;
        self.dispatch(pipeline, &words, &[(1, src), (2, dst)], per_value(n, 256))
    }

    /// One of pool.wgsl's kernels over `words[3]` values; `argmax` for max pooling.
    pub(crate) fn pool(
        &self,
        which: PoolKernel,
        words: [u32; 12],
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
        argmax: Option<&wgpu::Buffer>,
    ) -> Dispatch {
        let pipeline = match which {
            PoolKernel::MaxForward => &self.kernels.max_forward,
            PoolKernel::MaxBackward => &self.kernels.max_backward,
            PoolKernel::AvgForward => &self.kernels.avg_forward,
            PoolKernel::AvgBackward => &self.kernels.avg_backward,
        };
        let mut buffers = vec![(1, src), (2, dst)];
        buffers.extend(argmax.map(|a| (3, a)));
        self.dispatch(pipeline, &words, &buffers, per_value(words[3] as usize, 256))
    }

    /// The loss of each row and its scaled gradient (loss.wgsl `per_sample`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn loss_per_sample(
        &self,
        words: [u32; 8],
        out: &wgpu::Buffer,
        target: &wgpu::Buffer,
        weight: &wgpu::Buffer,
        dout: &wgpu::Buffer,
        sample_loss: &wgpu::Buffer,
        step: &wgpu::Buffer,
    ) -> Dispatch {
        let rows = words[0] as usize;
        let buffers = [(1, out), (2, target), (3, weight), (4, dout), (5, sample_loss), (6, step)];
        self.dispatch(&self.kernels.loss_per_sample, &words, &buffers, per_value(rows, 64))
    }

    /// The batch loss into the epoch's history (loss.wgsl `total`).
    pub(crate) fn loss_total(
        &self,
        words: [u32; 8],
        sample_loss: &wgpu::Buffer,
        step: &wgpu::Buffer,
        history: &wgpu::Buffer,
        status: &wgpu::Buffer,
    ) -> Dispatch {
        let buffers = [(5, sample_loss), (6, step), (7, history), (8, status)];
        self.dispatch(&self.kernels.loss_total, &words, &buffers, [1, 1, 1])
    }

    /// Flags a non-finite gradient (optim.wgsl `check`).
    pub(crate) fn grad_check(
        &self,
        words: [u32; 8],
        grad: &wgpu::Buffer,
        step: &wgpu::Buffer,
        status: &wgpu::Buffer,
    ) -> Dispatch {
        let n = words[0] as usize;
        let buffers = [(2, grad), (6, step), (7, status)];
        self.dispatch(&self.kernels.grad_check, &words, &buffers, per_value(n, 256))
    }

    /// One optimiser update of a tensor (optim.wgsl `update`).
    pub(crate) fn update(
        &self,
        words: [u32; 8],
        [param, grad, s0, s1, s2]: [&wgpu::Buffer; 5],
        step: &wgpu::Buffer,
        status: &wgpu::Buffer,
    ) -> Dispatch {
        let n = words[0] as usize;
        let buffers = [(1, param), (2, grad), (3, s0), (4, s1), (5, s2), (6, step), (7, status)];
        self.dispatch(&self.kernels.update, &words, &buffers, per_value(n, 256))
    }
}

/// sum.wgsl's entry points.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SumKernel {
    Tree,
    Few,
}

/// conv.wgsl's entry points.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ConvKernel {
    Im2col,
    Col2im,
    Permute,
    Unpermute,
}

/// pool.wgsl's entry points.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PoolKernel {
    MaxForward,
    MaxBackward,
    AvgForward,
    AvgBackward,
}

/// Records `dispatches` in one compute pass of a new command buffer and submits it.
pub(crate) fn submit(gpu: &Gpu, dispatches: &[&Dispatch]) {
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for d in dispatches {
            d.record(&mut pass);
        }
    }
    gpu.queue.submit([encoder.finish()]);
}
