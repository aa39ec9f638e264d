//! The firmware's portable library on the host: its committed model export is what the host
//! trains, the sensor driver against embedded-hal-mock, the A/B flash store under power cuts
//! at every byte, and the reference values of the parity runs.

use neurite_host::data::Dataset;
use neurite_host::fit::{train, TrainConfig};
use std::path::Path;

const MODEL_RS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/src/model.rs");
/// What the firmware's model export says it came from.
pub const SOURCE: &str =
    "the demo's digits model (neurite demo: 64-64-10, Adam, 30 epochs, seed 1)";

/// `src/model.rs` is exactly the export of the demo's model, retrained here (training is
/// deterministic). `NEURITE_BLESS=1` rewrites it.
#[test]
fn firmware_model_is_the_demo_model() {
    let data = Dataset::load_csv(&neurite_host::data::shipped_data_dir().join("digits.csv"), None)
        .unwrap();
    let (tr, te) = data.canonical_split();
    let trained = train(&TrainConfig::digits_demo(30), &tr, &te, |_| {}).unwrap();
    let module = neurite_host::export::rust_module(&trained.saved, SOURCE).unwrap();
    if std::env::var_os("NEURITE_BLESS").is_some() {
        std::fs::write(MODEL_RS, &module).unwrap();
    }
    let committed = std::fs::read_to_string(Path::new(MODEL_RS)).unwrap();
    assert!(committed == module, "firmware/src/model.rs is stale: run NEURITE_BLESS=1 cargo test -p neurite-tests --test firmware_host");
    // the same model as the file `neurite train` saves, which the on-target tests read in
    // place from flash (`include_bytes!`)
    let bytes = trained.saved.to_bytes().unwrap();
    if std::env::var_os("NEURITE_BLESS").is_some() {
        std::fs::write(MODEL_FILE, &bytes).unwrap();
    }
    let committed = std::fs::read(Path::new(MODEL_FILE)).unwrap();
    assert!(committed == bytes, "firmware/data/digits.nrtm is stale: run NEURITE_BLESS=1 cargo test -p neurite-tests --test firmware_host");
}

const MODEL_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/data/digits.nrtm");

const CNN_RS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/src/cnn_model.rs");
/// What the firmware's CNN export says it came from.
pub const CNN_SOURCE: &str = "the digits CNN (neurite train --input-shape 1x8x8 --lr 0.003 --epochs 30 --seed 1, layers neurite_host::fit::DIGITS_CNN)";

/// `src/cnn_model.rs` is exactly the export of the CLI's digits CNN, retrained here; the
/// firmware's typed CNN, run on this host, gives the runtime-shaped model's outputs bit for
/// bit (the QEMU test then compares the device's hash with this one).
#[test]
fn firmware_cnn_is_the_cli_cnn_bit_for_bit() {
    let data = Dataset::load_csv(&neurite_host::data::shipped_data_dir().join("digits.csv"), None)
        .unwrap();
    let (tr, te) = data.canonical_split();
    let trained = train(&TrainConfig::digits_cnn(30), &tr, &te, |_| {}).unwrap();
    let module = neurite_host::export::rust_module(&trained.saved, CNN_SOURCE).unwrap();
    if std::env::var_os("NEURITE_BLESS").is_some() {
        std::fs::write(CNN_RS, &module).unwrap();
    }
    let committed = std::fs::read_to_string(Path::new(CNN_RS)).unwrap();
    assert!(committed == module, "firmware/src/cnn_model.rs is stale: run NEURITE_BLESS=1 cargo test -p neurite-tests --test firmware_host");
    // The runtime-shaped model's outputs on the test rows, hashed as the firmware hashes.
    let mut h = neurite_firmware::parity::Fnv::new();
    let mut correct = 0;
    for &i in neurite_firmware::digits::TEST_ROWS.iter() {
        let i = usize::from(i);
        let raw: Vec<f32> =
            neurite_firmware::digits::PIXELS[i].iter().map(|&p| f32::from(p)).collect();
        let y = trained.saved.predict(&raw);
        correct += usize::from(
            neurite::kernel::reduce::argmax(&y) == usize::from(neurite_firmware::digits::LABELS[i]),
        );
        y.iter().for_each(|&v| h.add(v));
    }
    let (typed, typed_correct) = neurite_firmware::parity::cnn_inference();
    assert_eq!(typed, h.finish(), "the firmware's typed CNN differs from the host model");
    // the same model with its convolutions packed (`PackedConv2d`)
    let packed = neurite_firmware::parity::cnn_inference_with(neurite_firmware::cnn::infer_packed);
    assert_eq!(packed, (typed, typed_correct), "the packed convolutions change the outputs");
    assert_eq!(typed_correct, correct);
    assert_eq!(correct, 355, "test accuracy 355/360 = 0.9861 (README)");
}

