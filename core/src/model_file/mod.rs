//! The versioned binary model file: read in place from flash or memory, without allocation
//! (the firmware's on-target tests parse the host's file in flash:
//! `firmware/tests/on_target.rs`).
//!
//! Version 2 ([`v2`]) holds any layer family (named options per layer, buffers, nesting,
//! column names); version 1, below, holds dense/activation chains and still loads.
//!
//! Layout (all little-endian), format version 1:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `NRTM` |
//! | 4 | 2 | format version (1) |
//! | 6 | 1 | task: 0 classification, 1 regression |
//! | 7 | 1 | reserved (0) |
//! | 8 | 4 | layer count `L` |
//! | 12 | 4 | input width `F` |
//! | 16 | 4 | standardisation count `S` (0 or `F`) |
//! | 20 | 4 | parameter count `P` |
//! | 24 | 4 | target mean (regression; 0 otherwise) |
//! | 28 | 4 | target standard deviation (regression; 1 otherwise) |
//! | 32 | 16 `L` | layer records: kind `u8`, sub `u8`, reserved `u16`, `n: u32`, `a: f32`, `b: f32` |
//! | | 4 `S` | feature means, then 4 `S` feature standard deviations |
//! | | 4 `P` | parameters, tensor by tensor in layer order (dense: weight rows, then bias) |
//! | end - 4 | 4 | CRC-32 (IEEE) of every byte before it |
//!
//! Layer kinds: 1 dense (`n` outputs), 2 activation (`sub` its code, `a`, `b` its options),
//! 3 PReLU (`n` slopes), 4 softmax, 5 log-softmax.
//!
//! [`ModelFile::parse`] checks everything (magic, version, length, checksum, layer records,
//! widths, parameter count, finite values) before any value is used, and returns a typed
//! [`Error`] otherwise.

mod typed;
pub mod v2;

pub use typed::{
    load_typed, load_typed_with_optimizer, save_typed, save_typed_with_optimizer, write_typed,
    write_typed_with_optimizer,
};

use crate::activation::ActivationKind;
use crate::error::Error;
use crate::layer::{Infer, LayerDesc};

/// The magic bytes.
pub const MAGIC: [u8; 4] = *b"NRTM";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Header bytes.
pub const HEADER_LEN: usize = 32;
/// Bytes per layer record.
pub const LAYER_RECORD_LEN: usize = 16;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (IEEE 802.3, as zlib and PNG) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Task {
    /// Class scores (argmax is the class).
    Classification,
    /// Values, de-standardised with the target statistics.
    Regression,
}

/// Bytes of a model file with `layers` layers, `stats` standardised features and `params`
/// parameters.
pub const fn encoded_len(layers: usize, stats: usize, params: usize) -> usize {
    HEADER_LEN + LAYER_RECORD_LEN * layers + 8 * stats + 4 * params + 4
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_bits(u32_at(b, at))
}

/// The record of a layer; `None` for a layer version 1 cannot hold ([`LayerDesc::Other`]).
fn encode_layer(d: &LayerDesc) -> Option<(u8, u8, u32, f32, f32)> {
    Some(match *d {
        LayerDesc::Dense { outputs, .. } => (1, 0, outputs as u32, 0.0, 0.0),
        LayerDesc::Activation { kind, .. } => {
            let (code, a, b) = kind.encode();
            (2, code, 0, a, b)
        }
        LayerDesc::Prelu { slopes, .. } => (3, 0, slopes as u32, 0.0, 0.0),
        LayerDesc::Softmax { .. } => (4, 0, 0, 0.0, 0.0),
        LayerDesc::LogSoftmax { .. } => (5, 0, 0, 0.0, 0.0),
        LayerDesc::Other { .. } => return None,
    })
}

fn decode_layer(rec: &[u8], width: usize) -> Option<LayerDesc> {
    let (kind, sub, n) = (rec[0], rec[1], u32_at(rec, 4) as usize);
    let (a, b) = (f32_at(rec, 8), f32_at(rec, 12));
    if !a.is_finite() || !b.is_finite() {
        return None;
    }
    Some(match kind {
        1 if n > 0 => LayerDesc::Dense { inputs: width, outputs: n },
        2 => LayerDesc::Activation { kind: ActivationKind::decode(sub, a, b)?, width },
        3 if n == 1 || n == width => LayerDesc::Prelu { width, slopes: n },
        4 => LayerDesc::Softmax { width },
        5 => LayerDesc::LogSoftmax { width },
        _ => return None,
    })
}

/// A checked model file borrowed from its bytes (flash or RAM).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelFile<'a> {
    bytes: &'a [u8],
    layers: usize,
    inputs: usize,
    stats: usize,
    params: usize,
}

