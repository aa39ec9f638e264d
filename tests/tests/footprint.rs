//! Compile-time memory accounting agrees with `size_of` and with counting by hand.

use core::mem::size_of;
use neurite::footprint::{fine_tuning, inference, training, Footprint};
use neurite::layer::{param_count, Dense, Layer, Relu};
use neurite::optim::{Adagrad, Adam, AdamConfig, RmsProp, Sgd, SgdConfig};

type Model = neurite::Seq![Dense<4, 16>, Relu<16>, Dense<16, 3>];
type G = <Model as Layer>::Grads;
type Digits = neurite::Seq![Dense<64, 64>, Relu<64>, Dense<64, 10>];

// A firmware-style budget, checked by the compiler.
const ADAM: Footprint = training::<Model, Adam<G>>();
const _: () = assert!(ADAM.ram() <= 4 * 1024, "iris MLP + Adam must fit 4 KB");

#[test]
fn parameters_gradients_and_trace() {
    assert_eq!(param_count::<Model>(), 4 * 16 + 16 + 16 * 3 + 3);
    assert_eq!(param_count::<Digits>(), 4810);
    assert_eq!(size_of::<Model>(), 131 * 4);
    assert_eq!(ADAM.params, 131 * 4);
    assert_eq!(ADAM.grads, 131 * 4);
    // the trace keeps the two 16-wide intermediate outputs
    assert_eq!(ADAM.trace, 2 * 16 * 4);
    assert_eq!(size_of::<<Digits as Layer>::Trace>(), 2 * 64 * 4);
}

#[test]
fn optimizer_state_is_what_its_options_need() {
    let cfg = size_of::<SgdConfig>() + 4; // hyper-parameters + step counter
    assert_eq!(training::<Model, Sgd<G>>().optimizer, cfg);
    assert_eq!(training::<Model, Sgd<G, neurite::optim::On<G>>>().optimizer, cfg + 131 * 4);
    let adam = size_of::<AdamConfig>() + 4;
    assert_eq!(ADAM.optimizer, adam + 2 * 131 * 4);
    assert_eq!(training::<Model, Adam<G, neurite::optim::On<G>>>().optimizer, adam + 3 * 131 * 4);
    assert!(size_of::<Adagrad<G>>() >= 131 * 4);
    assert!(
        size_of::<RmsProp<G>>()
            < size_of::<RmsProp<G, neurite::optim::On<G>, neurite::optim::On<G>>>()
    );
}

#[test]
fn inference_and_fine_tuning() {
    let inf = inference::<Digits>();
    assert_eq!(inf.params, 4810 * 4);
    assert_eq!(inf.buffers, (64 + 10) * 4);
    type Frozen = neurite::Seq![Dense<64, 64>, Relu<64>];
    type Head = Dense<64, 10>;
    let ft = fine_tuning::<Frozen, Head, Sgd<<Head as Layer>::Grads>>();
    assert_eq!(ft.frozen, (64 * 64 + 64) * 4);
    assert_eq!(ft.params, (64 * 10 + 10) * 4);
    assert_eq!(ft.grads, ft.params);
    assert_eq!(ft.trace, 0);
    assert!(ft.ram() < training::<Digits, Sgd<<Digits as Layer>::Grads>>().ram());
}