const GRU_RS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/src/gru_model.rs");
/// What the firmware's GRU export says it came from.
pub const GRU_SOURCE: &str = "the digits GRU (neurite train --input-shape 8x8 --lr 0.005 --epochs 40 --seed 1, layers neurite_host::fit::DIGITS_GRU)";

/// `src/gru_model.rs` is exactly the export of the CLI's digits GRU, retrained here; the
/// firmware's typed GRU, streamed one row at a time on this host, gives the runtime-shaped
/// model's outputs bit for bit, and so does its whole-sequence forward (the QEMU test then
/// compares the device's hash with this one).
#[test]
fn firmware_gru_is_the_cli_gru_bit_for_bit() {
    let data = Dataset::load_csv(&neurite_host::data::shipped_data_dir().join("digits.csv"), None)
        .unwrap();
    let (tr, te) = data.canonical_split();
    let trained = train(&TrainConfig::digits_gru(40), &tr, &te, |_| {}).unwrap();
    let module = neurite_host::export::rust_module(&trained.saved, GRU_SOURCE).unwrap();
    if std::env::var_os("NEURITE_BLESS").is_some() {
        std::fs::write(GRU_RS, &module).unwrap();
    }
    let committed = std::fs::read_to_string(Path::new(GRU_RS)).unwrap();
    assert!(committed == module, "firmware/src/gru_model.rs is stale: run NEURITE_BLESS=1 cargo test -p neurite-tests --test firmware_host");
    let mut h = neurite_firmware::parity::Fnv::new();
    let mut correct = 0;
    for &i in neurite_firmware::digits::TEST_ROWS.iter() {
        let i = usize::from(i);
        let raw: Vec<f32> =
            neurite_firmware::digits::PIXELS[i].iter().map(|&p| f32::from(p)).collect();
        let y = trained.saved.predict(&raw);
        correct += usize::from(
            neurite::kernel::reduce::argmax(&y) == usize::from(neurite_firmware::digits::LABELS[i]),
        );
        y.iter().for_each(|&v| h.add(v));
    }
    let host = h.finish();
    assert_eq!(neurite_firmware::parity::gru_inference(true), (host, correct), "streamed");
    assert_eq!(neurite_firmware::parity::gru_inference(false), (host, correct), "whole sequence");
    assert_eq!(correct, 351, "test accuracy 351/360 = 0.975 (README)");
}

mod sensor {
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
    use heapless::Deque;
    use neurite_firmware::sensor::{reg, ArraySensor, Error, RawSample, ADDRESS, NO_LABEL};

    fn sample_transactions(pixels: [u8; 64], label: u8) -> Vec<Transaction> {
        vec![
            Transaction::write_read(ADDRESS, vec![reg::STATUS], vec![1]),
            Transaction::write_read(ADDRESS, vec![reg::PIXELS], pixels.to_vec()),
            Transaction::write_read(ADDRESS, vec![reg::LABEL], vec![label]),
        ]
    }

    #[test]
    fn reads_samples_into_the_ring_buffer_dropping_the_oldest() {
        let mut expect = Vec::new();
        for k in 0..3u8 {
            expect.extend(sample_transactions([k * 10; 64], k));
        }
        expect.extend(sample_transactions([7; 64], NO_LABEL));
        expect.push(Transaction::write_read(ADDRESS, vec![reg::STATUS], vec![0]));
        let mut i2c = Mock::new(&expect);
        let mut drv = ArraySensor::new(i2c.clone(), ADDRESS);
        let mut ring: Deque<RawSample, 2> = Deque::new();
        assert_eq!(drv.collect(&mut ring, 100), Ok(4));
        // capacity 2: the two newest remain
        let kept: Vec<_> = ring.iter().map(|s| (s.pixels[0], s.label)).collect();
        assert_eq!(kept, vec![(20, Some(2)), (7, None)]);
        i2c.done();
    }

