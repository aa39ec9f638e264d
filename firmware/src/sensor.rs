//! Driver for an 8x8 array sensor on I2C (embedded-hal 1.0), in the style of Panasonic's
//! Grid-EYE: poll `STATUS`, read 64 raw pixel bytes, and for calibration samples the label
//! the operator entered. Samples go into a heapless ring buffer of training samples.
//!
//! Registers: `STATUS` (bit 0: a sample is ready), `PIXELS` (64 bytes, auto-increment),
//! `LABEL` (0..=9, or `NO_LABEL`; reading it consumes the sample).

use embedded_hal::i2c::I2c;
use heapless::Deque;

/// Default 7-bit address.
pub const ADDRESS: u8 = 0x69;
/// Register addresses.
pub mod reg {
    /// Bit 0 set while a sample is ready.
    pub const STATUS: u8 = 0x00;
    /// The label of the current sample (reading it consumes the sample).
    pub const LABEL: u8 = 0x01;
    /// First of 64 pixel bytes.
    pub const PIXELS: u8 = 0x80;
}
/// Label register value of a sample without a label.
pub const NO_LABEL: u8 = 0xFF;
/// Raw counts per pixel unit of the nominal transfer function: full scale (16 units) is 240
/// counts, inside the 8-bit range, and `counts / 15` recovers a nominal pixel exactly.
pub const COUNTS_PER_UNIT: f32 = 15.0;

/// One sample as the sensor delivers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSample {
    /// Raw pixel counts, row-major.
    pub pixels: [u8; 64],
    /// The class, for calibration samples.
    pub label: Option<u8>,
}

/// What went wrong reading the sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The bus failed.
    Bus(E),
    /// The label register held a value that is neither a class nor `NO_LABEL`.
    BadLabel(u8),
}

/// The sensor behind an I2C bus.
pub struct ArraySensor<I2C> {
    i2c: I2C,
    address: u8,
}

impl<I2C: I2c> ArraySensor<I2C> {
    /// A driver for the sensor at `address`.
    pub fn new(i2c: I2C, address: u8) -> Self {
        Self { i2c, address }
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }

    fn read_reg(&mut self, reg: u8, buf: &mut [u8]) -> Result<(), Error<I2C::Error>> {
        self.i2c.write_read(self.address, &[reg], buf).map_err(Error::Bus)
    }

    /// Whether a sample is ready.
    pub fn ready(&mut self) -> Result<bool, Error<I2C::Error>> {
        let mut status = [0u8];
        self.read_reg(reg::STATUS, &mut status)?;
        Ok(status[0] & 1 != 0)
    }

    /// Reads the current sample: its pixels, then its label (which consumes it).
    pub fn read(&mut self) -> Result<RawSample, Error<I2C::Error>> {
        let mut pixels = [0u8; 64];
        self.read_reg(reg::PIXELS, &mut pixels)?;
        let mut label = [0u8];
        self.read_reg(reg::LABEL, &mut label)?;
        let label = match label[0] {
            NO_LABEL => None,
            c @ 0..=9 => Some(c),
            other => return Err(Error::BadLabel(other)),
        };
        Ok(RawSample { pixels, label })
    }

    /// Reads ready samples into the ring buffer until `max` were read or none is ready; a full
    /// buffer drops its oldest sample. Returns how many were read.
    pub fn collect<const N: usize>(
        &mut self,
        ring: &mut Deque<RawSample, N>,
        max: usize,
    ) -> Result<usize, Error<I2C::Error>> {
        let mut n = 0;
        while n < max && self.ready()? {
            let s = self.read()?;
            if ring.is_full() {
                ring.pop_front();
            }
            // cannot fail: a slot was just freed
            let _ = ring.push_back(s);
            n += 1;
        }
        Ok(n)
    }
}

impl RawSample {
    /// The model's input: raw counts through the nominal transfer function
    /// (`counts / COUNTS_PER_UNIT`), standardised with the training statistics.
    pub fn to_input(&self, mean: &[f32; 64], std: &[f32; 64]) -> [f32; 64] {
        core::array::from_fn(|i| (f32::from(self.pixels[i]) / COUNTS_PER_UNIT - mean[i]) / std[i])
    }
}
