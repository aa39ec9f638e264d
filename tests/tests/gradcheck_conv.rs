//! Gradient checks of the convolutional family of typed layers (`Conv2d`, `Conv1d`,
//! `ConvTranspose2d`, `MaxPool2d`, `AvgPool2d`, `MaxPool1d`,
//! `AvgPool1d`, `GlobalAvgPool`, `Concat`, `BatchNorm2d` / `BatchNorm1d`, `LayerNorm`,
//! `Flatten`, `ActOn`, `Residual`, and a chain of them) against Richardson-extrapolated
//! central differences (`neurite_tests::gradcheck`), with non-default options: stride 2,
//! padding 1, rectangular kernels.
//!
//! Also checks, per layer, that `backward` ADDS its parameter gradients (two calls give twice
//! one call, bit for bit) and that `backward_params` gives the same parameter gradients as
//! `backward`.
//!
//! Each layer has its own step and tolerance `|analytic - numeric| <= abs + rel * |numeric|`
//! (f32 forward, f64 objective), set at a few times the error measured with
//! `NEURITE_GRADCHECK_REPORT=1 cargo test -p neurite-tests --test gradcheck_conv --
//! --nocapture` (quoted beside each); the input gradient and every parameter tensor must
//! also fail the check when 0.5% off.

use neurite::activation::Tanh;
use neurite::layer::{
    ActOn, AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, Concat, Conv1d, Conv2d, ConvTranspose2d,
    Ctx, Dense, Flatten, Flatten1d, GlobalAvgPool, Infer, Layer, LayerNorm, MaxPool1d, MaxPool2d,
    Reshape, Residual,
};
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::Rng;
use neurite_tests::gradcheck::{check_layer_gradients, random_weights, Spec};

/// Step for layers linear in the perturbed value (conv, pools' averages, batch norm in
/// eval mode, reshapes): no truncation error, so a long step keeps rounding small.
const LINEAR: f32 = 0.5;
/// Step for max pools: the inputs are 0.1 apart, so no step reorders a window.
const POOL: f32 = 0.04;
/// Step for smooth layers and chains (tanh, layer norm): Richardson's truncation error
/// `h^4 |f^(5)| / 480` stays small.
const SMOOTH: f32 = 0.1;
/// Step for deeper non-linear chains, where a parameter (a norm's gamma) is multiplied by
/// large normalised values before a tanh, so `f^(5)` is large and `SMOOTH` truncates.
const CHAIN: f32 = 2e-2;

// Step and tolerance per layer: `abs` about 3x the largest `|analytic - numeric|` measured
// over its trials and tensors (quoted; 1e-6 at least), `rel` 1e-4. A derivative 0.5% off
// then fails wherever its magnitude exceeds `abs / 0.0049` (3e-2 at most).
const CONV2D: Spec = Spec::new(LINEAR, 1e-5, 1e-4); // 2.5e-6
const CONV1D: Spec = Spec::new(LINEAR, 3e-6, 1e-4); // 9.0e-7
const CONV_T: Spec = Spec::new(LINEAR, 3e-6, 1e-4); // 8.5e-7
const MAXPOOL: Spec = Spec::new(POOL, 1e-6, 1e-4); // 1.1e-16
const AVGPOOL: Spec = Spec::new(LINEAR, 1e-6, 1e-4); // 1.9e-7
const BATCHNORM: Spec = Spec::new(LINEAR, 5e-6, 1e-4); // 1.6e-6
const LAYERNORM: Spec = Spec::new(SMOOTH, 4e-5, 1e-4); // 1.2e-5
const RESHAPE: Spec = Spec::new(LINEAR, 1e-6, 1e-4); // 1.1e-16
const TANH: Spec = Spec::new(SMOOTH, 1e-5, 1e-4); // 3.0e-6
const RESIDUAL_DENSE: Spec = Spec::new(LINEAR, 1e-6, 1e-4); // 3.5e-7
const CONCAT_DENSE: Spec = Spec::new(LINEAR, 1e-6, 1e-4); // 9.1e-8
                                                          // The chains: rounding at the short step (at `SMOOTH`, a batch norm's gamma before a tanh
                                                          // truncated by 3.8e-3).
const RESIDUAL_CONV: Spec = Spec::new(CHAIN, 1e-4, 1e-4); // 2.8e-5
const CNN_CHAIN: Spec = Spec::new(CHAIN, 1e-4, 1e-4); // 3.0e-5
const CONCAT_UNET: Spec = Spec::new(CHAIN, 1.5e-4, 1e-4); // 4.8e-5