    #[test]
    fn collect_stops_at_max_and_rejects_bad_labels() {
        let mut expect = sample_transactions([1; 64], 3);
        expect.extend(sample_transactions([2; 64], 42));
        let mut i2c = Mock::new(&expect);
        let mut drv = ArraySensor::new(i2c.clone(), ADDRESS);
        let mut ring: Deque<RawSample, 4> = Deque::new();
        assert_eq!(drv.collect(&mut ring, 1), Ok(1));
        assert_eq!(drv.collect(&mut ring, 1), Err(Error::BadLabel(42)));
        i2c.done();
    }

    #[test]
    fn bus_errors_are_reported() {
        use embedded_hal::i2c::ErrorKind;
        let expect =
            [Transaction::write_read(ADDRESS, vec![reg::STATUS], vec![0])
                .with_error(ErrorKind::Bus)];
        let mut i2c = Mock::new(&expect);
        let mut drv = ArraySensor::new(i2c.clone(), ADDRESS);
        assert_eq!(drv.ready(), Err(Error::Bus(ErrorKind::Bus)));
        i2c.done();
    }

    #[test]
    fn nominal_sensor_gives_the_clean_input_exactly() {
        use neurite_firmware::digits::{input, LABELS, PIXELS};
        use neurite_firmware::model::{INPUT_MEAN, INPUT_STD};
        use neurite_firmware::sim::SimulatedSensor;
        let order: Vec<u16> = (0..50).collect();
        let dev = SimulatedSensor::new(&PIXELS, Some(&LABELS), &order, ADDRESS, 1.0, 0.0);
        let mut drv = ArraySensor::new(dev, ADDRESS);
        for (i, &label) in LABELS.iter().enumerate().take(50) {
            let s = drv.read().unwrap();
            assert_eq!(s.label, Some(label));
            assert_eq!(s.to_input(&INPUT_MEAN, &INPUT_STD), input(i), "row {i}");
        }
        assert!(!drv.ready().unwrap());
    }

    /// The fine-tuning ring buffer's RAM, as firmware/README.md states it: 66 bytes a sample.
    #[test]
    fn a_raw_sample_is_66_bytes() {
        assert_eq!(size_of::<RawSample>(), 66);
        let ring = size_of::<Deque<RawSample, 32>>();
        assert!((32 * 66..32 * 66 + 32).contains(&ring), "{ring}");
    }
}

mod flash {
    use neurite_firmware::sim::{SimFlash, SECTOR};
    use neurite_firmware::storage::AbStore;

    type Flash = SimFlash<{ 8 * SECTOR }>;
    const SLOT: u32 = (4 * SECTOR) as u32;