#[test]
fn host_footprint_of_a_spec_equals_size_of_the_same_type() {
    use neurite_host::dynamic::{parse_spec, DynModel};
    let m = DynModel::build(&parse_spec("dense(16),relu,dense(3)").unwrap(), &[4]).unwrap();
    let cfg = size_of::<AdamConfig>();
    assert_eq!(neurite_host::footprint::training(&m, 2, cfg), ADAM);
    assert_eq!(neurite_host::footprint::inference(&m), inference::<Model>());
    let d = DynModel::build(&parse_spec("dense(64),relu,dense(10)").unwrap(), &[64]).unwrap();
    type Frozen = neurite::Seq![Dense<64, 64>, Relu<64>];
    type Head = Dense<64, 10>;
    let sgd = size_of::<SgdConfig>();
    assert_eq!(
        neurite_host::footprint::fine_tune_last(&d, 0, sgd),
        fine_tuning::<Frozen, Head, Sgd<<Head as Layer>::Grads>>()
    );
    // the sequence family: the typed layers' own traces (gates and states per step, an
    // attention's projections and weights) and the sequence before a `LastStep`
    use neurite::layer::{Flatten1d, Gru, LastStep, Lstm, SelfAttention};
    let seq = |spec: &str, shape: &[usize]| {
        let m = DynModel::build(&parse_spec(spec).unwrap(), shape).unwrap();
        neurite_host::footprint::training(&m, 2, cfg)
    };
    type G1 = neurite::Seq![(Gru<8, 8, 8>, LastStep<8, 8>), Dense<8, 10>];
    assert_eq!(seq("gru(8),dense(10)", &[8, 8]), training::<G1, Adam<<G1 as Layer>::Grads>>());
    type G2 = neurite::Seq![Lstm<3, 6, 4>, (Gru<6, 5, 4>, LastStep<5, 4>), Dense<5, 3>];
    assert_eq!(
        seq("lstm(6,return=sequence),gru(5),dense(3)", &[4, 3]),
        training::<G2, Adam<<G2 as Layer>::Grads>>()
    );
    type A1 = neurite::Seq![SelfAttention<4, 2, 4>, Flatten1d<4, 4, 16>, Dense<16, 3>];
    assert_eq!(
        seq("self_attention(2),flatten,dense(3)", &[4, 4]),
        training::<A1, Adam<<A1 as Layer>::Grads>>()
    );
    // an odd width, where padding shows
    let o = DynModel::build(&parse_spec("dense(5),tanh,dense(1)").unwrap(), &[3]).unwrap();
    type Odd = neurite::Seq![Dense<3, 5>, neurite::layer::Tanh<5>, Dense<5, 1>];
    assert_eq!(
        neurite_host::footprint::training(&o, 3, cfg),
        training::<Odd, Adam<<Odd as Layer>::Grads, neurite::optim::On<<Odd as Layer>::Grads>>>()
    );
}

/// The memory table the demo prints (`cargo run --release`, README "The demo"), cell by
/// cell, through the core's types and through the host's accounting of the same spec that
/// the demo calls.
#[test]
fn demo_footprint_table() {
    use neurite_host::dynamic::{parse_spec, DynModel};
    type Frozen = neurite::Seq![Dense<64, 64>, Relu<64>];
    type Head = Dense<64, 10>;
    type HeadG = <Head as Layer>::Grads;
    let fp = |params, frozen, grads, optimizer, trace, buffers| Footprint {
        params,
        frozen,
        grads,
        optimizer,
        trace,
        buffers,
    };
    let inf = fp(19240, 0, 0, 0, 0, 296);
    let sgd_head = fp(2600, 16640, 2600, 24, 0, 640);
    let adam_head = fp(2600, 16640, 2600, 5228, 0, 640);
    let adam_all = fp(19240, 0, 19240, 38508, 512, 384);
    assert_eq!(inference::<Digits>(), inf);
    assert_eq!(fine_tuning::<Frozen, Head, Sgd<HeadG>>(), sgd_head);
    assert_eq!(fine_tuning::<Frozen, Head, Adam<HeadG>>(), adam_head);
    assert_eq!(training::<Digits, Adam<<Digits as Layer>::Grads>>(), adam_all);
    // the "total RAM" row
    let totals = [inf.ram(), sgd_head.ram(), adam_head.ram(), adam_all.ram()];
    assert_eq!(totals, [19536, 5864, 11068, 77884]);

    let d = DynModel::build(&parse_spec("dense(64),relu,dense(10)").unwrap(), &[64]).unwrap();
    let (sgd, adam) = (size_of::<SgdConfig>(), size_of::<AdamConfig>());
    assert_eq!(neurite_host::footprint::inference(&d), inf);
    assert_eq!(neurite_host::footprint::fine_tune_last(&d, 0, sgd), sgd_head);
    assert_eq!(neurite_host::footprint::fine_tune_last(&d, 2, adam), adam_head);
    assert_eq!(neurite_host::footprint::training(&d, 2, adam), adam_all);
}