type Img<const C: usize, const H: usize, const W: usize> = [[[f32; W]; H]; C];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// All parameter gradients, tensor by tensor.
fn grad_bits<G: Params>(g: &G) -> Vec<Vec<u32>> {
    (0..G::TENSORS).map(|t| bits(g.tensor(t))).collect()
}

/// Checks `d(c . layer(x)) / dx` and `/ d params` for a layer at input `x`, with a random
/// `c`, step and tolerance `spec`; then that parameter gradients accumulate and that
/// `backward_params` agrees.
fn check_layer<L: Layer + Clone>(name: &str, layer: &L, x: &L::Input, rng: &mut Rng, spec: Spec) {
    let c: L::Output = random_weights(rng);
    let mut trace = L::Trace::ZEROED;
    let mut y = L::Output::ZEROED;
    layer.forward_trace(&mut Ctx::train(), x, &mut trace, &mut y);
    let mut plain = L::Output::ZEROED;
    layer.forward(x, &mut plain);
    assert_eq!(bits(y.as_slice()), bits(plain.as_slice()), "{name}: forward_trace != forward");

    let mut dx = L::Input::ZEROED;
    let mut grads = L::Grads::ZEROED;
    layer.backward(x, &trace, &c, &mut dx, &mut grads);
    let run = |l: &L, x: &L::Input| {
        let mut y = L::Output::ZEROED;
        l.forward(x, &mut y);
        y
    };
    check_layer_gradients(name, layer, x, &c, &dx, &grads, run, spec);

    // A second backward adds the same gradient again (s + s = 2s exactly), and overwrites dx.
    let mut dx2 = L::Input::ZEROED;
    for v in dx2.as_mut_slice() {
        *v = 7.0;
    }
    let mut twice = L::Grads::ZEROED;
    layer.backward(x, &trace, &c, &mut dx2, &mut twice);
    layer.backward(x, &trace, &c, &mut dx2, &mut twice);
    assert_eq!(bits(dx2.as_slice()), bits(dx.as_slice()), "{name}: dx is overwritten");
    for t in 0..L::TENSORS {
        let doubled: Vec<f32> = grads.tensor(t).iter().map(|g| g + g).collect();
        assert_eq!(bits(twice.tensor(t)), bits(&doubled), "{name}: tensor {t} accumulates");
    }
    // backward_params: the same parameter gradients, without dx.
    let mut only = L::Grads::ZEROED;
    layer.backward_params(x, &trace, &c, &mut only);
    assert_eq!(grad_bits(&only), grad_bits(&grads), "{name}: backward_params");
}

/// Every parameter drawn from `scale * N(0, 1)`.
fn randomize<P: Params>(p: &mut P, rng: &mut Rng, scale: f32) {
    for t in 0..P::TENSORS {
        for v in p.tensor_mut(t) {
            *v = scale * rng.normal();
        }
    }
}

fn random<V: Vector>(rng: &mut Rng, scale: f32) -> V {
    let mut v = V::ZEROED;
    for x in v.as_mut_slice() {
        *x = scale * rng.normal();
    }
    v
}

/// Distinct values at least 0.1 apart in random order (no ties inside a max-pool window, so
/// finite differences do not cross an argmax switch).
fn distinct<V: Vector>(rng: &mut Rng) -> V {
    let mut order: Vec<usize> = (0..V::LEN).collect();
    rng.shuffle(&mut order);
    let mut v = V::ZEROED;
    for (x, &k) in v.as_mut_slice().iter_mut().zip(&order) {
        *x = 0.1 * k as f32 - 0.05 * V::LEN as f32;
    }
    v
}