    fn payload(tag: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31) ^ tag).collect()
    }

    fn boot(flash: &mut Flash) -> Option<Vec<u8>> {
        flash.power_on();
        let mut store = AbStore::new(flash, 0, SLOT);
        let mut out = vec![0u8; SLOT as usize];
        store.load(&mut out).unwrap().map(|r| out[..r.len].to_vec())
    }

    /// Saves `new` over a flash holding `old`, cutting power after every possible number of
    /// bytes; after each cut a reboot must find `old` or `new`, whole.
    fn cut_everywhere(start: &Flash, old: Option<&[u8]>, new: &[u8]) -> usize {
        // the bytes a full save touches
        let mut probe = start.clone();
        probe.power_on();
        AbStore::new(&mut probe, 0, SLOT).save(new).unwrap();
        let total = probe.touched;
        for cut in 0..=total {
            let mut f = start.clone();
            f.power_on();
            f.cut_power_after(cut);
            let saved = AbStore::new(&mut f, 0, SLOT).save(new).is_ok();
            let got = boot(&mut f);
            if saved {
                assert_eq!(got.as_deref(), Some(new), "cut at {cut}: save reported success");
            } else {
                assert!(
                    got.as_deref() == old || got.as_deref() == Some(new),
                    "cut at {cut} of {total}: {got:?}"
                );
            }
        }
        total
    }

    #[test]
    fn power_cut_at_every_byte_keeps_old_or_new() {
        let mut flash = Flash::new();
        assert_eq!(boot(&mut flash), None, "empty flash has no model");
        let a = payload(1, 2600); // the size of the digits head
        let b = payload(2, 2600);
        let c = payload(3, 1000);
        // first save onto empty flash: nothing or a
        // every byte a save touches is a cut point: the slot's erase, the payload, the header
        let touched = cut_everywhere(&flash, None, &a);
        assert_eq!(touched, SLOT as usize + 2600 + 16);
        AbStore::new(&mut flash, 0, SLOT).save(&a).unwrap();
        // second save goes to slot B; third (shorter) back to A: each survives every cut
        assert_eq!(cut_everywhere(&flash, Some(&a), &b), SLOT as usize + 2600 + 16);
        AbStore::new(&mut flash, 0, SLOT).save(&b).unwrap();
        assert_eq!(cut_everywhere(&flash, Some(&b), &c), SLOT as usize + 1000 + 16);
        AbStore::new(&mut flash, 0, SLOT).save(&c).unwrap();
        assert_eq!(boot(&mut flash), Some(c));
    }

    /// A long on-device fine-tuning run (the demo's head, SGD with momentum, one digit per
    /// step) saving its head every 5 steps, 2,000 saves, with power cut at a random byte of
    /// every third save: each reboot finds the head of the last completed save or of the
    /// one in progress, whole, and training resumes from it. Nothing is lost beyond the save
    /// in progress.
    #[test]
    fn random_power_cuts_during_a_long_fine_tuning_run_lose_nothing_saved() {
        use neurite::loss::{CrossEntropy, Reduction, Target};
        use neurite::prelude::Trainer;
        use neurite::rng::Rng;
        use neurite::train::FineTune;
        use neurite_firmware::budget::{Head, HeadOptimizer, FROZEN, HEAD};
        use neurite_firmware::saved::SLOT_BYTES as SLOT;
        use neurite_firmware::saved::{load_head, save_head, FLASH_BYTES, HEAD_FILE_LEN};
        use neurite_firmware::{digits, ondevice};

        let mut flash = SimFlash::<FLASH_BYTES>::new();
        let mut rng = Rng::new(2026);
        let ce = CrossEntropy::default();
        let mut head: Head = HEAD.clone();
        let mut opt: HeadOptimizer = ondevice::new_optimizer().unwrap();
        let mut last_saved: Option<(Head, HeadOptimizer)> = None;
        let (mut saves, mut cuts, mut resumed_new) = (0, 0, 0);
        let mut step = 0usize;
        while saves < 2000 {
            // five fine-tuning steps from the current head and optimiser
            let mut tuned = FineTune::new(&FROZEN, head.clone());
            let mut trainer = Trainer::<Head>::new();
            for _ in 0..5 {
                let row = usize::from(digits::TRAIN_ROWS[step % digits::TRAIN_ROWS.len()]);
                trainer.begin();
                let label = Target::Class(usize::from(digits::LABELS[row]));
                tuned.accumulate(&mut trainer, &ce, &digits::input(row), label).unwrap();
                trainer.finish(&ce, Reduction::Mean).unwrap();
                tuned.step(&mut opt, &trainer);
                step += 1;
            }
            head = tuned.head;
            // save, with power cut at a random byte of every third save
            flash.power_on();
            let cut = saves % 3 == 2;
            if cut {
                flash.cut_power_after(rng.below(SLOT as usize + HEAD_FILE_LEN + 400));
            }
            let done = save_head(&mut AbStore::new(&mut flash, 0, SLOT), &head, &opt).is_ok();
            saves += 1;
            // reboot: the newest whole record is the last completed save or this one, head
            // and optimiser together
            flash.power_on();
            let loaded = load_head(&mut AbStore::new(&mut flash, 0, SLOT))
                .unwrap()
                .map(|s| (s.head, s.optimizer));
            let now = (head.clone(), opt.clone());
            if done {
                assert_eq!(loaded.as_ref(), Some(&now), "save {saves} completed");
            } else {
                cuts += 1;
                let new = loaded.as_ref() == Some(&now);
                assert!(
                    new || loaded == last_saved,
                    "save {saves}: neither the old nor the new head and optimiser"
                );
                resumed_new += usize::from(new);
            }
            // the device resumes from what it finds
            if let Some((h, o)) = loaded {
                (head, opt) = (h.clone(), o.clone());
                last_saved = Some((h, o));
            }
        }
        println!("{saves} saves, {cuts} cut, {resumed_new} of those kept the new head");
        assert_eq!((saves, step), (2000, 10_000));
        // every third save was cut (some cuts land after the commit: the new head survives)
        assert!(cuts > 500 && resumed_new < cuts, "{cuts} cuts, {resumed_new} kept the new head");
        let finite = (0..<Head as neurite::params::Params>::TENSORS)
            .all(|t| neurite::params::Params::tensor(&head, t).iter().all(|v| v.is_finite()));
        assert!(finite);
    }

    #[test]
    fn corrupted_records_are_skipped_and_oversize_refused() {
        let mut flash = Flash::new();
        let mut store = AbStore::new(&mut flash, 0, SLOT);
        store.save(b"old model").unwrap();
        let rec = store.save(b"new model").unwrap();
        assert_eq!((rec.slot, rec.seq), (1, 2));
        assert!(store.save(&vec![0u8; SLOT as usize]).is_err());
        let _ = store.release();
        // a bit flip in the newest payload: the older record wins
        flash.bytes[SLOT as usize + 16 + 2] ^= 0x01;
        assert_eq!(boot(&mut flash).as_deref(), Some(&b"old model"[..]));
    }
}

