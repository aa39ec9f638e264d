//! Footprint probe: inference of the reference model from flash.
#![no_std]
#![no_main]

neurite_probe::probe_main!(neurite_probe::inference());