#[test]
fn conv2d_stride_padding_rectangular_kernel() {
    let mut rng = Rng::new(1);
    // 2x5x6 -> 3x3x4: kernel 3x2, stride 2, padding 1.
    let mut conv = Conv2d::<2, 5, 6, 3, 3, 4, 3, 2, 2, 1>::DEFAULT;
    for trial in 0..3 {
        randomize(&mut conv, &mut rng, 0.5);
        let x: Img<2, 5, 6> = random(&mut rng, 1.0);
        check_layer(&format!("conv2d k3x2 s2 p1, trial {trial}"), &conv, &x, &mut rng, CONV2D);
    }
    // Defaults (stride 1, no padding), rectangular 2x3 kernel: 3x4x5 -> 2x3x3.
    let mut conv = Conv2d::<3, 4, 5, 2, 3, 3, 2, 3>::DEFAULT;
    randomize(&mut conv, &mut rng, 0.5);
    let x: Img<3, 4, 5> = random(&mut rng, 1.0);
    check_layer("conv2d k2x3", &conv, &x, &mut rng, CONV2D);
    // Stride 2 without padding, 1x1 kernel.
    let mut conv = Conv2d::<2, 5, 5, 2, 3, 3, 1, 1, 2>::DEFAULT;
    randomize(&mut conv, &mut rng, 0.5);
    check_layer("conv2d k1 s2", &conv, &random(&mut rng, 1.0), &mut rng, CONV2D);
}

#[test]
fn conv2d_groups_and_depthwise() {
    let mut rng = Rng::new(11);
    // groups 2: 4 -> 6 channels, each output sees 2 input channels; stride 2, padding 1.
    let mut conv = Conv2d::<4, 5, 5, 6, 3, 3, 3, 3, 2, 1, 2, 2>::DEFAULT;
    randomize(&mut conv, &mut rng, 0.5);
    check_layer("conv2d groups 2", &conv, &random::<Img<4, 5, 5>>(&mut rng, 1.0), &mut rng, CONV2D);
    // depthwise: groups = channels = 3, rectangular 3x2 kernel.
    let mut conv = Conv2d::<3, 4, 5, 3, 2, 4, 3, 2, 1, 0, 3, 1>::DEFAULT;
    randomize(&mut conv, &mut rng, 0.5);
    check_layer(
        "conv2d depthwise",
        &conv,
        &random::<Img<3, 4, 5>>(&mut rng, 1.0),
        &mut rng,
        CONV2D,
    );
}

#[test]
fn conv1d_stride_padding() {
    let mut rng = Rng::new(2);
    // 2x7 -> 3x4: kernel 3, stride 2, padding 1.
    let mut conv = Conv1d::<2, 7, 3, 4, 3, 2, 1>::DEFAULT;
    for trial in 0..3 {
        randomize(&mut conv, &mut rng, 0.5);
        let x: [[f32; 7]; 2] = random(&mut rng, 1.0);
        check_layer(&format!("conv1d k3 s2 p1, trial {trial}"), &conv, &x, &mut rng, CONV1D);
    }
    let mut conv = Conv1d::<3, 6, 2, 3, 4>::DEFAULT;
    randomize(&mut conv, &mut rng, 0.5);
    check_layer("conv1d k4", &conv, &random(&mut rng, 1.0), &mut rng, CONV1D);
}

#[test]
#[allow(clippy::needless_range_loop)]
fn conv_matches_a_naive_convolution() {
    // y[o][i][j] = b[o] + sum_c sum_kh sum_kw w[o][c][kh][kw] * xpad[c][2i + kh][2j + kw]
    let mut rng = Rng::new(3);
    let mut conv = Conv2d::<2, 5, 6, 3, 3, 4, 3, 2, 2, 1>::DEFAULT;
    randomize(&mut conv, &mut rng, 0.5);
    let x: Img<2, 5, 6> = random(&mut rng, 1.0);
    let mut y = Img::<3, 3, 4>::ZEROED;
    conv.forward(&x, &mut y);
    for o in 0..3 {
        for i in 0..3 {
            for j in 0..4 {
                let mut want = f64::from(conv.bias[o]);
                for c in 0..2 {
                    for kh in 0..3 {
                        for kw in 0..2 {
                            let (r, s) = ((2 * i + kh) as isize - 1, (2 * j + kw) as isize - 1);
                            if (0..5).contains(&r) && (0..6).contains(&s) {
                                want += f64::from(conv.weight[o][c][kh][kw])
                                    * f64::from(x[c][r as usize][s as usize]);
                            }
                        }
                    }
                }
                assert!((f64::from(y[o][i][j]) - want).abs() < 1e-5, "y[{o}][{i}][{j}]");
            }
        }
    }
}

