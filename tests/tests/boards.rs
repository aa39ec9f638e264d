//! The program every board in `boards/` runs (`boards/common/digits.rs`), run on this host:
//! the output `boards/README.md` expects from a board (neurite's arithmetic is the same bits
//! on every target; the boards themselves are only built here, never run).

#[path = "../../firmware/src/model.rs"]
#[rustfmt::skip]
#[allow(missing_docs, clippy::all, dead_code)]
mod model;

#[path = "../../boards/common/digits.rs"]
#[allow(dead_code)]
mod digits;

use neurite::prelude::Trainer;

#[test]
fn the_boards_program_gives_the_expected_output() {
    let mut tuned = digits::tuned();
    let x = digits::standardise(&digits::SAMPLE);
    let (class, _) = digits::predict(&tuned, &x);
    assert_eq!((class, digits::LABEL), (6, 6));
    let mut trainer = Trainer::new();
    let mut opt = digits::OPTIMIZER;
    let (before, after) =
        digits::fine_tune_step(&mut tuned, &mut trainer, &mut opt, &x, digits::LABEL).unwrap();
    // boards/README.md: "loss 0.51486856 -> 0.13996363"
    assert_eq!((before, after), (0.514_868_56, 0.139_963_63));
    assert_eq!((digits::INFERENCE.buffers, digits::FINE_TUNE.ram()), (296, 8464));
}
