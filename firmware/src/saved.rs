//! What the device learnt, kept in flash as a model file: the fine-tuned head and its
//! optimiser's state (momentum buffer, step count, hyper-parameters) in the core's model-file
//! format, version 3 (`neurite::model_file::save_typed_with_optimizer`; the head's part is
//! the bytes the host writes and reads for the same layer), in the A/B store; read back with
//! `load_typed_with_optimizer`, which checks the file's architecture against the head's type
//! and the optimiser's against [`HeadOptimizer`]. After a reboot, fine-tuning resumes where
//! it stopped, bit for bit. Nothing is allocated: the file goes through one stack buffer.

use crate::budget::{Head, HeadOptimizer};
use crate::ondevice::HEAD_SGD;
use crate::sim::SECTOR;
use crate::storage::{AbStore, Record, StoreError};
use embedded_storage::nor_flash::NorFlash;
use neurite::model_file::{load_typed_with_optimizer, save_typed_with_optimizer, Task};

/// Bytes of the saved file: the 56-byte header, the `dense` record (27 bytes), 650
/// parameters; the optimiser section (8 bytes, the `sgd` record with its 5 hyper-parameters,
/// 89 bytes, the 650 values of the momentum buffer); the CRC.
pub const HEAD_FILE_LEN: usize = 56 + 27 + 4 * 650 + 8 + 89 + 4 * 650 + 4;
/// Bytes of one slot of the A/B store that keeps the file: the file and the store's 16-byte
/// record header, rounded up to whole 1-KiB sectors (6).
pub const SLOT_BYTES: u32 = (HEAD_FILE_LEN + 16).div_ceil(SECTOR) as u32 * SECTOR as u32;
/// Bytes of flash the store takes: two slots.
pub const FLASH_BYTES: usize = 2 * SLOT_BYTES as usize;

/// Why saving or loading failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedError<E> {
    /// The store (flash) failed.
    Store(StoreError<E>),
    /// The stored bytes are not a model file of the head's architecture and optimiser.
    Model(neurite::Error),
}

/// What a boot finds in flash.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    /// The fine-tuned head.
    pub head: Head,
    /// Its optimiser, as it was after the last step before the save.
    pub optimizer: HeadOptimizer,
    /// Where it was.
    pub record: Record,
}

/// The head and its optimiser as model-file bytes into `out` (64 features in: the frozen
/// layers' outputs, not standardised; 10 class scores out); returns the length
/// ([`HEAD_FILE_LEN`]).
pub fn head_file(
    head: &Head,
    optimizer: &HeadOptimizer,
    out: &mut [u8; HEAD_FILE_LEN],
) -> Result<usize, neurite::Error> {
    save_typed_with_optimizer(head, optimizer, Task::Classification, out)
}

/// Saves `head` and its optimiser as a model file, the newest record of `store`.
pub fn save_head<F: NorFlash>(
    store: &mut AbStore<F>,
    head: &Head,
    optimizer: &HeadOptimizer,
) -> Result<Record, SavedError<F::Error>> {
    let mut file = [0u8; HEAD_FILE_LEN];
    let n = head_file(head, optimizer, &mut file).map_err(SavedError::Model)?;
    store.save(&file[..n]).map_err(SavedError::Store)
}

/// The head and optimiser in the newest record of `store` (`None`: nothing saved yet),
/// checked: the CRCs of the record and of the file, the file's architecture against
/// [`Head`], its optimiser against [`HeadOptimizer`] and [`HEAD_SGD`]'s type.
pub fn load_head<F: NorFlash>(
    store: &mut AbStore<F>,
) -> Result<Option<Saved>, SavedError<F::Error>> {
    let mut file = [0u8; HEAD_FILE_LEN];
    let Some(record) = store.load(&mut file).map_err(SavedError::Store)? else {
        return Ok(None);
    };
    let mut optimizer = HeadOptimizer::new(HEAD_SGD).map_err(SavedError::Model)?;
    let head = load_typed_with_optimizer::<Head, _>(&file[..record.len], &mut optimizer)
        .map_err(SavedError::Model)?;
    Ok(Some(Saved { head, optimizer, record }))
}
