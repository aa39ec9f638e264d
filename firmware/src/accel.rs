//! Driver for a 3-axis accelerometer over embedded-hal 1.0 I2C, with the register map of the
//! ST LIS3DH (the part on many sensor boards): identity check, 25 Hz high-resolution mode at
//! +-4 g, data-ready polling and one 6-byte read of the three axes.
//!
//! Output registers hold 12-bit two's-complement values left-justified in 16 bits, little
//! endian, 2 mg per digit at +-4 g: `g = (raw >> 4) * 0.002`.

use embedded_hal::i2c::I2c;

/// I2C address (SA0 low).
pub const ADDRESS: u8 = 0x18;
/// Milli-g per digit at +-4 g in high-resolution mode.
pub const MG_PER_DIGIT: i16 = 2;

/// Registers.
pub mod reg {
    /// Identity; reads [`super::WHO_AM_I_VALUE`].
    pub const WHO_AM_I: u8 = 0x0F;
    /// Data rate and enabled axes.
    pub const CTRL_REG1: u8 = 0x20;
    /// Full scale and high-resolution mode.
    pub const CTRL_REG4: u8 = 0x23;
    /// Data-ready flags.
    pub const STATUS_REG: u8 = 0x27;
    /// First output register (X low byte); X, Y, Z follow, low byte first.
    pub const OUT_X_L: u8 = 0x28;
    /// Set in a register address to read several registers in one transfer.
    pub const AUTO_INCREMENT: u8 = 0x80;
}

/// What `WHO_AM_I` reads on this part.
pub const WHO_AM_I_VALUE: u8 = 0x33;
/// `CTRL_REG1`: 25 Hz, normal power, X, Y and Z enabled.
pub const CTRL_REG1_25HZ_XYZ: u8 = 0x37;
/// `CTRL_REG4`: block data update, +-4 g, high resolution.
pub const CTRL_REG4_4G_HR: u8 = 0x98;
/// `STATUS_REG`: a new X, Y and Z sample is ready.
pub const ZYXDA: u8 = 0x08;

/// Driver errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The bus failed.
    Bus(E),
    /// `WHO_AM_I` read something else: another part, or none.
    WrongDevice(u8),
    /// No sample became ready within the polls allowed.
    NoData,
}

/// The accelerometer on an I2C bus.
pub struct Accelerometer<I> {
    i2c: I,
}

/// Polls of `STATUS_REG` before [`Error::NoData`].
pub const MAX_POLLS: usize = 64;

impl<I: I2c> Accelerometer<I> {
    /// Checks the part's identity and configures 25 Hz, +-4 g, high resolution.
    pub fn new(mut i2c: I) -> Result<Self, Error<I::Error>> {
        let mut id = [0u8];
        i2c.write_read(ADDRESS, &[reg::WHO_AM_I], &mut id).map_err(Error::Bus)?;
        if id[0] != WHO_AM_I_VALUE {
            return Err(Error::WrongDevice(id[0]));
        }
        i2c.write(ADDRESS, &[reg::CTRL_REG4, CTRL_REG4_4G_HR]).map_err(Error::Bus)?;
        i2c.write(ADDRESS, &[reg::CTRL_REG1, CTRL_REG1_25HZ_XYZ]).map_err(Error::Bus)?;
        Ok(Self { i2c })
    }

    /// The next sample's raw values (12-bit, left-justified), after waiting for data-ready.
    pub fn read_raw(&mut self) -> Result<[i16; 3], Error<I::Error>> {
        let mut status = [0u8];
        for _ in 0..MAX_POLLS {
            self.i2c.write_read(ADDRESS, &[reg::STATUS_REG], &mut status).map_err(Error::Bus)?;
            if status[0] & ZYXDA != 0 {
                let mut b = [0u8; 6];
                self.i2c
                    .write_read(ADDRESS, &[reg::OUT_X_L | reg::AUTO_INCREMENT], &mut b)
                    .map_err(Error::Bus)?;
                return Ok(core::array::from_fn(|k| i16::from_le_bytes([b[2 * k], b[2 * k + 1]])));
            }
        }
        Err(Error::NoData)
    }

    /// The next sample in g.
    pub fn read_g(&mut self) -> Result<[f32; 3], Error<I::Error>> {
        Ok(self.read_raw()?.map(to_g))
    }

    /// Gives the bus back.
    pub fn release(self) -> I {
        self.i2c
    }
}

/// A raw output value in g.
pub fn to_g(raw: i16) -> f32 {
    f32::from((raw >> 4) * MG_PER_DIGIT) * 0.001
}

/// The raw output value the part reports for `g` (rounded to the nearest digit, saturated at
/// the 12-bit range).
pub fn from_g(g: f32) -> i16 {
    let digits = g * (1000.0 / f32::from(MG_PER_DIGIT));
    let d = if digits >= 0.0 { digits + 0.5 } else { digits - 0.5 };
    let d = if d >= 2047.0 {
        2047
    } else if d <= -2048.0 {
        -2048
    } else {
        d as i16
    };
    d << 4
}
