//! Footprint probe: inference of the firmware's digits model (64-64-10) from flash, to check
//! `neurite footprint`'s scaling from the reference model against a measurement.
#![no_std]
#![no_main]

neurite_probe::probe_main!(neurite_probe::inference_digits());
