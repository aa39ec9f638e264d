//! Errors exist only at the edges: loading values, checking a sample or a target.
//! Forward, backward and optimiser steps cannot fail.

use core::fmt;

/// What went wrong at one of the core's edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A slice had the wrong number of values (weights, a sample, a target row).
    LengthMismatch {
        /// Values the receiver needs.
        expected: usize,
        /// Values it was given.
        found: usize,
    },
    /// A NaN or infinite value at this index of an input, target or weight slice.
    NonFinite {
        /// Index of the first offending value.
        index: usize,
    },
    /// A class index is not below the number of classes.
    ClassOutOfRange {
        /// The class index given.
        class: usize,
        /// The number of classes (outputs).
        classes: usize,
    },
    /// The loss needs a class index and got a row of values, or the reverse.
    TargetKind,
    /// A probability target or input outside `[0, 1]`.
    NotAProbability {
        /// Index of the first offending value.
        index: usize,
    },
    /// A hyper-parameter is out of its domain (a negative learning rate, beta outside [0, 1)).
    InvalidHyperParameter,
    /// An empty batch or dataset where at least one sample is needed.
    Empty,
    /// A model file does not start with the magic bytes `NRTM`.
    BadMagic,
    /// A model file of a format version this build does not read.
    UnsupportedVersion {
        /// The version the file declares.
        found: u16,
    },
    /// A model file is shorter (or longer) than its header declares.
    Truncated {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A model file's CRC-32 does not match its contents (corruption).
    ChecksumMismatch,
    /// A model file's layers are malformed (unknown kind, widths that do not chain, counts
    /// that disagree), at this 0-based layer record.
    MalformedLayer {
        /// Layer record index.
        layer: usize,
    },
    /// The architecture in a model file is not the model type's, at this 0-based layer.
    ArchitectureMismatch {
        /// First differing layer.
        layer: usize,
    },
    /// A model output is NaN or infinite at this index ([`crate::layer::Infer::forward_checked`]).
    NonFiniteOutput {
        /// Index of the first offending value.
        index: usize,
    },
    /// A batch's loss is NaN or infinite: training diverged (lower the learning rate), or a
    /// weighted mean had nothing to divide by (every sample of the batch in a class of
    /// weight 0).
    NonFiniteLoss,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::LengthMismatch { expected, found } => {
                write!(f, "expected {expected} values, found {found}")
            }
            Self::NonFinite { index } => write!(f, "value at index {index} is NaN or infinite"),
            Self::ClassOutOfRange { class, classes } => {
                write!(f, "class {class} is out of range for {classes} classes")
            }
            Self::TargetKind => f.write_str("target kind does not match the loss"),
            Self::NotAProbability { index } => {
                write!(f, "value at index {index} is not a probability in [0, 1]")
            }
            Self::InvalidHyperParameter => f.write_str("hyper-parameter out of its domain"),
            Self::Empty => f.write_str("no samples"),
            Self::BadMagic => f.write_str("not a neurite model file (bad magic)"),
            Self::UnsupportedVersion { found } => {
                write!(
                    f,
                    "model file format version {found} is not supported (this build reads {} to {})",
                    crate::model_file::VERSION,
                    crate::model_file::v2::VERSION_INT8
                )
            }
            Self::Truncated { expected, found } => {
                write!(f, "model file is {found} bytes, its header implies {expected} (truncated or padded)")
            }
            Self::ChecksumMismatch => f.write_str("model file checksum mismatch (corrupted)"),
            Self::MalformedLayer { layer } => write!(f, "model file layer {layer} is malformed"),
            Self::ArchitectureMismatch { layer } => {
                write!(f, "model file architecture differs from the model at layer {layer}")
            }
            Self::NonFiniteOutput { index } => {
                write!(f, "model output at index {index} is NaN or infinite")
            }
            Self::NonFiniteLoss => f.write_str(
                "the loss is NaN or infinite: training diverged (lower the learning rate), or \
                 a weighted mean had zero total weight",
            ),
        }
    }
}

impl core::error::Error for Error {}

/// `Err(NonFinite)` naming the first NaN or infinity in `values`.
pub fn check_finite(values: &[f32]) -> Result<(), Error> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { index }),
        None => Ok(()),
    }
}

/// `Err(LengthMismatch)` unless `values.len() == expected`.
pub fn check_len(values: &[f32], expected: usize) -> Result<(), Error> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch { expected, found: values.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error reads as a sentence naming what went wrong and where.
    #[test]
    fn messages_name_the_problem() {
        let cases: [(Error, &str); 8] = [
            (Error::LengthMismatch { expected: 4, found: 3 }, "expected 4 values, found 3"),
            (Error::NonFinite { index: 2 }, "index 2 is NaN or infinite"),
            (Error::ClassOutOfRange { class: 7, classes: 3 }, "class 7 is out of range for 3"),
            (Error::NotAProbability { index: 1 }, "index 1 is not a probability"),
            (Error::ArchitectureMismatch { layer: 5 }, "at layer 5"),
            (Error::NonFiniteOutput { index: 3 }, "model output at index 3 is NaN or infinite"),
            (Error::NonFiniteLoss, "training diverged (lower the learning rate)"),
            (Error::MalformedLayer { layer: 2 }, "layer 2 is malformed"),
        ];
        for (e, want) in cases {
            let text = format!("{e}");
            assert!(text.contains(want), "{e:?}: '{text}' does not say '{want}'");
        }
    }
}
