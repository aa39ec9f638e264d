//! Power-safe persistence of learnt weights in NOR flash (embedded-storage): two slots, A and
//! B, each a record `[header | payload]` with a sequence number and a CRC-32.
//!
//! Save: erase the slot that does not hold the newest valid record, write the payload, then
//! the header last; a record is valid only when its magic, length and CRC check out. Boot:
//! the valid record with the highest sequence number wins. A power cut at any point leaves
//! the old record intact or the new one complete, never a mix (tested by cutting power at
//! every byte the save touches).
//!
//! Header (16 bytes, little-endian): magic `NRTS`, sequence, payload length, CRC-32 of
//! sequence, length and payload.

use embedded_storage::nor_flash::NorFlash;

const MAGIC: [u8; 4] = *b"NRTS";
/// Header bytes.
pub const HEADER: usize = 16;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Errors of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError<E> {
    /// The flash failed (or power was cut).
    Flash(E),
    /// The payload does not fit a slot.
    TooLarge,
    /// The caller's buffer is smaller than the stored payload.
    BufferTooSmall,
}

/// A valid record: its sequence number and payload length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Sequence number (higher is newer).
    pub seq: u32,
    /// Payload bytes.
    pub len: usize,
    /// Slot index, 0 (A) or 1 (B).
    pub slot: usize,
}

/// Two slots of `slot_size` bytes from `base` in `flash`.
pub struct AbStore<F> {
    flash: F,
    base: u32,
    slot_size: u32,
}

impl<F: NorFlash> AbStore<F> {
    /// A store over two consecutive slots; `slot_size` must be a multiple of the erase size.
    pub fn new(flash: F, base: u32, slot_size: u32) -> Self {
        Self { flash, base, slot_size }
    }

    /// The flash back.
    pub fn release(self) -> F {
        self.flash
    }

    fn slot_base(&self, slot: usize) -> u32 {
        self.base + self.slot_size * slot as u32
    }

    /// Reads and checks the record in `slot`.
    fn check(&mut self, slot: usize) -> Result<Option<Record>, StoreError<F::Error>> {
        let at = self.slot_base(slot);
        let mut h = [0u8; HEADER];
        self.flash.read(at, &mut h).map_err(StoreError::Flash)?;
        if h[..4] != MAGIC {
            return Ok(None);
        }
        let seq = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        let crc = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
        if len as usize + HEADER > self.slot_size as usize {
            return Ok(None);
        }
        let mut digest = CRC.digest();
        digest.update(&h[4..12]);
        let mut chunk = [0u8; 64];
        let mut done = 0;
        while done < len as usize {
            let n = chunk.len().min(len as usize - done);
            self.flash
                .read(at + (HEADER + done) as u32, &mut chunk[..n])
                .map_err(StoreError::Flash)?;
            digest.update(&chunk[..n]);
            done += n;
        }
        Ok((digest.finalize() == crc).then_some(Record { seq, len: len as usize, slot }))
    }

    /// The newest valid record, if any.
    pub fn newest(&mut self) -> Result<Option<Record>, StoreError<F::Error>> {
        let a = self.check(0)?;
        let b = self.check(1)?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Some(if b.seq > a.seq { b } else { a }),
            (a, b) => a.or(b),
        })
    }

    /// Loads the newest valid payload into `out`; returns its record (`None`: nothing saved).
    pub fn load(&mut self, out: &mut [u8]) -> Result<Option<Record>, StoreError<F::Error>> {
        let Some(rec) = self.newest()? else { return Ok(None) };
        if out.len() < rec.len {
            return Err(StoreError::BufferTooSmall);
        }
        let at = self.slot_base(rec.slot) + HEADER as u32;
        self.flash.read(at, &mut out[..rec.len]).map_err(StoreError::Flash)?;
        Ok(Some(rec))
    }

    /// Saves `payload` as the newest record; returns it. On error (a power cut) the previous
    /// record is still the newest valid one.
    pub fn save(&mut self, payload: &[u8]) -> Result<Record, StoreError<F::Error>> {
        let w = F::WRITE_SIZE.max(1);
        let padded = payload.len().div_ceil(w) * w;
        if HEADER + padded > self.slot_size as usize {
            return Err(StoreError::TooLarge);
        }
        let newest = self.newest()?;
        let slot = match newest {
            Some(r) => 1 - r.slot,
            None => 0,
        };
        let seq = newest.map_or(1, |r| r.seq.wrapping_add(1));
        let base = self.slot_base(slot);
        self.flash.erase(base, base + self.slot_size).map_err(StoreError::Flash)?;
        // payload first, in write-size pieces (the last one padded with erased bytes)
        let mut chunk = [0xFFu8; 64];
        let step = (chunk.len() / w).max(1) * w;
        let mut done = 0;
        while done < payload.len() {
            let n = step.min(payload.len() - done);
            let padded_n = n.div_ceil(w) * w;
            chunk[..padded_n].fill(0xFF);
            chunk[..n].copy_from_slice(&payload[done..done + n]);
            self.flash
                .write(base + (HEADER + done) as u32, &chunk[..padded_n])
                .map_err(StoreError::Flash)?;
            done += n;
        }
        // header last: the commit
        let mut h = [0u8; HEADER];
        h[..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&seq.to_le_bytes());
        h[8..12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        let mut digest = CRC.digest();
        digest.update(&h[4..12]);
        digest.update(payload);
        h[12..16].copy_from_slice(&digest.finalize().to_le_bytes());
        self.flash.write(base, &h).map_err(StoreError::Flash)?;
        Ok(Record { seq, len: payload.len(), slot })
    }
}
