//! What the device learnt, kept in flash as a model file: the fine-tuned head is written in
//! the core's version-2 model-file format (`neurite::model_file::save_typed`, the bytes the
//! host writes and reads for the same layer) into the A/B store, and read back with
//! `load_typed` (`ModelFileV2::parse` and `load_into`), which checks the file's architecture
//! against the head's type. Nothing is allocated: the file goes through one stack buffer.

use crate::budget::Head;
use crate::storage::{AbStore, Record, StoreError};
use embedded_storage::nor_flash::NorFlash;
use neurite::model_file::{load_typed, save_typed, Task};

/// Bytes of the head's model file: the 56-byte header, the `dense` record (27 bytes), 650
/// parameters and the CRC.
pub const HEAD_FILE_LEN: usize = 56 + 27 + 4 * 650 + 4;

/// Why saving or loading failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedError<E> {
    /// The store (flash) failed.
    Store(StoreError<E>),
    /// The stored bytes are not a model file of the head's architecture.
    Model(neurite::Error),
}

/// The head as model-file bytes into `out` (64 features in: the frozen layers' outputs, not
/// standardised; 10 class scores out); returns the length ([`HEAD_FILE_LEN`]).
pub fn head_file(head: &Head, out: &mut [u8; HEAD_FILE_LEN]) -> Result<usize, neurite::Error> {
    save_typed(head, Task::Classification, out)
}

/// Saves `head` as a model file, the newest record of `store`.
pub fn save_head<F: NorFlash>(
    store: &mut AbStore<F>,
    head: &Head,
) -> Result<Record, SavedError<F::Error>> {
    let mut file = [0u8; HEAD_FILE_LEN];
    let n = head_file(head, &mut file).map_err(SavedError::Model)?;
    store.save(&file[..n]).map_err(SavedError::Store)
}

/// The head in the newest record of `store` (`None`: nothing saved yet), checked: the CRCs
/// of the record and of the file, and the file's architecture against [`Head`].
pub fn load_head<F: NorFlash>(
    store: &mut AbStore<F>,
) -> Result<Option<(Head, Record)>, SavedError<F::Error>> {
    let mut file = [0u8; HEAD_FILE_LEN];
    let Some(rec) = store.load(&mut file).map_err(SavedError::Store)? else {
        return Ok(None);
    };
    let head = load_typed::<Head>(&file[..rec.len]).map_err(SavedError::Model)?;
    Ok(Some((head, rec)))
}
