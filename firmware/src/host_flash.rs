//! NOR flash kept in a file on the machine that runs QEMU (through semihosting), so that it
//! outlives the QEMU process: a second run of the firmware is a reboot that finds what the
//! first one saved. It behaves as NOR flash (erase sets a sector to `0xFF`, a write can only
//! clear bits), and every erase and write reaches the file before it returns.
//!
//! The file is named by the semihosting command line (`qemu-run.sh` passes `$NEURITE_FLASH`,
//! by default a file next to the ELF); it is created erased when absent. On a real board
//! use the chip's flash driver (any `embedded-storage` `NorFlash`) instead.

use cortex_m_semihosting::{nr, syscall};
use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Erase sector of the file-backed flash (as the simulated flash's).
pub const SECTOR: usize = crate::sim::SECTOR;

/// Errors of the file-backed flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFlashError {
    /// The command line names no file, or the name is too long.
    NoFile,
    /// The host could not open, read, seek or write the file.
    Io,
    /// The file exists with another size than the flash.
    WrongSize,
    /// Out of bounds or misaligned.
    Bounds,
}

impl NorFlashError for HostFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Bounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

/// `SIZE` bytes of NOR flash in a host file.
pub struct HostFlash<const SIZE: usize> {
    handle: usize,
}

/// The semihosting command line's words after the first (QEMU: the `arg=` options), as
/// bytes into `buf`; returns the length.
fn command_line(buf: &mut [u8]) -> Result<usize, HostFlashError> {
    let block = core::cell::Cell::new([buf.as_mut_ptr() as usize, buf.len()]);
    // SAFETY: GET_CMDLINE writes at most `buf.len()` bytes into `buf` and the length into
    // the block, which lives (in a Cell) across the call.
    let r = unsafe { cortex_m_semihosting::syscall(nr::GET_CMDLINE, &block) };
    if r != 0 {
        return Err(HostFlashError::NoFile);
    }
    Ok(block.get()[1].min(buf.len()))
}

impl<const SIZE: usize> HostFlash<SIZE> {
    /// Opens the file named by the second word of the semihosting command line (the first
    /// is the program's name), creating it erased when absent.
    pub fn from_command_line() -> Result<Self, HostFlashError> {
        let mut line = [0u8; 256];
        let n = command_line(&mut line)?;
        let mut words = line[..n].split(|&b| b == b' ').filter(|w| !w.is_empty());
        let path = words.nth(1).ok_or(HostFlashError::NoFile)?;
        Self::open(path)
    }

    /// Opens (or creates, erased) the flash file `path` (relative to QEMU's directory).
    pub fn open(path: &[u8]) -> Result<Self, HostFlashError> {
        let mut name = [0u8; 257];
        if path.is_empty() || path.len() >= name.len() {
            return Err(HostFlashError::NoFile);
        }
        name[..path.len()].copy_from_slice(path);
        let open = |mode: usize| {
            // SAFETY: `name` is NUL-terminated and outlives the call.
            let h = unsafe { syscall!(OPEN, name.as_ptr(), mode, path.len()) } as isize;
            (h >= 0).then_some(h as usize)
        };
        if let Some(handle) = open(nr::open::RW_BINARY) {
            let flash = Self { handle };
            // SAFETY: FLEN on an open handle.
            let len = unsafe { syscall!(FLEN, handle) } as isize;
            if len != SIZE as isize {
                // SAFETY: CLOSE on the handle opened above, not used afterwards.
                unsafe { syscall!(CLOSE, handle) };
                return Err(HostFlashError::WrongSize);
            }
            return Ok(flash);
        }
        let handle = open(nr::open::RW_TRUNC_BINARY).ok_or(HostFlashError::Io)?;
        let mut flash = Self { handle };
        let erased = [0xFFu8; 256];
        let mut at = 0;
        while at < SIZE {
            let n = erased.len().min(SIZE - at);
            flash.put(at, &erased[..n])?;
            at += n;
        }
        Ok(flash)
    }

    fn seek(&mut self, at: usize) -> Result<(), HostFlashError> {
        // SAFETY: SEEK on an open handle.
        let r = unsafe { syscall!(SEEK, self.handle, at) };
        if r == 0 {
            Ok(())
        } else {
            Err(HostFlashError::Io)
        }
    }

    fn get(&mut self, at: usize, out: &mut [u8]) -> Result<(), HostFlashError> {
        self.seek(at)?;
        // SAFETY: READ fills at most `out.len()` bytes of `out`; returns the bytes not read.
        let left = unsafe { syscall!(READ, self.handle, out.as_mut_ptr(), out.len()) };
        if left == 0 {
            Ok(())
        } else {
            Err(HostFlashError::Io)
        }
    }

    fn put(&mut self, at: usize, bytes: &[u8]) -> Result<(), HostFlashError> {
        self.seek(at)?;
        // SAFETY: WRITE reads `bytes.len()` bytes of `bytes`; returns the bytes not written.
        let left = unsafe { syscall!(WRITE, self.handle, bytes.as_ptr(), bytes.len()) };
        if left == 0 {
            Ok(())
        } else {
            Err(HostFlashError::Io)
        }
    }

    fn check(&self, at: usize, len: usize, align: usize) -> Result<(), HostFlashError> {
        if !at.is_multiple_of(align)
            || !len.is_multiple_of(align)
            || at.checked_add(len).is_none_or(|e| e > SIZE)
        {
            return Err(HostFlashError::Bounds);
        }
        Ok(())
    }
}

impl<const SIZE: usize> ErrorType for HostFlash<SIZE> {
    type Error = HostFlashError;
}

impl<const SIZE: usize> ReadNorFlash for HostFlash<SIZE> {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.check(offset as usize, bytes.len(), 1)?;
        self.get(offset as usize, bytes)
    }
    fn capacity(&self) -> usize {
        SIZE
    }
}

impl<const SIZE: usize> NorFlash for HostFlash<SIZE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (from as usize, to as usize);
        if from > to {
            return Err(HostFlashError::Bounds);
        }
        self.check(from, to - from, SECTOR)?;
        let erased = [0xFFu8; 256];
        let mut at = from;
        while at < to {
            let n = erased.len().min(to - at);
            self.put(at, &erased[..n])?;
            at += n;
        }
        Ok(())
    }
    /// NOR semantics: each byte becomes `old & new` (a write can only clear bits).
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.check(offset as usize, bytes.len(), Self::WRITE_SIZE)?;
        let mut cells = [0u8; 64];
        for (i, chunk) in bytes.chunks(cells.len()).enumerate() {
            let at = offset as usize + i * cells.len();
            let cells = &mut cells[..chunk.len()];
            self.get(at, cells)?;
            cells.iter_mut().zip(chunk).for_each(|(c, &b)| *c &= b);
            self.put(at, cells)?;
        }
        Ok(())
    }
}
