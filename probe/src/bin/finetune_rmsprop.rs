//! Footprint probe: fine-tuning of the last layer (the others frozen in flash), RMSprop.
#![no_std]
#![no_main]

neurite_probe::probe_main!(neurite_probe::finetune(neurite_probe::opt::rmsprop));
