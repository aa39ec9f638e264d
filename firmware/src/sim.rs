//! Simulated hardware for QEMU and host tests: the array sensor behind an I2C bus, with a
//! per-device gain and offset, and NOR flash that can lose power at any byte.

use crate::sensor::{reg, COUNTS_PER_UNIT, NO_LABEL};
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, Operation};
use embedded_storage::nor_flash::{
    ErrorType as FlashErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// A simulated sensor streaming `pixels` (values 0..=16) with their `labels`, through its
/// transfer function `counts = clamp(round(p * 16 * gain + offset), 0, 255)`.
pub struct SimulatedSensor<'a> {
    pixels: &'a [[u8; 64]],
    labels: Option<&'a [u8]>,
    order: &'a [u16],
    next: usize,
    gain: f32,
    offset: f32,
    address: u8,
    register: u8,
}

/// The simulated bus error (a NACK from a wrong address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimBusError;

impl embedded_hal::i2c::Error for SimBusError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::NoAcknowledge(embedded_hal::i2c::NoAcknowledgeSource::Address)
    }
}

/// A simulated I2C device's side of a transaction: a NACK unless `address` is the device's
/// `own`, else each operation in order to `handle` (a write selects a register and may set
/// it, a read reads from the selected register on).
fn register_transfers<D>(
    own: u8,
    address: u8,
    operations: &mut [Operation<'_>],
    mut handle: impl FnMut(&mut D, &mut Operation<'_>),
    device: &mut D,
) -> Result<(), SimBusError> {
    if address != own {
        return Err(SimBusError);
    }
    for op in operations {
        handle(device, op);
    }
    Ok(())
}

impl<'a> SimulatedSensor<'a> {
    /// Streams the rows listed in `order` of `pixels` (with `labels` when given, for
    /// calibration), at I2C `address`, with the device's `gain` and `offset` in counts.
    pub fn new(
        pixels: &'a [[u8; 64]],
        labels: Option<&'a [u8]>,
        order: &'a [u16],
        address: u8,
        gain: f32,
        offset: f32,
    ) -> Self {
        Self { pixels, labels, order, next: 0, gain, offset, address, register: 0 }
    }

    /// The raw count of pixel value `p`.
    pub fn counts(&self, p: u8) -> u8 {
        let c = f32::from(p) * COUNTS_PER_UNIT * self.gain + self.offset + 0.5;
        if c <= 0.0 {
            0
        } else if c >= 255.0 {
            255
        } else {
            c as u8
        }
    }

    fn current(&self) -> Option<usize> {
        self.order.get(self.next).map(|&i| usize::from(i))
    }

    fn read_register(&mut self, buf: &mut [u8]) {
        match self.register {
            reg::STATUS => buf.fill(u8::from(self.current().is_some())),
            reg::LABEL => {
                let label = match (self.current(), self.labels) {
                    (Some(i), Some(l)) => l[i],
                    _ => NO_LABEL,
                };
                buf.fill(label);
                if self.current().is_some() {
                    self.next += 1;
                }
            }
            r if r >= reg::PIXELS => {
                let row = self.current().map(|i| self.pixels[i]);
                for (k, b) in buf.iter_mut().enumerate() {
                    let idx = usize::from(r - reg::PIXELS) + k;
                    *b = match row {
                        Some(p) if idx < 64 => self.counts(p[idx]),
                        _ => 0,
                    };
                }
            }
            _ => buf.fill(0),
        }
    }
}

impl ErrorType for SimulatedSensor<'_> {
    type Error = SimBusError;
}

impl I2c for SimulatedSensor<'_> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let own = self.address;
        register_transfers(
            own,
            address,
            operations,
            |sim: &mut Self, op| match op {
                Operation::Write(bytes) => {
                    if let Some(&r) = bytes.first() {
                        sim.register = r;
                    }
                }
                Operation::Read(buf) => sim.read_register(buf),
            },
            self,
        )
    }
}

/// Simulated NOR flash of `SIZE` bytes: erase sets a sector to 0xFF, write can only clear
/// bits. With a power budget, the operation that exceeds it stops at that byte and every
/// later operation fails, as after a power cut, until [`SimFlash::power_on`].
#[derive(Clone)]
pub struct SimFlash<const SIZE: usize> {
    /// The contents.
    pub bytes: [u8; SIZE],
    budget: Option<usize>,
    /// Bytes erased or written since the last power-on.
    pub touched: usize,
    dead: bool,
}

/// Simulated flash errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimFlashError {
    /// Power was cut.
    PowerCut,
    /// Out of bounds or misaligned.
    Bounds,
}

impl NorFlashError for SimFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::PowerCut => NorFlashErrorKind::Other,
            Self::Bounds => NorFlashErrorKind::OutOfBounds,
        }
    }
}

/// Erase sector size of the simulated flash.
pub const SECTOR: usize = 1024;

impl<const SIZE: usize> Default for SimFlash<SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SIZE: usize> SimFlash<SIZE> {
    /// Erased flash with unlimited power.
    pub const fn new() -> Self {
        Self { bytes: [0xFF; SIZE], budget: None, touched: 0, dead: false }
    }

    /// Power will fail after `bytes` more bytes are erased or written.
    pub fn cut_power_after(&mut self, bytes: usize) {
        self.budget = Some(bytes);
    }

    /// Power is back (a reboot): unlimited budget, counters reset.
    pub fn power_on(&mut self) {
        self.budget = None;
        self.touched = 0;
        self.dead = false;
    }

    /// One byte of an erase or write: `false` once power is gone.
    fn spend(&mut self) -> bool {
        if self.dead {
            return false;
        }
        if let Some(b) = self.budget {
            if self.touched >= b {
                self.dead = true;
                return false;
            }
        }
        self.touched += 1;
        true
    }
}