impl<'a> ModelFile<'a> {
    /// Checks `bytes` completely: magic, version, length, CRC, every layer record, that widths
    /// chain and the parameter count agrees, and that every value is finite.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.len() < 4 || bytes[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        if bytes.len() < HEADER_LEN + 4 {
            return Err(Error::Truncated { expected: HEADER_LEN + 4, found: bytes.len() });
        }
        let version = u16_at(bytes, 4);
        if version != VERSION {
            return Err(Error::UnsupportedVersion { found: version });
        }
        let layers = u32_at(bytes, 8) as usize;
        let inputs = u32_at(bytes, 12) as usize;
        let stats = u32_at(bytes, 16) as usize;
        let params = u32_at(bytes, 20) as usize;
        // Guard the size arithmetic against absurd counts before multiplying.
        let limit = bytes.len();
        if layers > limit || stats > limit || params > limit {
            return Err(Error::Truncated { expected: usize::MAX, found: limit });
        }
        let expected = encoded_len(layers, stats, params);
        if bytes.len() != expected {
            return Err(Error::Truncated { expected, found: bytes.len() });
        }
        let body = &bytes[..expected - 4];
        if crc32(body) != u32_at(bytes, expected - 4) {
            return Err(Error::ChecksumMismatch);
        }
        if bytes[6] > 1 || (stats != 0 && stats != inputs) || inputs == 0 || layers == 0 {
            return Err(Error::MalformedLayer { layer: 0 });
        }
        let file = Self { bytes, layers, inputs, stats, params };
        let mut width = inputs;
        let mut count = 0;
        for i in 0..layers {
            let d = file.layer(i, width).ok_or(Error::MalformedLayer { layer: i })?;
            width = d.outputs();
            count += d.params();
        }
        if count != params {
            return Err(Error::MalformedLayer { layer: layers - 1 });
        }
        let values_at = HEADER_LEN + LAYER_RECORD_LEN * layers;
        for (index, v) in body[values_at..].chunks_exact(4).enumerate() {
            if !f32::from_le_bytes([v[0], v[1], v[2], v[3]]).is_finite() {
                return Err(Error::NonFinite { index });
            }
        }
        Ok(file)
    }

    fn layer(&self, i: usize, width: usize) -> Option<LayerDesc> {
        let at = HEADER_LEN + LAYER_RECORD_LEN * i;
        decode_layer(self.bytes.get(at..at + LAYER_RECORD_LEN)?, width)
    }

    /// The task.
    pub fn task(&self) -> Task {
        if self.bytes[6] == 1 {
            Task::Regression
        } else {
            Task::Classification
        }
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of layers.
    pub fn layer_count(&self) -> usize {
        self.layers
    }

    /// Number of parameters.
    pub fn param_count(&self) -> usize {
        self.params
    }

    /// The layers, first to last.
    pub fn layers(&self) -> impl Iterator<Item = LayerDesc> + '_ {
        let mut width = self.inputs;
        (0..self.layers).filter_map(move |i| {
            let d = self.layer(i, width)?;
            width = d.outputs();
            Some(d)
        })
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers().last().map_or(0, |d| d.outputs())
    }

    fn f32s(&self, from: usize, count: usize) -> impl Iterator<Item = f32> + '_ {
        self.bytes[from..from + 4 * count]
            .chunks_exact(4)
            .map(|v| f32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// Feature means and standard deviations (empty if the model was trained on raw
    /// features): `(means, stds)`.
    pub fn standardisation(
        &self,
    ) -> (impl Iterator<Item = f32> + '_, impl Iterator<Item = f32> + '_) {
        let at = HEADER_LEN + LAYER_RECORD_LEN * self.layers;
        (self.f32s(at, self.stats), self.f32s(at + 4 * self.stats, self.stats))
    }

    /// `(mean, std)` of the regression target (0 and 1 for classification).
    pub fn target_scale(&self) -> (f32, f32) {
        (f32_at(self.bytes, 24), f32_at(self.bytes, 28))
    }

    /// The parameters in tensor order.
    pub fn params(&self) -> impl Iterator<Item = f32> + '_ {
        let at = HEADER_LEN + LAYER_RECORD_LEN * self.layers + 8 * self.stats;
        self.f32s(at, self.params)
    }

    /// Loads the parameters into a const-generic model after checking that its
    /// architecture is the file's, layer by layer.
    pub fn load_into<L: Infer + Params>(&self, model: &mut L) -> Result<(), Error> {
        let mut mismatch = None;
        let mut layers = self.layers();
        let mut i = 0;
        model.describe(&mut |d| {
            if mismatch.is_none() && layers.next() != Some(d) {
                mismatch = Some(i);
            }
            i += 1;
        });
        if mismatch.is_none() && (i != self.layers || self.inputs != L::Input::LEN) {
            mismatch = Some(i.min(self.layers));
        }
        if let Some(layer) = mismatch {
            return Err(Error::ArchitectureMismatch { layer });
        }
        fill_params(model, self.params());
        Ok(())
    }
}

