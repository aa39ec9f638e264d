//! Footprint probe: inference of the reference model and of a second model type (4-12-3).
#![no_std]
#![no_main]

neurite_probe::probe_main!(neurite_probe::inference_two_models());
