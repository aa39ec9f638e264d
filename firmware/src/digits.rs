//! The digits data in flash (generated from `host/data/digits.csv` by `build.rs`) and the
//! model input of a row.

include!(concat!(env!("OUT_DIR"), "/digits_data.rs"));

/// Clean model input of row `i`: pixels standardised with the training statistics, exactly
/// as the host computes it (`(p - mean) / std` in f32).
pub fn input(i: usize) -> [f32; 64] {
    input_with(i, &crate::model::INPUT_MEAN, &crate::model::INPUT_STD)
}

/// Model input of row `i` standardised with a model's own training statistics.
pub fn input_with(i: usize, mean: &[f32; 64], std: &[f32; 64]) -> [f32; 64] {
    let p = &PIXELS[i];
    core::array::from_fn(|k| (f32::from(p[k]) - mean[k]) / std[k])
}
