//! # neurite-firmware
//!
//! neurite on Cortex-M: the digits model exported by the host runs from flash, is fine-tuned
//! on the device from samples read through an I2C sensor driver, and the learnt head is kept
//! in NOR flash with A/B slots that survive a power cut at any byte.
//!
//! The library is portable `no_std` code (the root workspace's tests run it on the host);
//! `target` holds what only exists on the MCU (instruction counter, stack painting, exit).
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub mod accel;
pub mod activity;
/// The activity GRU exported by the host (`neurite export --rust` of `tests/tests/activity.rs`'s
/// training); generated, not formatted.
#[rustfmt::skip]
#[allow(missing_docs, clippy::all)]
pub mod activity_model;
pub mod budget;
pub mod cnn;
/// The digits CNN exported by the host (`neurite export --rust`); generated, not formatted.
#[rustfmt::skip]
#[allow(missing_docs, clippy::all)]
pub mod cnn_model;
pub mod digits;
pub mod gru;
pub mod int8_anchors;
#[rustfmt::skip]
#[allow(missing_docs, clippy::all)]
pub mod gru_model;
#[cfg(target_os = "none")]
pub mod host_flash;
/// The digits model exported by the host (`neurite export --rust`); generated, not formatted.
#[rustfmt::skip]
#[allow(missing_docs, clippy::all)]
pub mod model;
pub mod motion;
pub mod ondevice;
pub mod parity;
pub mod saved;
pub mod sensor;
pub mod sim;
pub mod storage;
#[cfg(target_os = "none")]
pub mod target;