mod parity {
    use neurite_firmware::parity::{adam_run, digits_inference, sgd_run, ADAM_STEPS, SGD_EPOCHS};

    /// The runs converge (they are real training runs), and are deterministic here.
    #[test]
    fn parity_runs_train_and_repeat() {
        let (h1, l1) = adam_run(ADAM_STEPS);
        let (h2, l2) = adam_run(ADAM_STEPS);
        assert_eq!((h1, l1.to_bits()), (h2, l2.to_bits()));
        assert!(l1 < 0.1, "adam loss {l1}");
        let (_, l) = sgd_run(SGD_EPOCHS);
        assert!(l < 0.1, "sgd loss {l}");
        let (_, correct) = digits_inference();
        // the host's accuracy for the demo model: 352 of 360
        assert_eq!(correct, 352);
    }

    /// The firmware's digits outputs equal the host's runtime-shaped model's, bit for bit.
    #[test]
    fn firmware_model_outputs_equal_the_host_cli_model() {
        use neurite_host::data::Dataset;
        use neurite_host::fit::{train, TrainConfig};
        let data =
            Dataset::load_csv(&neurite_host::data::shipped_data_dir().join("digits.csv"), None)
                .unwrap();
        let (tr, te) = data.canonical_split();
        let saved = train(&TrainConfig::digits_demo(30), &tr, &te, |_| {}).unwrap().saved;
        let mut h = neurite_firmware::parity::Fnv::new();
        for i in (0..data.len()).filter(|i| i % 5 == 0) {
            for v in saved.model.forward(&saved.prepare(data.row(i))) {
                h.add(v);
            }
        }
        assert_eq!(h.finish(), digits_inference().0);

        // the host's model file, read by the firmware's typed model (no allocation), holds
        // exactly the weights compiled into the firmware
        use neurite::layer::Layer;
        use neurite::params::Params;
        let bytes = saved.to_bytes().unwrap();
        let mut read = neurite_firmware::budget::Model::DEFAULT;
        neurite::model_file::v2::ModelFileV2::parse(&bytes).unwrap().load_into(&mut read).unwrap();
        let compiled = neurite_firmware::model::MODEL;
        assert_eq!(
            neurite_firmware::parity::hash_params(&read),
            neurite_firmware::parity::hash_params(&compiled)
        );
        assert!(read.tensor(0).iter().zip(compiled.tensor(0)).all(|(a, b)| a == b));
    }
}

mod saved_head {
    use neurite::model_file::v2::{AttrIn, HeaderV2, WriterV2};
    use neurite::model_file::Task;
    use neurite::optim::Optimizer;
    use neurite_firmware::budget::HEAD;
    use neurite_firmware::ondevice::{fine_tune, new_optimizer, DEVICE, TUNE_SAMPLES};
    use neurite_firmware::parity::hash_params;
    use neurite_firmware::saved::{head_file, load_head, save_head, SavedError, HEAD_FILE_LEN};
    use neurite_firmware::saved::{FLASH_BYTES, SLOT_BYTES as SLOT};
    use neurite_firmware::sim::SimFlash;
    use neurite_firmware::storage::AbStore;

    type Flash = SimFlash<FLASH_BYTES>;