#[test]
fn pooling_stride_padding() {
    let mut rng = Rng::new(4);
    for trial in 0..3 {
        // 2x5x5 -> 2x3x3: window 3, stride 2, padding 1 (overlapping windows).
        let x: Img<2, 5, 5> = distinct(&mut rng);
        let name = format!("maxpool2d k3 s2 p1, trial {trial}");
        check_layer(&name, &MaxPool2d::<2, 5, 5, 3, 3, 3, 2, 1>::DEFAULT, &x, &mut rng, MAXPOOL);
        let name = format!("avgpool2d k3 s2 p1, trial {trial}");
        check_layer(&name, &AvgPool2d::<2, 5, 5, 3, 3, 3, 2, 1>::DEFAULT, &x, &mut rng, AVGPOOL);
        // Default stride (= window), odd size: 2x5x4 -> 2x2x2.
        let x: Img<2, 5, 4> = distinct(&mut rng);
        check_layer("maxpool2d k2", &MaxPool2d::<2, 5, 4, 2, 2, 2>::DEFAULT, &x, &mut rng, MAXPOOL);
        check_layer("avgpool2d k2", &AvgPool2d::<2, 5, 4, 2, 2, 2>::DEFAULT, &x, &mut rng, AVGPOOL);
        // Stride 1 (overlapping), no padding: 1x4x4 -> 1x3x3.
        let x: Img<1, 4, 4> = distinct(&mut rng);
        check_layer(
            "maxpool2d k2 s1",
            &MaxPool2d::<1, 4, 4, 3, 3, 2, 1>::DEFAULT,
            &x,
            &mut rng,
            MAXPOOL,
        );
        let x: Img<3, 2, 3> = random(&mut rng, 1.0);
        check_layer("global_avg_pool", &GlobalAvgPool::<3, 2, 3>::DEFAULT, &x, &mut rng, AVGPOOL);
    }
}

#[test]
fn batchnorm_layernorm() {
    let mut rng = Rng::new(5);
    for trial in 0..3 {
        let mut bn = BatchNorm2d::<3, 2, 3>::DEFAULT;
        randomize(&mut bn, &mut rng, 1.0);
        for c in 0..3 {
            bn.running_mean[c] = rng.normal();
            bn.running_var[c] = rng.uniform_range(0.3, 3.0);
        }
        bn.eps = 1e-3;
        let x: Img<3, 2, 3> = random(&mut rng, 2.0);
        check_layer(&format!("batchnorm2d, trial {trial}"), &bn, &x, &mut rng, BATCHNORM);

        let mut bn = BatchNorm1d::<5>::DEFAULT;
        randomize(&mut bn, &mut rng, 1.0);
        bn.running_mean = random(&mut rng, 1.0);
        bn.running_var = core::array::from_fn(|_| rng.uniform_range(0.3, 3.0));
        check_layer(
            &format!("batchnorm1d, trial {trial}"),
            &bn,
            &random(&mut rng, 2.0),
            &mut rng,
            BATCHNORM,
        );

        let mut ln = LayerNorm::<6>::DEFAULT;
        randomize(&mut ln, &mut rng, 1.0);
        check_layer(
            &format!("layernorm, trial {trial}"),
            &ln,
            &random(&mut rng, 2.0),
            &mut rng,
            LAYERNORM,
        );
    }
}

#[test]
fn reshapes_and_shaped_activation() {
    let mut rng = Rng::new(6);
    let x: Img<2, 3, 2> = random(&mut rng, 1.0);
    check_layer("flatten", &Flatten::<2, 3, 2, 12>::DEFAULT, &x, &mut rng, RESHAPE);
    let mut y = [0.0; 12];
    Flatten::<2, 3, 2, 12>::DEFAULT.forward(&x, &mut y);
    assert_eq!(y.as_slice(), Vector::as_slice(&x), "row-major order");
    let x: [[f32; 4]; 3] = random(&mut rng, 1.0);
    check_layer("flatten1d", &Flatten1d::<3, 4, 12>::DEFAULT, &x, &mut rng, RESHAPE);
    let x: [f32; 12] = random(&mut rng, 1.0);
    check_layer("unflatten", &Reshape::<[f32; 12], Img<3, 2, 2>>::DEFAULT, &x, &mut rng, RESHAPE);
    let x: Img<2, 3, 2> = random(&mut rng, 1.5);
    check_layer("tanh on an image", &ActOn::<Tanh, Img<2, 3, 2>>::DEFAULT, &x, &mut rng, TANH);
}