/// The table of `neurite footprint --model iris.neurite --optimizer sgd` (README "The
/// command line"): the iris MLP 4-16-3.
#[test]
fn iris_sgd_footprint_table() {
    type Frozen = neurite::Seq![Dense<4, 16>, Relu<16>];
    type Head = Dense<16, 3>;
    let inf = inference::<Model>();
    let train = training::<Model, Sgd<G>>();
    let head = fine_tuning::<Frozen, Head, Sgd<<Head as Layer>::Grads>>();
    let row = |f: &Footprint| [f.params, f.frozen, f.grads, f.optimizer, f.trace, f.buffers];
    assert_eq!(row(&inf), [524, 0, 0, 0, 0, 28]);
    assert_eq!(row(&train), [524, 0, 524, 24, 128, 92]);
    assert_eq!(row(&head), [204, 320, 204, 24, 0, 156]);
    assert_eq!([inf.ram(), train.ram(), head.ram()], [552, 1292, 588]);
}

/// `neurite footprint`'s on-device estimates scale the probe's measurements
/// (`probe/footprint.csv`): for the probe's own reference model they are the measurements,
/// and the reference model is the one this file's `Model` types (the template's).
#[test]
fn device_estimates_scale_the_probe_measurements() {
    use neurite_host::dynamic::{parse_spec, DynModel};
    use neurite_host::footprint::{device_estimates, probe_rows, PROBE_MODEL};
    let rows = probe_rows();
    assert_eq!(rows.len(), 2 * 2 * 16, "m0 and m4f, s and 3, 16 workloads");
    let (spec, inputs) = PROBE_MODEL;
    let reference = DynModel::build(&parse_spec(spec).unwrap(), &[inputs]).unwrap();
    assert_eq!(reference.param_count(), param_count::<Model>());
    for optimizer in ["sgd", "momentum", "adagrad", "rmsprop", "adam", "amsgrad"] {
        let estimates = device_estimates(&reference, optimizer).unwrap();
        assert_eq!(estimates.len(), 12, "{optimizer}: 3 workloads x 2 cores x 2 opt-levels");
        for e in &estimates {
            assert_eq!((e.flash, e.ram), (e.probe.text, e.probe.stack), "{optimizer}: {e:?}");
            // the host's compile-time accounting of the same workload is the device's, up to
            // the 64-bit host's wider batch sums and generator (at most 16 bytes)
            let host = match e.probe.workload.split('_').next().unwrap() {
                "inference" => neurite_host::footprint::inference(&reference).buffers,
                "train" => {
                    let (slots, cfg) = neurite_host::footprint::optimizer_state(optimizer);
                    neurite_host::footprint::training(&reference, slots, cfg).ram()
                }
                _ => {
                    let (slots, cfg) = neurite_host::footprint::optimizer_state(optimizer);
                    neurite_host::footprint::fine_tune_last(&reference, slots, cfg).ram()
                }
            };
            let device = e.probe.footprint_ram;
            assert!(host >= device && host - device <= 16, "{e:?}: host {host}, device {device}");
            assert!(e.probe.stack > device, "{e:?}: the stack holds the buffers and more");
        }
    }
    // a wider model: 4 bytes of flash per extra weight; RAM grows by the compile-time
    // difference plus the extra intermediate outputs
    let wide = DynModel::build(&parse_spec("dense(32),relu,dense(3)").unwrap(), &[4]).unwrap();
    let extra_params = wide.param_count() - reference.param_count();
    let (small, big) =
        (device_estimates(&reference, "sgd").unwrap(), device_estimates(&wide, "sgd").unwrap());
    for (s, b) in small.iter().zip(&big) {
        assert_eq!(b.flash - s.flash, 4 * extra_params);
        let host_ram = |m: &DynModel| neurite_host::footprint::inference(m).buffers;
        if s.probe.workload == "inference" {
            // same input and output; 2 x 16 more intermediate values
            assert_eq!(host_ram(&wide), host_ram(&reference));
            assert_eq!(b.ram - s.ram, 4 * 32);
        } else {
            assert!(b.ram > s.ram + 4 * extra_params, "{b:?}");
        }
    }
    assert!(device_estimates(&reference, "lion").is_none());

    // a measured larger model (the firmware's 64-64-10, probe workload `inference_digits`):
    // the scaled inference estimate is within 15% of the measurement on every core and
    // opt-level (measured 2026-11-26 after the core's sequence layers: flash -8.5% to +1.6%, RAM -13% to +0.4%; opt-level 3
    // inlines more per model, which the scaling from the small model under-counts)
    let digits = DynModel::build(&parse_spec("dense(64),relu,dense(10)").unwrap(), &[64]).unwrap();
    for e in
        device_estimates(&digits, "sgd").unwrap().iter().filter(|e| e.probe.workload == "inference")
    {
        let measured = rows
            .iter()
            .find(|r| {
                r.workload == "inference_digits"
                    && r.target == e.probe.target
                    && r.opt == e.probe.opt
            })
            .unwrap();
        let off = |est: usize, real: usize| (est as f64 - real as f64).abs() / real as f64;
        assert!(off(e.flash, measured.text) < 0.15, "flash {e:?} against {measured:?}");
        assert!(off(e.ram, measured.stack) < 0.15, "RAM {e:?} against {measured:?}");
    }
}