/// Writes `values` into `model`'s tensors in order (a checked file holds exactly as many).
pub(crate) fn fill_params<L: Params>(model: &mut L, mut values: impl Iterator<Item = f32>) {
    for t in 0..L::TENSORS {
        for v in model.tensor_mut(t) {
            *v = values.next().unwrap_or(0.0);
        }
    }
}

use crate::params::{Params, Vector};

/// What a model file records besides the layers and parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Header<'a> {
    /// The task.
    pub task: Task,
    /// Input width.
    pub inputs: usize,
    /// Feature means (empty, or one per input).
    pub means: &'a [f32],
    /// Feature standard deviations (as many as `means`).
    pub stds: &'a [f32],
    /// Regression target mean (0 for classification).
    pub target_mean: f32,
    /// Regression target standard deviation (1 for classification).
    pub target_std: f32,
}

/// Writes a model file into `out` (exactly [`encoded_len`] bytes) from its header, layer
/// descriptions and parameters; returns the length written. Checks the same invariants as
/// [`ModelFile::parse`], so what is written always parses: a layer version 1 cannot hold
/// ([`LayerDesc::Other`]: convolutions, pooling, normalisation, ...) is
/// `Err(MalformedLayer { layer })` before anything is written (use the version-2 format).
pub fn write<'p>(
    out: &mut [u8],
    header: &Header<'_>,
    layers: &[LayerDesc],
    params: impl IntoIterator<Item = &'p [f32]>,
) -> Result<usize, Error> {
    let stats = header.means.len();
    if header.stds.len() != stats || (stats != 0 && stats != header.inputs) {
        return Err(Error::LengthMismatch { expected: header.inputs, found: header.stds.len() });
    }
    let mut width = header.inputs;
    let mut count = 0;
    for (i, d) in layers.iter().enumerate() {
        if d.inputs() != width || encode_layer(d).is_none() {
            return Err(Error::MalformedLayer { layer: i });
        }
        width = d.outputs();
        count += d.params();
    }
    let len = encoded_len(layers.len(), stats, count);
    if out.len() != len {
        return Err(Error::LengthMismatch { expected: len, found: out.len() });
    }
    out[..4].copy_from_slice(&MAGIC);
    out[4..6].copy_from_slice(&VERSION.to_le_bytes());
    out[6] = match header.task {
        Task::Classification => 0,
        Task::Regression => 1,
    };
    out[7] = 0;
    let words = [layers.len() as u32, header.inputs as u32, stats as u32, count as u32];
    for (k, w) in words.iter().enumerate() {
        out[8 + 4 * k..12 + 4 * k].copy_from_slice(&w.to_le_bytes());
    }
    out[24..28].copy_from_slice(&header.target_mean.to_le_bytes());
    out[28..32].copy_from_slice(&header.target_std.to_le_bytes());
    let mut at = HEADER_LEN;
    for d in layers {
        // Every layer was checked to have a record above.
        let (kind, sub, n, a, b) = encode_layer(d).unwrap_or((0, 0, 0, 0.0, 0.0));
        out[at] = kind;
        out[at + 1] = sub;
        out[at + 2..at + 4].copy_from_slice(&[0, 0]);
        out[at + 4..at + 8].copy_from_slice(&n.to_le_bytes());
        out[at + 8..at + 12].copy_from_slice(&a.to_le_bytes());
        out[at + 12..at + 16].copy_from_slice(&b.to_le_bytes());
        at += LAYER_RECORD_LEN;
    }
    let mut written = 0;
    let mut put = |v: f32| {
        if at + 4 > len - 4 {
            return Err(Error::LengthMismatch { expected: count, found: count + 1 });
        }
        if !v.is_finite() {
            return Err(Error::NonFinite { index: written });
        }
        out[at..at + 4].copy_from_slice(&v.to_le_bytes());
        at += 4;
        written += 1;
        Ok(())
    };
    for &v in header.means.iter().chain(header.stds) {
        put(v)?;
    }
    for tensor in params {
        for &v in tensor {
            put(v)?;
        }
    }
    if written != 2 * stats + count {
        return Err(Error::LengthMismatch { expected: count, found: written - 2 * stats });
    }
    let crc = crc32(&out[..len - 4]);
    out[len - 4..].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Dense, Layer, Relu};

    type M = crate::Seq![Dense<2, 3>, Relu<3>, Dense<3, 1>];

    fn sample() -> ([u8; encoded_len(3, 2, 13)], M) {
        let mut m = M::DEFAULT;
        for (i, t) in (0..M::TENSORS).enumerate() {
            for (j, v) in m.tensor_mut(t).iter_mut().enumerate() {
                *v = (i * 10 + j) as f32 * 0.5 - 3.0;
            }
        }
        let mut descs = [LayerDesc::Softmax { width: 0 }; 3];
        let mut n = 0;
        m.describe(&mut |d| {
            descs[n] = d;
            n += 1;
        });
        let header = Header {
            task: Task::Regression,
            inputs: 2,
            means: &[1.0, 2.0],
            stds: &[3.0, 4.0],
            target_mean: 150.0,
            target_std: 75.0,
        };
        let mut buf = [0u8; encoded_len(3, 2, 13)];
        let tensors: [&[f32]; 4] = [m.tensor(0), m.tensor(1), m.tensor(2), m.tensor(3)];
        assert_eq!(write(&mut buf, &header, &descs, tensors), Ok(buf.len()));
        (buf, m)
    }

    #[test]
    fn round_trip_and_crc_vector() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let (buf, m) = sample();
        let f = ModelFile::parse(&buf).unwrap();
        assert_eq!(
            (f.task(), f.inputs(), f.outputs(), f.param_count()),
            (Task::Regression, 2, 1, 13)
        );
        assert_eq!(f.target_scale(), (150.0, 75.0));
        let mut back = M::DEFAULT;
        f.load_into(&mut back).unwrap();
        assert_eq!(back, m);
        let mut other = <crate::Seq![Dense<2, 3>, crate::layer::Tanh<3>, Dense<3, 1>]>::DEFAULT;
        assert_eq!(f.load_into(&mut other), Err(Error::ArchitectureMismatch { layer: 1 }));
    }

    #[test]
    fn every_corruption_is_a_typed_error() {
        let (buf, _) = sample();
        assert!(matches!(ModelFile::parse(&buf[..buf.len() - 1]), Err(Error::Truncated { .. })));
        let mut bad = buf;
        bad[0] = b'X';
        assert_eq!(ModelFile::parse(&bad), Err(Error::BadMagic));
        let mut bad = buf;
        bad[4] = 2;
        assert_eq!(ModelFile::parse(&bad), Err(Error::UnsupportedVersion { found: 2 }));
        // flipping any single byte after the version is detected
        for i in 6..buf.len() {
            let mut bad = buf;
            bad[i] ^= 0x10;
            assert!(ModelFile::parse(&bad).is_err(), "byte {i}");
        }
        // every truncation is detected
        for n in 0..buf.len() {
            assert!(ModelFile::parse(&buf[..n]).is_err(), "length {n}");
        }
    }

    #[test]
    fn version_1_cannot_hold_other_layers() {
        use crate::layer::{Conv2d, Flatten, MaxPool2d};
        type Cnn = crate::Seq![
            Conv2d<1, 4, 4, 2, 4, 4, 3, 3, 1, 1>,
            MaxPool2d<2, 4, 4, 2, 2, 2>,
            Flatten<2, 2, 2, 8>,
            Dense<8, 1>,
        ];
        let m = Cnn::DEFAULT;
        let mut descs = [LayerDesc::Softmax { width: 0 }; 4];
        let mut n = 0;
        m.describe(&mut |d| {
            descs[n] = d;
            n += 1;
        });
        assert_eq!(n, 4);
        assert_eq!(
            descs[0],
            LayerDesc::Other { name: "conv2d", inputs: 16, outputs: 32, params: 20 }
        );
        assert_eq!((descs[1].inputs(), descs[1].outputs(), descs[1].params()), (32, 8, 0));
        assert_eq!(descs[3], LayerDesc::Dense { inputs: 8, outputs: 1 });
        let header = Header {
            task: Task::Regression,
            inputs: 16,
            means: &[],
            stds: &[],
            target_mean: 0.0,
            target_std: 1.0,
        };
        let mut buf = [7u8; encoded_len(4, 0, 29)];
        let tensors: [&[f32]; 4] = [m.tensor(0), m.tensor(1), m.tensor(2), m.tensor(3)];
        assert_eq!(
            write(&mut buf, &header, &descs, tensors),
            Err(Error::MalformedLayer { layer: 0 })
        );
        assert!(buf.iter().all(|&b| b == 7), "nothing written");
        // A model file's layers never match a model with such layers.
        let (file, _) = sample();
        let f = ModelFile::parse(&file).unwrap();
        let mut cnn = Cnn::DEFAULT;
        assert_eq!(f.load_into(&mut cnn), Err(Error::ArchitectureMismatch { layer: 0 }));
    }
}
