//! On-target tests (defmt-test, in QEMU): the model, the trainer, the sensor driver and the
//! flash store on the Cortex-M4F itself. Panics and HardFaults fail the run.
#![no_std]
#![no_main]

neurite_firmware::exit_on_hardfault!();

#[defmt_test::tests]
mod tests {
    use neurite::loss::{CrossEntropy, Reduction, Target};
    use neurite::prelude::Trainer;
    use neurite::train::FineTune;
    use neurite_firmware::budget::{Head, FROZEN, HEAD};
    use neurite_firmware::digits::{LABELS, PIXELS, TEST_ROWS};
    use neurite_firmware::model::{INPUT_MEAN, INPUT_STD};
    use neurite_firmware::sensor::{ArraySensor, ADDRESS};
    use neurite_firmware::sim::{SimFlash, SimulatedSensor, SECTOR};
    use neurite_firmware::storage::AbStore;

    #[test]
    fn digits_model_is_accurate_on_target() {
        let (_, correct) = neurite_firmware::parity::digits_inference();
        defmt::assert!(correct * 100 >= 97 * TEST_ROWS.len());
    }

    #[test]
    fn a_training_step_lowers_the_loss() {
        let mut ft = FineTune::new(&FROZEN, HEAD.clone());
        let mut opt = neurite::optim::Sgd::<Head>::new(0.05);
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
}