#[test]
fn residual_blocks() {
    // Square padding keeps the shape with an odd square kernel: 3x3, padding 1.
    type Body = neurite::Seq![
        Conv2d<2, 4, 5, 2, 4, 5, 3, 3, 1, 1>,
        BatchNorm2d<2, 4, 5>,
        ActOn<Tanh, Img<2, 4, 5>>,
    ];
    let mut rng = Rng::new(7);
    for trial in 0..3 {
        let mut block = Residual::<Body>::DEFAULT;
        randomize(&mut block, &mut rng, 0.5);
        block.0 .1 .0.running_mean = random(&mut rng, 0.5);
        block.0 .1 .0.running_var = [0.7, 1.6];
        let x: Img<2, 4, 5> = random(&mut rng, 1.0);
        check_layer(
            &format!("residual(conv, bn, tanh), trial {trial}"),
            &block,
            &x,
            &mut rng,
            RESIDUAL_CONV,
        );
        // A residual around a single dense layer.
        let mut dense = Residual(Dense::<4, 4>::DEFAULT);
        randomize(&mut dense, &mut rng, 0.5);
        check_layer("residual(dense)", &dense, &random(&mut rng, 1.0), &mut rng, RESIDUAL_DENSE);
    }
}

#[test]
fn a_small_cnn_chain() {
    // 1x6x6 -conv k3 s2 p1-> 3x3x3 -bn-> -tanh-> -avgpool k2 s1-> 3x2x2 -residual-> -flatten->
    // 12 -dense-> 4.
    type Model = neurite::Seq![
        Conv2d<1, 6, 6, 3, 3, 3, 3, 3, 2, 1>,
        BatchNorm2d<3, 3, 3>,
        ActOn<Tanh, Img<3, 3, 3>>,
        AvgPool2d<3, 3, 3, 2, 2, 2, 1>,
        Residual<neurite::Seq![Conv2d<3, 2, 2, 3, 2, 2, 3, 3, 1, 1>, ActOn<Tanh, Img<3, 2, 2>>]>,
        Flatten<3, 2, 2, 12>,
        Dense<12, 4>,
    ];
    let mut rng = Rng::new(8);
    let mut model = Model::DEFAULT;
    randomize(&mut model, &mut rng, 0.5);
    model.1 .0.running_mean = random(&mut rng, 0.5);
    model.1 .0.running_var = [0.5, 1.0, 2.0];
    for trial in 0..2 {
        let x: Img<1, 6, 6> = random(&mut rng, 1.0);
        check_layer(&format!("cnn chain, trial {trial}"), &model, &x, &mut rng, CNN_CHAIN);
    }
}

#[test]
fn conv_transpose2d_stride_padding_output_padding_rectangular_kernel() {
    let mut rng = Rng::new(20);
    // 2x3x4 -> 3x6x7: kernel 3x2, stride 2, padding 1, output padding 1:
    // (3 - 1) * 2 - 2 + 3 + 1 = 6, (4 - 1) * 2 - 2 + 2 + 1 = 7.
    let mut up = ConvTranspose2d::<2, 3, 4, 3, 6, 7, 3, 2, 2, 1, 1>::DEFAULT;
    for trial in 0..3 {
        randomize(&mut up, &mut rng, 0.5);
        let x: Img<2, 3, 4> = random(&mut rng, 1.0);
        check_layer(
            &format!("conv_transpose2d k3x2 s2 p1 op1, trial {trial}"),
            &up,
            &x,
            &mut rng,
            CONV_T,
        );
    }
    // Defaults (stride 1, no padding), 2x3 kernel: 3x2x2 -> 2x3x4.
    let mut up = ConvTranspose2d::<3, 2, 2, 2, 3, 4, 2, 3>::DEFAULT;
    randomize(&mut up, &mut rng, 0.5);
    check_layer("conv_transpose2d k2x3", &up, &random(&mut rng, 1.0), &mut rng, CONV_T);
    // Stride 2, kernel 2 (the U-Net's upsampling): 2x2x3 -> 1x4x6.
    let mut up = ConvTranspose2d::<2, 2, 3, 1, 4, 6, 2, 2, 2>::DEFAULT;
    randomize(&mut up, &mut rng, 0.5);
    check_layer("conv_transpose2d k2 s2", &up, &random(&mut rng, 1.0), &mut rng, CONV_T);
}

