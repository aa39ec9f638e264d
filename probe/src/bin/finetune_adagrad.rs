//! Footprint probe: fine-tuning of the last layer (the others frozen in flash), AdaGrad.
#![no_std]
#![no_main]

neurite_probe::probe_main!(neurite_probe::finetune(neurite_probe::opt::adagrad));
