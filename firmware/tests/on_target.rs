//! On-target tests (defmt-test, in QEMU): the model, the trainer, the sensor driver and the
//! flash store on the Cortex-M4F itself. Panics and HardFaults fail the run.
#![no_std]
#![no_main]

neurite_firmware::exit_on_hardfault!();

#[defmt_test::tests]
mod tests {
    use neurite::loss::{CrossEntropy, Reduction, Target};
    use neurite::optim::{valid, Sgd, SgdConfig};
    use neurite::prelude::Trainer;
    use neurite::train::FineTune;
    use neurite_firmware::budget::{Head, FROZEN, HEAD};
    use neurite_firmware::digits::{LABELS, PIXELS, TEST_ROWS};
    use neurite_firmware::model::{INPUT_MEAN, INPUT_STD};
    use neurite_firmware::sensor::{ArraySensor, ADDRESS};
    use neurite_firmware::sim::{SimFlash, SimulatedSensor, SECTOR};
    use neurite_firmware::storage::AbStore;

    /// The packed layer (its assembly kernel on this target, feature `cortex-m-asm`) gives
    /// the row-major layer's bits: odd and even input counts, output counts around the
    /// block of 8, signed zeros and values of many magnitudes.
    #[test]
    fn packed_dense_equals_dense_bit_for_bit_on_target() {
        use neurite::layer::{Dense, Infer, PackedDense};
        use neurite::params::Zeroed;
        use neurite::rng::Rng;
        fn check<const IN: usize, const OUT: usize, const B: usize>(seed: u64) {
            let mut rng = Rng::new(seed);
            let mut d = Dense::<IN, OUT>::ZEROED;
            for (k, w) in d.weight.as_flattened_mut().iter_mut().enumerate() {
                *w = if k % 7 == 0 { -0.0 } else { rng.normal() * [0.001, 1.0, 100.0][k % 3] };
            }
            for b in &mut d.bias {
                *b = rng.normal();
            }
            let p = PackedDense::<IN, OUT, B>::from_dense(&d);
            for _ in 0..4 {
                let x: [f32; IN] =
                    core::array::from_fn(|i| if i % 5 == 0 { 0.0 } else { rng.normal() });
                let (mut y, mut reference) = ([0.0f32; OUT], [0.0f32; OUT]);
                p.forward(&x, &mut y);
                d.forward(&x, &mut reference);
                for (a, b) in y.iter().zip(&reference) {
                    defmt::assert_eq!(a.to_bits(), b.to_bits());
                }
            }
        }
        check::<1, 1, 1>(1);
        check::<3, 7, 1>(2);
        check::<5, 8, 1>(3);
        check::<64, 64, 8>(4);
        check::<17, 9, 2>(5);
        check::<2, 17, 3>(6);
        check::<33, 10, 2>(7);
    }

    /// `neurite::math::sqrt` (the FPU's `vsqrt.f32` with `cortex-m-asm`) gives libm's bits:
    /// zeros, subnormals, powers of two, huge values, infinities, negatives and NaN (both
    /// NaN), and random values.
    #[test]
    fn hardware_square_root_equals_libm_bit_for_bit() {
        let mut rng = neurite::rng::Rng::new(11);
        let special = [
            0.0,
            -0.0,
            1e-45,
            1e-40,
            1.0,
            2.0,
            4.0,
            0.25,
            3.4e38,
            f32::INFINITY,
            -1.0,
            -f32::INFINITY,
            f32::NAN,
        ];
        for x in special.into_iter().chain((0..2000).map(|_| {
            libm::fabsf(rng.normal() * 50.0) * libm::powf(10.0, rng.below(20) as f32 - 10.0)
        })) {
            let (hw, sw) = (neurite::math::sqrt(x), libm::sqrtf(x));
            defmt::assert!(hw.to_bits() == sw.to_bits() || (hw.is_nan() && sw.is_nan()));
        }
    }