impl<const SIZE: usize> FlashErrorType for SimFlash<SIZE> {
    type Error = SimFlashError;
}

impl<const SIZE: usize> ReadNorFlash for SimFlash<SIZE> {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        let src = self.bytes.get(at..at + bytes.len()).ok_or(SimFlashError::Bounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        SIZE
    }
}

impl<const SIZE: usize> NorFlash for SimFlash<SIZE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (from as usize, to as usize);
        if !from.is_multiple_of(SECTOR) || !to.is_multiple_of(SECTOR) || to > SIZE || from > to {
            return Err(SimFlashError::Bounds);
        }
        for i in from..to {
            if !self.spend() {
                return Err(SimFlashError::PowerCut);
            }
            self.bytes[i] = 0xFF;
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        if !at.is_multiple_of(Self::WRITE_SIZE)
            || !bytes.len().is_multiple_of(Self::WRITE_SIZE)
            || at + bytes.len() > SIZE
        {
            return Err(SimFlashError::Bounds);
        }
        for (i, &b) in bytes.iter().enumerate() {
            if !self.spend() {
                return Err(SimFlashError::PowerCut);
            }
            self.bytes[at + i] &= b;
        }
        Ok(())
    }
}

/// A device's accelerometer against the nominal part: per-axis sensitivity (nominal 1) and
/// zero-g offset in g (nominal 0), as an uncalibrated unit has them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccelCalibration {
    /// Sensitivity per axis.
    pub gain: [f32; 3],
    /// Zero-g offset per axis, in g.
    pub offset: [f32; 3],
}

impl AccelCalibration {
    /// The nominal part, as the desktop model was trained with.
    pub const NOMINAL: Self = Self { gain: [1.0; 3], offset: [0.0; 3] };
}

/// A simulated LIS3DH-style accelerometer worn through a session: window `w` of
/// [`crate::motion::WINDOW`] samples is `activities[w]`, its motion drawn from a generator
/// seeded with `seed`; after the last window no sample is ever ready. It answers
/// `WHO_AM_I`, takes `CTRL_REG1` and `CTRL_REG4` (data only once `CTRL_REG1` enables the
/// axes), reports data-ready in `STATUS_REG` and returns each sample once, through
/// `calibration`, quantised as the part does ([`crate::accel::from_g`]).
pub struct SimulatedAccelerometer<'a> {
    activities: &'a [u8],
    rng: neurite::prelude::Rng,
    motion: Option<crate::motion::Motion>,
    window: usize,
    step: usize,
    calibration: AccelCalibration,
    enabled: bool,
    register: u8,
    sample: [u8; 6],
}

impl<'a> SimulatedAccelerometer<'a> {
    /// A session of `activities` (one per window), drawn from `seed`, through `calibration`.
    pub fn new(activities: &'a [u8], seed: u64, calibration: AccelCalibration) -> Self {
        Self {
            activities,
            rng: neurite::prelude::Rng::new(seed),
            motion: None,
            window: 0,
            step: 0,
            calibration,
            enabled: false,
            register: 0,
            sample: [0; 6],
        }
    }

    /// Draws the next sample into the output registers; `false` once the session is over.
    fn advance(&mut self) -> bool {
        use crate::motion::{Motion, WINDOW};
        if self.step == 0 {
            let Some(&a) = self.activities.get(self.window) else { return false };
            self.motion = Some(Motion::new(a, &mut self.rng));
        }
        let Some(m) = self.motion.as_mut() else { return false };
        let g = m.sample(self.step);
        for (k, v) in g.iter().enumerate() {
            let c = self.calibration;
            let raw = crate::accel::from_g(v * c.gain[k] + c.offset[k]);
            self.sample[2 * k..2 * k + 2].copy_from_slice(&raw.to_le_bytes());
        }
        self.step += 1;
        if self.step == WINDOW {
            self.step = 0;
            self.window += 1;
        }
        true
    }

    fn read_register(&mut self, buf: &mut [u8]) {
        use crate::accel::{reg, WHO_AM_I_VALUE, ZYXDA};
        let r = self.register & !reg::AUTO_INCREMENT;
        match r {
            reg::WHO_AM_I => buf.fill(WHO_AM_I_VALUE),
            reg::STATUS_REG => {
                let ready = self.enabled && self.advance();
                buf.fill(if ready { ZYXDA } else { 0 });
            }
            r if (reg::OUT_X_L..reg::OUT_X_L + 6).contains(&r) => {
                let auto = self.register & reg::AUTO_INCREMENT != 0;
                for (k, b) in buf.iter_mut().enumerate() {
                    let i = usize::from(r - reg::OUT_X_L) + if auto { k } else { 0 };
                    *b = self.sample.get(i).copied().unwrap_or(0);
                }
            }
            _ => buf.fill(0),
        }
    }
}

impl ErrorType for SimulatedAccelerometer<'_> {
    type Error = SimBusError;
}

impl I2c for SimulatedAccelerometer<'_> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        use crate::accel::{reg, ADDRESS};
        register_transfers(
            ADDRESS,
            address,
            operations,
            |sim: &mut Self, op| match op {
                Operation::Write(bytes) => {
                    if let Some(&r) = bytes.first() {
                        sim.register = r;
                    }
                    if let [reg::CTRL_REG1, value, ..] = **bytes {
                        sim.enabled = value & 0x07 != 0 && value >> 4 != 0;
                    }
                }
                Operation::Read(buf) => sim.read_register(buf),
            },
            self,
        )
    }
}
