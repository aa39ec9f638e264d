//! Footprint probe: full training of the model (copied into RAM), plain SGD.
#![no_std]
#![no_main]

neurite_probe::probe_main!(neurite_probe::train(neurite_probe::opt::sgd));