    /// `PackedConv2d` (the whole walk of taps in registers with `cortex-m-asm`) gives
    /// `Conv2d`'s bits on shapes with a partial block, stride 2, no padding and 1-wide kernels.
    #[test]
    fn packed_conv_equals_conv_bit_for_bit_on_target() {
        use neurite::init::LayerInit;
        use neurite::layer::{Conv2d, Infer, PackedConv2d};
        use neurite::params::Zeroed;
        use neurite::prelude::Layer;
        fn check<
            const C: usize,
            const H: usize,
            const W: usize,
            const O: usize,
            const OH: usize,
            const OW: usize,
            const KH: usize,
            const KW: usize,
            const S: usize,
            const P: usize,
            const B: usize,
        >(
            seed: u64,
        ) {
            let mut rng = neurite::rng::Rng::new(seed);
            let mut conv = Conv2d::<C, H, W, O, OH, OW, KH, KW, S, P>::ZEROED;
            conv.init(&LayerInit::XAVIER, &mut rng);
            for b in conv.bias.iter_mut() {
                *b = rng.normal();
            }
            let packed = PackedConv2d::<C, H, W, O, OH, OW, KH, KW, S, P, B>::from_conv(&conv);
            let mut x = [[[0.0f32; W]; H]; C];
            for v in x.as_flattened_mut().as_flattened_mut() {
                *v = rng.normal();
            }
            let (mut y, mut reference) = ([[[0.0f32; OW]; OH]; O], [[[0.0f32; OW]; OH]; O]);
            packed.forward(&x, &mut y);
            conv.forward(&x, &mut reference);
            let (y, r) = (y.as_flattened().as_flattened(), reference.as_flattened().as_flattened());
            defmt::assert!(y.iter().zip(r).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        check::<3, 6, 7, 9, 6, 7, 3, 3, 1, 1, 2>(1);
        check::<2, 7, 7, 7, 3, 3, 3, 3, 2, 0, 1>(2);
        check::<4, 5, 6, 17, 5, 4, 1, 3, 1, 0, 3>(3);
        check::<16, 4, 4, 32, 4, 4, 3, 3, 1, 1, 4>(4);
        check::<1, 8, 8, 8, 4, 4, 2, 2, 2, 0, 1>(5);
    }

    /// The packed int8 kernels (their assembly on this target: the DSP extension's `smlad`,
    /// `sxtb16`, `sxtab16`) give the reference kernels' bytes on random shapes: rows and
    /// columns around the packing's 4 and 8, both roundings, fused clamps, and convolutions
    /// padded, strided and dilated, with channel counts that do and do not make whole rows of
    /// words (the window's two widening paths).
    #[test]
    fn packed_int8_equals_the_reference_on_target() {
        use neurite::kernel::int8::{self, Geom2d, Requantize};
        use neurite::kernel::int8_packed::{self, pack, packed_len, padded_cols, Output};
        use neurite::quant::fixed_point::Rounding;
        use neurite_firmware::int8_anchors::Aligned;
        let mut rng = neurite::rng::Rng::new(21);
        let mut byte = move || rng.next_u32();
        let mut packed = Aligned([0i8; 4096]);
        let mut scratch = Aligned([0i16; 128]);
        let (mut w, mut x) = ([0i8; 1024], [0i8; 512]);
        let (mut bias, mut m, mut s) = ([0i32; 16], [0i32; 16], [0i32; 16]);
        let (mut want, mut got) = ([0i8; 640], [0i8; 640]);
        for case in 0..120u32 {
            let rounding = if case % 2 == 0 { Rounding::Double } else { Rounding::Single };
            for i in 0..16 {
                bias[i] = byte() as i32 >> 14;
                m[i] = (1 << 30) + (byte() >> 2) as i32;
                s[i] = -((byte() % 12) as i32).max(i32::from(rounding == Rounding::Single));
            }
            for v in w.iter_mut().chain(x.iter_mut()) {
                *v = byte() as u8 as i8;
            }
            let rq = Requantize {
                multiplier: &m,
                shift: &s,
                output_zero_point: (byte() % 256) as i32 - 128,
                min: -128 + (case % 3) as i8 * 40,
                max: 127,
                rounding,
            };
            let zp = (byte() % 256) as i32 - 128;
            if case < 60 {
                let (rows, cols) = (1 + (byte() % 16) as usize, 1 + (byte() % 60) as usize);
                let n = packed_len(rows, cols);
                defmt::assert!(
                    pack(&w[..rows * cols], rows, cols, &bias, &rq, &mut packed.0[..n]).is_ok()
                );
                int8::fully_connected(
                    &w[..rows * cols],
                    &bias,
                    &x[..cols],
                    zp,
                    &rq,
                    &mut want[..rows],
                );
                let (p, sc) = (&packed.0[..n], &mut scratch.0[..padded_cols(cols)]);
                int8_packed::fully_connected(
                    p,
                    &x[..cols],
                    zp,
                    &Output::from(&rq),
                    sc,
                    &mut got[..rows],
                );
                defmt::assert_eq!(want[..rows], got[..rows], "fully connected, case {}", case);
            } else {
                let (k, c) = (1 + (byte() % 3) as usize, [1, 2, 4, 8][(byte() % 4) as usize]);
                let (stride, dilation, pad) =
                    (1 + (byte() % 2) as usize, 1 + (byte() % 2) as usize, (byte() % 2) as usize);
                let (ih, iw, oc) = (
                    4 + (byte() % 4) as usize,
                    4 + (byte() % 4) as usize,
                    1 + (byte() % 10) as usize,
                );
                let span = (k - 1) * dilation + 1;
                let out = |i: usize| (i + 2 * pad).saturating_sub(span) / stride + 1;
                let g = Geom2d {
                    in_h: ih,
                    in_w: iw,
                    in_c: c,
                    out_h: out(ih),
                    out_w: out(iw),
                    out_c: oc,
                    kernel_h: k,
                    kernel_w: k,
                    stride_h: stride,
                    stride_w: stride,
                    pad_top: pad,
                    pad_left: pad,
                    dilation_h: dilation,
                    dilation_w: dilation,
                };
                let cols = k * k * c;
                let n = packed_len(oc, cols);
                defmt::assert!(
                    pack(&w[..oc * cols], oc, cols, &bias, &rq, &mut packed.0[..n]).is_ok()
                );
                let (xs, len) = (&x[..g.input_len()], g.output_len());
                int8::conv2d(&g, &w[..oc * cols], &bias, xs, zp, &rq, &mut want[..len]);
                let (p, sc) = (&packed.0[..n], &mut scratch.0[..padded_cols(cols)]);
                int8_packed::conv2d(&g, p, xs, zp, &Output::from(&rq), sc, &mut got[..len]);
                defmt::assert_eq!(want[..len], got[..len], "conv2d, case {}", case);
            }
        }
    }

    /// `add_scaled` and `sub_scaled` (blocks of 8 in `vmla.f32` / `vmls.f32` with
    /// `cortex-m-asm`, then the rest) give the compiler's per-element `y += a * x` and
    /// `y -= a * x` bit for bit, on lengths around the block size and on signed zeros,
    /// subnormals, huge values, infinities and NaN.
    #[test]
    fn scaled_additions_equal_the_per_element_loop_bit_for_bit() {
        use neurite::kernel::elementwise::{add_scaled, sub_scaled};
        let mut rng = neurite::rng::Rng::new(12);
        let special = [0.0, -0.0, 1e-45, -1e-40, 3.4e38, -3.4e38, f32::INFINITY, f32::NAN, 1.0];
        let mut value = |k: usize| {
            if k.is_multiple_of(5) {
                special[(k / 5) % special.len()]
            } else {
                rng.normal() * libm::powf(10.0, rng.below(12) as f32 - 6.0)
            }
        };
        for n in [1usize, 3, 7, 8, 9, 16, 17, 63, 64, 65] {
            let mut x = [0.0f32; 65];
            let mut y = [0.0f32; 65];
            for k in 0..n {
                x[k] = value(k);
                y[k] = value(k + 3);
            }
            for a in [0.5f32, -3.0e-3, 0.0, -0.0, 7.0e30] {
                for sub in [false, true] {
                    let mut fast = y;
                    let mut each = y;
                    if sub {
                        sub_scaled(&mut fast[..n], a, &x[..n]);
                    } else {
                        add_scaled(&mut fast[..n], a, &x[..n]);
                    }
                    for (e, &xi) in each[..n].iter_mut().zip(&x[..n]) {
                        let p = core::hint::black_box(a * xi);
                        *e = if sub { *e - p } else { *e + p };
                    }
                    for (f, e) in fast.iter().zip(&each) {
                        defmt::assert!(f.to_bits() == e.to_bits() || (f.is_nan() && e.is_nan()));
                    }
                }
            }
        }
    }

    #[test]
    fn digits_model_is_accurate_on_target() {
        let (_, correct) = neurite_firmware::parity::digits_inference();
        defmt::assert!(correct * 100 >= 97 * TEST_ROWS.len());
    }

    #[test]
    fn a_training_step_lowers_the_loss() {
        let mut ft = FineTune::new(&FROZEN, HEAD.clone());
        let mut opt: Sgd<Head> = const { valid!(Sgd::new(SgdConfig::new(0.05))) };
        let mut t = Trainer::<Head>::new();
        let ce = CrossEntropy::default();
        let x = neurite_firmware::digits::input(3);
        let y = usize::from(LABELS[3]);
        let mut losses = [0.0f32; 2];
        for l in &mut losses {
            t.begin();
            defmt::unwrap!(ft.accumulate(&mut t, &ce, &x, Target::Class((y + 1) % 10)).ok());
            *l = defmt::unwrap!(t.finish(&ce, Reduction::Mean).ok()).0;
            ft.step(&mut opt, &t);
        }
        defmt::assert!(losses[1] < losses[0]);
    }

    #[test]
    fn sensor_driver_reads_the_simulated_device() {
        let order = [5u16, 10];
        let dev = SimulatedSensor::new(&PIXELS, Some(&LABELS), &order, ADDRESS, 1.0, 0.0);
        let mut drv = ArraySensor::new(dev, ADDRESS);
        let s = defmt::unwrap!(drv.read().ok());
        defmt::assert_eq!(s.label, Some(LABELS[5]));
        defmt::assert_eq!(s.pixels[10], PIXELS[5][10] * 15);
        let x = s.to_input(&INPUT_MEAN, &INPUT_STD);
        defmt::assert_eq!(x, neurite_firmware::digits::input(5));
    }

    #[test]
    fn flash_store_round_trip() {
        let mut flash = SimFlash::<{ 4 * SECTOR }>::new();
        let mut store = AbStore::new(&mut flash, 0, (2 * SECTOR) as u32);
        defmt::unwrap!(store.save(b"first").ok());
        defmt::unwrap!(store.save(b"second!").ok());
        let mut out = [0u8; 16];
        let rec = defmt::unwrap!(defmt::unwrap!(store.load(&mut out).ok()));
        defmt::assert_eq!(&out[..rec.len], b"second!");
        defmt::assert_eq!(rec.seq, 2);
    }

    /// Inference through two reused stack buffers (`forward_buffered`) keeps the stack at
    /// two buffers of the widest intermediate output however deep the chain. `forward` keeps
    /// the intermediates alive together (the optimiser overlaps some of them): 12 more layers
    /// of 64 values cost it 1,808 bytes in QEMU, and `forward_buffered` nothing.
    #[test]
    fn buffered_inference_stack_does_not_grow_with_depth() {
        use core::hint::black_box;
        use neurite::layer::{Dense, Infer, Layer, Relu};
        use neurite_firmware::target::stack_used_by;
        type Shallow = neurite::Seq![Dense<16, 64>, Relu<64>, Dense<64, 4>];
        type Deep = neurite::Seq![
            Dense<16, 64>, Relu<64>,
            Dense<64, 64>, Relu<64>, Dense<64, 64>, Relu<64>, Dense<64, 64>, Relu<64>,
            Dense<64, 64>, Relu<64>, Dense<64, 64>, Relu<64>, Dense<64, 64>, Relu<64>,
            Dense<64, 4>
        ];
        static SHALLOW: Shallow = Shallow::DEFAULT;
        static DEEP: Deep = Deep::DEFAULT;
        const W: usize = <Deep as Infer>::SCRATCH_WIDTH;
        defmt::assert_eq!(W, <Shallow as Infer>::SCRATCH_WIDTH);
        let x = [0.25f32; 16];
        let mut y = [0.0f32; 4];
        let mut run = |f: &dyn Fn(&[f32; 16], &mut [f32; 4])| {
            stack_used_by(|| f(black_box(&x), black_box(&mut y)))
        };
        let shallow_buffered = run(&|x, y| SHALLOW.forward_buffered::<W>(x, y));
        let deep_buffered = run(&|x, y| DEEP.forward_buffered::<W>(x, y));
        let shallow = run(&|x, y| SHALLOW.forward(x, y));
        let deep = run(&|x, y| DEEP.forward(x, y));
        defmt::println!(
            "stack, 3 layers / 15 layers of 64 values: forward {=usize} / {=usize} bytes, forward_buffered {=usize} / {=usize} bytes",
            shallow, deep, shallow_buffered, deep_buffered
        );
        // two buffers of W floats, plus call frames
        defmt::assert!(deep_buffered <= 2 * 4 * W + 512, "{}", deep_buffered);
        defmt::assert!(deep_buffered <= shallow_buffered + 12 * 64, "{}", deep_buffered);
        defmt::assert!(deep >= shallow + 1024, "{} {}", deep, shallow);
    }

    /// The host's model file (`neurite train`'s output for the demo model, committed as
    /// `data/digits.nrtm`), parsed in place from flash: every check (CRC, records, counts)
    /// on the device, no allocation, and the weights are the ones compiled into the firmware.
    #[test]
    fn the_hosts_model_file_is_read_in_place_from_flash() {
        use neurite::layer::Layer;
        use neurite::model_file::v2::ModelFileV2;
        use neurite_firmware::parity::hash_params;
        static FILE: &[u8] = include_bytes!("../data/digits.nrtm");
        let file = defmt::unwrap!(ModelFileV2::parse(FILE).ok());
        defmt::assert_eq!(file.param_count(), 4810);
        let mut model = neurite_firmware::budget::Model::DEFAULT;
        defmt::unwrap!(file.load_into(&mut model).ok());
        defmt::assert_eq!(hash_params(&model), hash_params(&neurite_firmware::model::MODEL));
        defmt::assert_eq!(file.standardisation().0.count(), 64);
        let (mean, std) = file.standardisation();
        defmt::assert!(mean.zip(neurite_firmware::model::INPUT_MEAN).all(|(a, b)| a == b));
        defmt::assert!(std.zip(neurite_firmware::model::INPUT_STD).all(|(a, b)| a == b));
    }

    /// The head and its optimiser saved as a model file and read back, on the device.
    #[test]
    fn the_head_round_trips_through_flash_as_a_model_file() {
        use neurite::optim::Optimizer;
        use neurite_firmware::ondevice::{fine_tune, new_optimizer, DEVICE};
        use neurite_firmware::parity::hash_params;
        use neurite_firmware::saved::{load_head, save_head};
        use neurite_firmware::saved::{FLASH_BYTES, SLOT_BYTES};
        let mut flash = SimFlash::<FLASH_BYTES>::new();
        let mut store = AbStore::new(&mut flash, 0, SLOT_BYTES);
        defmt::assert!(defmt::unwrap!(load_head(&mut store).ok()).is_none());
        // a few steps, so that the momentum buffer and the step count are not the initial ones
        let mut opt = defmt::unwrap!(new_optimizer().ok());
        let rows = &neurite_firmware::digits::TRAIN_ROWS[..64];
        let (head, _) =
            defmt::unwrap!(fine_tune(HEAD.clone(), &mut opt, DEVICE, rows, |_, _| {}).ok());
        defmt::unwrap!(save_head(&mut store, &head, &opt).ok());
        let back = defmt::unwrap!(defmt::unwrap!(load_head(&mut store).ok()));
        defmt::assert_eq!(back.record.len, neurite_firmware::saved::HEAD_FILE_LEN);
        defmt::assert_eq!(hash_params(&back.head), hash_params(&head));
        defmt::assert!(back.optimizer == opt && opt.steps() == 8);
    }
}
