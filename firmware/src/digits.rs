//! The digits data in flash (generated from `host/data/digits.csv` by `build.rs`) and the
//! model input of a row.

include!(concat!(env!("OUT_DIR"), "/digits_data.rs"));

/// Clean model input of row `i`: pixels standardised with the training statistics, exactly
/// as the host computes it (`(p - mean) / std` in f32).
pub fn input(i: usize) -> [f32; 64] {
    let p = &PIXELS[i];
    let (mean, std) = (&crate::model::INPUT_MEAN, &crate::model::INPUT_STD);
    core::array::from_fn(|k| (f32::from(p[k]) - mean[k]) / std[k])
}