/// The examples' one-line device summary quotes the probe-scaled M4F opt-level-3 estimates
/// (`device_estimates`) of inference and of Adam training, digits grouped by thousands.
#[test]
fn examples_m4f_line_quotes_the_device_estimates() {
    use neurite_host::dynamic::{parse_spec, DynModel};
    use neurite_host::footprint::{device_estimates, m4f_estimate_line};
    let model = DynModel::build(&parse_spec("dense(300),relu,dense(10)").unwrap(), &[64]).unwrap();
    let est = device_estimates(&model, "adam").unwrap();
    let pick = |w: &str| {
        est.iter().find(|e| e.probe.target == "m4f" && e.probe.opt == "3" && e.probe.workload == w)
    };
    let (inf, train) = (pick("inference").unwrap(), pick("train_adam").unwrap());
    let grouped = |v: usize| {
        let s = v.to_string();
        let (head, tail) = s.split_at(s.len() % 3);
        let mut parts: Vec<&str> =
            tail.as_bytes().chunks(3).map(|c| core::str::from_utf8(c).unwrap()).collect();
        if !head.is_empty() {
            parts.insert(0, head);
        }
        parts.join(",")
    };
    assert!(inf.flash > 1000 && train.ram > 100_000, "{inf:?} {train:?}");
    // a graph convolution's adjacency (a buffer, 25 values) is flash like its weights
    let gcn = DynModel::build(&parse_spec("gcn_conv(4)").unwrap(), &[5, 3]).unwrap();
    assert_eq!((gcn.param_count(), gcn.buffer_count()), (16, 25));
    let g = device_estimates(&gcn, "adam").unwrap();
    for e in g.iter().filter(|e| e.probe.workload == "inference") {
        assert_eq!(e.flash, e.probe.text + 4 * (16 + 25) - 4 * 131, "{e:?}");
    }
    let line = m4f_estimate_line(&model);
    assert_eq!(
        line,
        format!(
            "M4F estimate (probe-scaled, opt-level 3): inference {} B flash, {} B RAM; training with Adam {} B RAM",
            grouped(inf.flash),
            grouped(inf.ram),
            grouped(train.ram)
        )
    );
}