    /// The head saved as a model file and loaded back is the same head, and the file is
    /// exactly `HEAD_FILE_LEN` bytes that the host's loader reads as a dense layer.
    #[test]
    fn the_head_round_trips_as_a_model_file_the_host_reads() {
        let mut file = [0u8; HEAD_FILE_LEN];
        let opt = new_optimizer().unwrap();
        assert_eq!(head_file(&HEAD, &opt, &mut file), Ok(HEAD_FILE_LEN));
        let host = neurite_host::model_io::SavedModel::from_bytes(&file).unwrap();
        assert_eq!(host.model.input_shape(), vec![64]);
        let x: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut want = [0.0f32; 10];
        neurite::layer::Infer::forward(&HEAD, &x.clone().try_into().unwrap(), &mut want);
        assert_eq!(host.predict(&x), want.to_vec());

        let mut flash = Flash::new();
        let mut store = AbStore::new(&mut flash, 0, SLOT);
        assert_eq!(load_head(&mut store).unwrap(), None);
        save_head(&mut store, &HEAD, &opt).unwrap();
        let back = load_head(&mut store).unwrap().unwrap();
        assert_eq!((back.record.seq, back.record.len), (1, HEAD_FILE_LEN));
        assert_eq!(hash_params(&back.head), hash_params(&HEAD));
        assert_eq!(back.optimizer, opt);
    }

    /// The demo's fine-tuning interrupted by a reboot (saved to flash with its optimiser,
    /// loaded into fresh values) ends where the uninterrupted run ends, bit for bit; restarting
    /// the optimiser instead (the momentum and step count lost) does not.
    #[test]
    fn fine_tuning_resumed_from_flash_equals_the_uninterrupted_run() {
        let rows = &neurite_firmware::digits::TRAIN_ROWS[..TUNE_SAMPLES];
        let mut opt = new_optimizer().unwrap();
        let (first, _) = fine_tune(HEAD.clone(), &mut opt, DEVICE, rows, |_, _| {}).unwrap();
        let (whole, report) = fine_tune(first.clone(), &mut opt, DEVICE, rows, |_, _| {}).unwrap();
        assert_eq!(report.steps, 2 * 80);

        let mut flash = Flash::new();
        let mut before = new_optimizer().unwrap();
        let (saved, _) = fine_tune(HEAD.clone(), &mut before, DEVICE, rows, |_, _| {}).unwrap();
        save_head(&mut AbStore::new(&mut flash, 0, SLOT), &saved, &before).unwrap();
        let _ = (saved, before); // the reboot: nothing of this run but the flash is kept
        let boot = load_head(&mut AbStore::new(&mut flash, 0, SLOT)).unwrap().unwrap();
        assert_eq!(boot.optimizer.steps(), 80);
        let mut resumed_opt = boot.optimizer;
        let (resumed, _) = fine_tune(boot.head, &mut resumed_opt, DEVICE, rows, |_, _| {}).unwrap();
        assert_eq!(hash_params(&resumed), hash_params(&whole));
        assert_eq!(resumed_opt, opt);

        let mut restarted = new_optimizer().unwrap();
        let (lost, _) = fine_tune(first, &mut restarted, DEVICE, rows, |_, _| {}).unwrap();
        assert_ne!(hash_params(&lost), hash_params(&whole));
    }

    /// A valid record holding a model file of another architecture is refused, not loaded.
    #[test]
    fn a_model_file_of_another_architecture_is_refused() {
        let mut bytes = [0u8; 256];
        let mut w = WriterV2::new(&mut bytes);
        w.record("dense", 0, 4 * 8 + 8, 0, &[("out", AttrIn::Nums(&[8.0]))]).unwrap();
        let header = HeaderV2 {
            task: Task::Classification,
            input_shape: &[4],
            columns: &[],
            means: &[],
            stds: &[],
            target_mean: 0.0,
            target_std: 1.0,
        };
        let params = [0.5f32; 40];
        let n = w.finish(&header, [&params[..]], core::iter::empty()).unwrap();
        let mut flash = Flash::new();
        let mut store = AbStore::new(&mut flash, 0, SLOT);
        store.save(&bytes[..n]).unwrap();
        assert_eq!(
            load_head(&mut store),
            Err(SavedError::Model(neurite::Error::ArchitectureMismatch { layer: 0 }))
        );
    }
}