#[test]
#[allow(clippy::needless_range_loop)]
fn conv_transpose2d_matches_a_naive_scatter() {
    // y[o][i * s - p + kh][j * s - p + kw] += w[c][o][kh][kw] * x[c][i][j], plus bias.
    let mut rng = Rng::new(21);
    let mut up = ConvTranspose2d::<2, 3, 4, 3, 6, 7, 3, 2, 2, 1, 1>::DEFAULT;
    randomize(&mut up, &mut rng, 0.5);
    let x: Img<2, 3, 4> = random(&mut rng, 1.0);
    let mut y = Img::<3, 6, 7>::ZEROED;
    up.forward(&x, &mut y);
    let mut want = [[[0.0f64; 7]; 6]; 3];
    for o in 0..3 {
        for r in 0..6 {
            for q in 0..7 {
                want[o][r][q] = f64::from(up.bias[o]);
            }
        }
    }
    for c in 0..2 {
        for i in 0..3 {
            for j in 0..4 {
                for o in 0..3 {
                    for kh in 0..3 {
                        for kw in 0..2 {
                            let (r, q) = ((2 * i + kh) as isize - 1, (2 * j + kw) as isize - 1);
                            if (0..6).contains(&r) && (0..7).contains(&q) {
                                want[o][r as usize][q as usize] +=
                                    f64::from(up.weight[c][o][kh][kw]) * f64::from(x[c][i][j]);
                            }
                        }
                    }
                }
            }
        }
    }
    for o in 0..3 {
        for r in 0..6 {
            for q in 0..7 {
                assert!((f64::from(y[o][r][q]) - want[o][r][q]).abs() < 1e-5, "y[{o}][{r}][{q}]");
            }
        }
    }
}

#[test]
fn pooling_1d_stride_padding() {
    let mut rng = Rng::new(22);
    for trial in 0..3 {
        // 2x7 -> 2x4: window 3, stride 2, padding 1.
        let x: [[f32; 7]; 2] = distinct(&mut rng);
        let name = format!("maxpool1d k3 s2 p1, trial {trial}");
        check_layer(&name, &MaxPool1d::<2, 7, 4, 3, 2, 1>::DEFAULT, &x, &mut rng, MAXPOOL);
        let name = format!("avgpool1d k3 s2 p1, trial {trial}");
        check_layer(&name, &AvgPool1d::<2, 7, 4, 3, 2, 1>::DEFAULT, &x, &mut rng, AVGPOOL);
        // Default stride (= window), odd length: 3x5 -> 3x2.
        let x: [[f32; 5]; 3] = distinct(&mut rng);
        check_layer("maxpool1d k2", &MaxPool1d::<3, 5, 2, 2>::DEFAULT, &x, &mut rng, MAXPOOL);
        check_layer("avgpool1d k2", &AvgPool1d::<3, 5, 2, 2>::DEFAULT, &x, &mut rng, AVGPOOL);
    }
}

#[test]
fn concat_blocks() {
    // A U-Net skip: 2x4x4 input, body down (conv k3 s2 p1) and up (transposed conv k3 s2 p1
    // op1) to 3x4x4, output 5x4x4.
    type Body = neurite::Seq![
        Conv2d<2, 4, 4, 3, 2, 2, 3, 3, 2, 1>,
        ActOn<Tanh, Img<3, 2, 2>>,
        ConvTranspose2d<3, 2, 2, 3, 4, 4, 3, 3, 2, 1, 1>,
    ];
    let mut rng = Rng::new(23);
    for trial in 0..3 {
        let mut block = Concat::<Body, Img<2, 4, 4>, Img<5, 4, 4>>::DEFAULT;
        randomize(&mut block, &mut rng, 0.5);
        let x: Img<2, 4, 4> = random(&mut rng, 1.0);
        check_layer(
            &format!("concat(conv, tanh, conv_transpose), trial {trial}"),
            &block,
            &x,
            &mut rng,
            CONCAT_UNET,
        );
        // The first values are the input's.
        let mut y = Img::<5, 4, 4>::ZEROED;
        block.forward(&x, &mut y);
        assert_eq!(y[..2], x[..]);
        // A concat around a single dense layer over rows.
        let mut dense = Concat::<Dense<4, 3>, [f32; 4], [f32; 7]>::DEFAULT;
        randomize(&mut dense, &mut rng, 0.5);
        check_layer("concat(dense)", &dense, &random(&mut rng, 1.0), &mut rng, CONCAT_DENSE);
    }
}
