//! Model file format version 2: any layer family, read in place without allocation.
//!
//! Each layer is a record with its registry name and named options (channels, kernel,
//! stride, padding, dilation, groups, shapes...), so a new layer needs no new record type.
//! Composite layers (residual, concat) are followed by their body's records (pre-order).
//! The file also holds non-learnable buffers (batch norm's running statistics) and the
//! names of the training data's columns.
//!
//! Layout (all little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `NRTM` |
//! | 4 | 2 | format version (2) |
//! | 6 | 1 | task: 0 classification, 1 regression |
//! | 7 | 1 | input rank `R` (1 to 4) |
//! | 8 | 16 | input shape: 4 `u32`, zero beyond `R` |
//! | 24 | 4 | record count `N` (every layer, bodies included) |
//! | 28 | 4 | record bytes `RB` |
//! | 32 | 4 | column-name bytes `CB` |
//! | 36 | 4 | standardisation count `S` (0 or the input size) |
//! | 40 | 4 | parameter count `P` |
//! | 44 | 4 | buffer count `B` |
//! | 48 | 4 | target mean (regression; 0 otherwise) |
//! | 52 | 4 | target standard deviation (regression; 1 otherwise) |
//! | 56 | `RB` | records |
//! | | `CB` | column names, UTF-8, `\n`-separated: features in order, then the target |
//! | | 8 `S` | feature means, then standard deviations (`f32`) |
//! | | 4 `P` | parameters, layer by layer, tensor by tensor (PyTorch layouts) |
//! | | 4 `B` | buffers, layer by layer |
//! | | | version 3 only: the optimiser's state (below) |
//! | end - 4 | 4 | CRC-32 (IEEE) of every byte before it |
//!
//! A record: name length `u8` and the name (ASCII); body record count `u16`; the layer's
//! own parameter and buffer counts (`u32` each); option count `u8`, then per option: key
//! length `u8` and key, type `u8` (0 numbers, 1 word, 2 flag), count `u8`, and the value
//! (`count` `f32`s, `count` bytes of UTF-8, or the flag in `count`).
//!
//! Version 3 is version 2 with the optimiser's state after the buffers, so that training
//! resumes where it stopped ([`crate::optim::OptimizerState`]); a file without it is written
//! as version 2, byte for byte as before:
//!
//! | size | field |
//! |---|---|
//! | 4 | optimiser record bytes `OB` |
//! | 4 | optimiser steps taken (`u32`) |
//! | `OB` | the optimiser's record, encoded as a layer's: its name (`adam`), body 0, parameters 0, state scalars `O` as its buffer count, its hyper-parameters as one-number options |
//! | 4 `O` | the state: buffer by buffer (PyTorch's order: `exp_avg`, `exp_avg_sq`, ...), each in the parameters' order |
//!
//! Version 4 holds an int8 model: the header, column names and standardisation as above
//! (record, parameter and buffer counts zero), then the int8 graph as a TFLite FlatBuffer
//! (`schema.fbs`, identifier `TFL3`; tensors, quantisation, weights and ops), which the host
//! reads, runs with the core's int8 kernels ([`crate::kernel::int8`]) and exports as it is:
//!
//! | size | field |
//! |---|---|
//! | 4 | graph bytes `G` |
//! | `G` | the `.tflite` FlatBuffer |

use super::{crc32, f32_at, u16_at, u32_at, Task, MAGIC};
use crate::error::Error;
use crate::optim::state::{HyperParameters, MAX_HYPER_PARAMETERS};
#[cfg(doc)]
use crate::optim::OptimizerState;

/// This format's version number.
pub const VERSION: u16 = 2;
/// The version of a file that also holds the optimiser's state.
pub const VERSION_WITH_OPTIMIZER: u16 = 3;
/// The version of a file that holds an int8 model (a TFLite graph) instead of layers.
pub const VERSION_INT8: u16 = 4;
/// Header bytes.
pub const HEADER_LEN: usize = 56;

/// One option value read from a record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AttrValue<'a> {
    /// Numbers.
    Nums(F32s<'a>),
    /// A word.
    Word(&'a str),
    /// A flag.
    Flag(bool),
}

/// `f32` values stored in place (little-endian, unaligned).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F32s<'a>(&'a [u8]);

impl<'a> F32s<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// No values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Value `i`.
    pub fn get(&self, i: usize) -> Option<f32> {
        (i < self.len()).then(|| f32_at(self.0, 4 * i))
    }
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = f32> + 'a {
        self.0.chunks_exact(4).map(|v| f32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }
}

/// One option value to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AttrIn<'a> {
    /// Numbers (at most 255).
    Nums(&'a [f32]),
    /// A word (at most 255 bytes).
    Word(&'a str),
    /// A flag.
    Flag(bool),
}

/// One layer record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record<'a> {
    /// The registry name (`conv2d`).
    pub name: &'a str,
    /// How many records after this one form its body (direct children).
    pub body: usize,
    /// Learnable scalars of this layer itself.
    pub params: usize,
    /// Buffer scalars of this layer itself.
    pub buffers: usize,
    attrs: &'a [u8],
    attr_count: usize,
}

impl<'a> Record<'a> {
    /// The options, in order.
    pub fn attrs(&self) -> impl Iterator<Item = (&'a str, AttrValue<'a>)> + 'a {
        let mut at = 0;
        let bytes = self.attrs;
        (0..self.attr_count).map_while(move |_| {
            let (key, value, next) = read_attr(bytes, at)?;
            at = next;
            Some((key, value))
        })
    }

    /// The option named `key`.
    pub fn attr(&self, key: &str) -> Option<AttrValue<'a>> {
        self.attrs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

fn ascii(b: &[u8]) -> Option<&str> {
    core::str::from_utf8(b).ok()
}

/// Reads one option at `at`: `(key, value, next offset)`.
fn read_attr(b: &[u8], at: usize) -> Option<(&str, AttrValue<'_>, usize)> {
    let klen = *b.get(at)? as usize;
    let key = ascii(b.get(at + 1..at + 1 + klen)?)?;
    let mut p = at + 1 + klen;
    let (ty, n) = (*b.get(p)?, *b.get(p + 1)? as usize);
    p += 2;
    let value = match ty {
        0 => {
            let raw = b.get(p..p + 4 * n)?;
            p += 4 * n;
            let v = F32s(raw);
            if v.iter().any(|x| !x.is_finite()) {
                return None;
            }
            AttrValue::Nums(v)
        }
        1 => {
            let w = ascii(b.get(p..p + n)?)?;
            p += n;
            AttrValue::Word(w)
        }
        2 if n <= 1 => AttrValue::Flag(n == 1),
        _ => return None,
    };
    if key.is_empty() {
        return None;
    }
    Some((key, value, p))
}

/// Reads one record at `at`: `(record, next offset)`.
fn read_record(b: &[u8], at: usize) -> Option<(Record<'_>, usize)> {
    let nlen = *b.get(at)? as usize;
    let name = ascii(b.get(at + 1..at + 1 + nlen)?)?;
    if name.is_empty() {
        return None;
    }
    let p = at + 1 + nlen;
    let body = u16_at(b.get(p..p + 2)?, 0) as usize;
    let params = u32_at(b.get(p + 2..p + 6)?, 0) as usize;
    let buffers = u32_at(b.get(p + 6..p + 10)?, 0) as usize;
    let attr_count = *b.get(p + 10)? as usize;
    let start = p + 11;
    let mut q = start;
    for _ in 0..attr_count {
        q = read_attr(b, q)?.2;
    }
    let attrs = &b[start..q];
    Some((Record { name, body, params, buffers, attrs, attr_count }, q))
}

/// A checked version-2 model file borrowed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelFileV2<'a> {
    bytes: &'a [u8],
    records: usize,
    record_bytes: usize,
    column_bytes: usize,
    stats: usize,
    params: usize,
    buffers: usize,
    /// Version 3: where the optimiser section starts (its `OB` word), and its length.
    optimizer: Option<(usize, usize)>,
    /// Version 4: where the int8 graph's bytes start, and their length.
    int8: Option<(usize, usize)>,
}

/// The optimiser state a version-3 file holds ([`ModelFileV2::optimizer`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SavedOptimizer<'a> {
    /// The optimiser's record: its name, its state scalar count as `buffers`, its
    /// hyper-parameters as options.
    pub record: Record<'a>,
    /// Optimiser steps taken.
    pub steps: u32,
    /// The state scalars (`record.buffers` of them).
    pub state: F32s<'a>,
}

/// Reads the optimiser section at `at` of a version-3 file of `len` bytes: its record and
/// the section's length, or `None` if it does not fit or is not a plain record.
fn read_optimizer(bytes: &[u8], at: usize) -> Option<(Record<'_>, usize)> {
    let record_bytes = u32_at(bytes.get(at..at + 4)?, 0) as usize;
    let region = bytes.get(at + 8..(at + 8).checked_add(record_bytes)?)?;
    let (r, used) = read_record(region, 0)?;
    let plain = used == record_bytes && r.body == 0 && r.params == 0;
    let len = 8usize.checked_add(record_bytes)?.checked_add(r.buffers.checked_mul(4)?)?;
    plain.then_some((r, len))
}

impl<'a> ModelFileV2<'a> {
    /// Checks `bytes` completely: magic, version, length, CRC, every record and option,
    /// that bodies nest, that the parameter and buffer counts add up, UTF-8 column names,
    /// and finite values.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.len() < 4 || bytes[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        if bytes.len() < HEADER_LEN + 4 {
            return Err(Error::Truncated { expected: HEADER_LEN + 4, found: bytes.len() });
        }
        let version = u16_at(bytes, 4);
        if ![VERSION, VERSION_WITH_OPTIMIZER, VERSION_INT8].contains(&version) {
            return Err(Error::UnsupportedVersion { found: version });
        }
        let word = |at: usize| u32_at(bytes, at) as usize;
        let (records, record_bytes, column_bytes) = (word(24), word(28), word(32));
        let (stats, params, buffers) = (word(36), word(40), word(44));
        let limit = bytes.len();
        if [records, record_bytes, column_bytes, stats, params, buffers].iter().any(|&v| v > limit)
        {
            return Err(Error::Truncated { expected: usize::MAX, found: limit });
        }
        let values_end =
            HEADER_LEN + record_bytes + column_bytes + 8 * stats + 4 * (params + buffers);
        let optimizer = if version == VERSION_WITH_OPTIMIZER {
            let (_, len) = read_optimizer(bytes, values_end)
                .ok_or(Error::Truncated { expected: values_end + 12, found: limit })?;
            Some((values_end, len))
        } else {
            None
        };
        let int8 = if version == VERSION_INT8 {
            let len = bytes.get(values_end..values_end + 4).map(|w| u32_at(w, 0) as usize);
            let len = len.ok_or(Error::Truncated { expected: values_end + 8, found: limit })?;
            Some((values_end + 4, len))
        } else {
            None
        };
        let extra = optimizer.map_or(0, |(_, len)| len) + int8.map_or(0, |(_, len)| 4 + len);
        let expected = values_end.saturating_add(extra).saturating_add(4);
        if bytes.len() != expected {
            return Err(Error::Truncated { expected, found: bytes.len() });
        }
        if crc32(&bytes[..expected - 4]) != u32_at(bytes, expected - 4) {
            return Err(Error::ChecksumMismatch);
        }
        let file = Self {
            bytes,
            records,
            record_bytes,
            column_bytes,
            stats,
            params,
            buffers,
            optimizer,
            int8,
        };
        let rank = bytes[7] as usize;
        let shape = file.input_shape();
        // checked: four dimensions of up to 2^32 - 1 overflow a usize
        let inputs = shape[..rank.min(4)].iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let Some(inputs) = inputs else {
            return Err(Error::MalformedLayer { layer: 0 });
        };
        if bytes[6] > 1
            || !(1..=4).contains(&rank)
            || shape[..rank].contains(&0)
            || shape[rank..].iter().any(|&d| d != 0)
            || (stats != 0 && stats != inputs)
            || (records == 0) != int8.is_some()
        {
            return Err(Error::MalformedLayer { layer: 0 });
        }
        // Every record parses, exactly `records` of them fill `record_bytes`, bodies nest
        // (each composite's children fit in what follows), counts add up. The records are a
        // forest in pre-order, each giving its number of direct children: that holds exactly
        // when the count of children still owed, less one per record (a record with none owed
        // starts a new top-level layer) plus its own, ends at zero. One pass, no recursion,
        // whatever the nesting depth.
        let region = &bytes[HEADER_LEN..HEADER_LEN + record_bytes];
        let (mut at, mut p, mut b) = (0, 0usize, 0usize);
        // Records still owed to open bodies, innermost last (depth is bounded by the count).
        let mut open = 0usize;
        for i in 0..records {
            let (r, next) = read_record(region, at).ok_or(Error::MalformedLayer { layer: i })?;
            at = next;
            p = p.checked_add(r.params).ok_or(Error::MalformedLayer { layer: i })?;
            b = b.checked_add(r.buffers).ok_or(Error::MalformedLayer { layer: i })?;
            open = open.saturating_sub(1) + r.body;
        }
        if at != record_bytes || open != 0 || p != params || b != buffers {
            return Err(Error::MalformedLayer { layer: records.saturating_sub(1) });
        }
        if file.columns_raw().is_none() {
            return Err(Error::MalformedLayer { layer: 0 });
        }
        let values_at = HEADER_LEN + record_bytes + column_bytes;
        let state = file.optimizer().map_or(&[][..], |o| o.state.0);
        let values = bytes[values_at..values_end].chunks_exact(4).chain(state.chunks_exact(4));
        for (index, v) in values.enumerate() {
            if !f32::from_le_bytes([v[0], v[1], v[2], v[3]]).is_finite() {
                return Err(Error::NonFinite { index });
            }
        }
        Ok(file)
    }

    /// The task.
    pub fn task(&self) -> Task {
        if self.bytes[6] == 1 {
            Task::Regression
        } else {
            Task::Classification
        }
    }

    /// The input shape, padded with zeros to 4 axes; [`ModelFileV2::input_rank`] axes count.
    pub fn input_shape(&self) -> [usize; 4] {
        core::array::from_fn(|i| u32_at(self.bytes, 8 + 4 * i) as usize)
    }

    /// Number of input axes.
    pub fn input_rank(&self) -> usize {
        self.bytes[7] as usize
    }

    /// Every record in pre-order (a composite's body follows it).
    pub fn records(&self) -> Records<'a> {
        Records {
            bytes: &self.bytes[HEADER_LEN..HEADER_LEN + self.record_bytes],
            at: 0,
            left: self.records,
        }
    }

    /// Number of records.
    pub fn record_count(&self) -> usize {
        self.records
    }

    fn columns_raw(&self) -> Option<&'a str> {
        let at = HEADER_LEN + self.record_bytes;
        core::str::from_utf8(&self.bytes[at..at + self.column_bytes]).ok()
    }

    /// The training data's column names (features, then the target); empty if unrecorded.
    pub fn columns(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.columns_raw().unwrap_or("").split('\n').filter(|c| !c.is_empty())
    }

    fn f32s(&self, from: usize, count: usize) -> impl Iterator<Item = f32> + 'a {
        self.bytes[from..from + 4 * count]
            .chunks_exact(4)
            .map(|v| f32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }

    fn values_at(&self) -> usize {
        HEADER_LEN + self.record_bytes + self.column_bytes
    }

    /// Feature means and standard deviations (empty if trained on raw features).
    pub fn standardisation(
        &self,
    ) -> (impl Iterator<Item = f32> + 'a, impl Iterator<Item = f32> + 'a) {
        let at = self.values_at();
        (self.f32s(at, self.stats), self.f32s(at + 4 * self.stats, self.stats))
    }

    /// `(mean, std)` of the regression target (0 and 1 for classification).
    pub fn target_scale(&self) -> (f32, f32) {
        (f32_at(self.bytes, 48), f32_at(self.bytes, 52))
    }

    /// Number of parameters.
    pub fn param_count(&self) -> usize {
        self.params
    }

    /// Number of buffer values.
    pub fn buffer_count(&self) -> usize {
        self.buffers
    }

    /// The parameters, layer by layer.
    pub fn params(&self) -> impl Iterator<Item = f32> + 'a {
        self.f32s(self.values_at() + 8 * self.stats, self.params)
    }

    /// The buffers, layer by layer.
    pub fn buffers(&self) -> impl Iterator<Item = f32> + 'a {
        self.f32s(self.values_at() + 8 * self.stats + 4 * self.params, self.buffers)
    }

    /// The int8 graph (a `.tflite` FlatBuffer) of a version-4 file, or `None`.
    pub fn int8_graph(&self) -> Option<&'a [u8]> {
        let (at, len) = self.int8?;
        Some(&self.bytes[at..at + len])
    }

    /// The optimiser's state (version 3), or `None` (version 2).
    pub fn optimizer(&self) -> Option<SavedOptimizer<'a>> {
        let (at, len) = self.optimizer?;
        let (record, _) = read_optimizer(self.bytes, at)?;
        let state_at = at + len - 4 * record.buffers;
        Some(SavedOptimizer {
            record,
            steps: u32_at(self.bytes, at + 4),
            state: F32s(&self.bytes[state_at..at + len]),
        })
    }
}

/// Iterator over a file's records.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    bytes: &'a [u8],
    at: usize,
    left: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        let (r, next) = read_record(self.bytes, self.at)?;
        self.at = next;
        self.left -= 1;
        Some(r)
    }
}

/// What a version-2 file records besides layers and values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeaderV2<'a> {
    /// The task.
    pub task: Task,
    /// Shape of one input sample (1 to 4 axes).
    pub input_shape: &'a [usize],
    /// Column names, features then target (may be empty).
    pub columns: &'a [&'a str],
    /// Feature means (empty, or one per input value).
    pub means: &'a [f32],
    /// Feature standard deviations.
    pub stds: &'a [f32],
    /// Regression target mean.
    pub target_mean: f32,
    /// Regression target standard deviation.
    pub target_std: f32,
}

/// Writes a version-2 file into a caller's buffer, without allocation: records first
/// ([`WriterV2::record`]), then everything else ([`WriterV2::finish`]).
#[derive(Debug)]
pub struct WriterV2<'o> {
    out: &'o mut [u8],
    at: usize,
    records: usize,
    params: usize,
    buffers: usize,
}

fn too_small(need: usize, have: usize) -> Error {
    Error::LengthMismatch { expected: need, found: have }
}

impl<'o> WriterV2<'o> {
    /// A writer over `out` (its length bounds the file).
    pub fn new(out: &'o mut [u8]) -> Self {
        Self { out, at: HEADER_LEN, records: 0, params: 0, buffers: 0 }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.at + bytes.len();
        if end > self.out.len() {
            return Err(too_small(end, self.out.len()));
        }
        self.out[self.at..end].copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }

    fn short(s: &str, what: usize) -> Result<u8, Error> {
        u8::try_from(s.len()).map_err(|_| Error::MalformedLayer { layer: what })
    }

    /// Appends one layer record (pre-order: a composite, then its body's records).
    pub fn record(
        &mut self,
        name: &str,
        body: usize,
        params: usize,
        buffers: usize,
        attrs: &[(&str, AttrIn<'_>)],
    ) -> Result<(), Error> {
        self.put_record(name, body, params, buffers, attrs)?;
        self.records += 1;
        self.params += params;
        self.buffers += buffers;
        Ok(())
    }

    /// Encodes one record (errors name layer `self.records`).
    fn put_record(
        &mut self,
        name: &str,
        body: usize,
        params: usize,
        buffers: usize,
        attrs: &[(&str, AttrIn<'_>)],
    ) -> Result<(), Error> {
        let layer = self.records;
        let bad = Error::MalformedLayer { layer };
        let body = u16::try_from(body).map_err(|_| bad)?;
        let count = u8::try_from(attrs.len()).map_err(|_| bad)?;
        let n = Self::short(name, layer)?;
        self.put(&[n])?;
        self.put(name.as_bytes())?;
        self.put(&body.to_le_bytes())?;
        self.put(&u32::try_from(params).map_err(|_| bad)?.to_le_bytes())?;
        self.put(&u32::try_from(buffers).map_err(|_| bad)?.to_le_bytes())?;
        self.put(&[count])?;
        for (key, value) in attrs {
            self.put(&[Self::short(key, layer)?])?;
            self.put(key.as_bytes())?;
            match value {
                AttrIn::Nums(v) => {
                    let c = u8::try_from(v.len()).map_err(|_| bad)?;
                    if v.iter().any(|x| !x.is_finite()) {
                        return Err(bad);
                    }
                    self.put(&[0, c])?;
                    for x in *v {
                        self.put(&x.to_le_bytes())?;
                    }
                }
                AttrIn::Word(w) => {
                    self.put(&[1, Self::short(w, layer)?])?;
                    self.put(w.as_bytes())?;
                }
                AttrIn::Flag(f) => self.put(&[2, u8::from(*f)])?,
            }
        }
        Ok(())
    }

    /// Writes the header, column names, statistics, parameters, buffers and CRC; checks that
    /// the values match the records' counts. Returns the file's length.
    pub fn finish<'p>(
        self,
        header: &HeaderV2<'_>,
        params: impl IntoIterator<Item = &'p [f32]>,
        buffers: impl IntoIterator<Item = &'p [f32]>,
    ) -> Result<usize, Error> {
        self.finish_with(header, &mut params.into_iter(), &mut buffers.into_iter(), Extra::None)
    }

    /// Writes a version-4 file: the header, column names and statistics, then `graph`, an
    /// int8 model as a `.tflite` FlatBuffer (no records may have been written).
    pub fn finish_int8(self, header: &HeaderV2<'_>, graph: &[u8]) -> Result<usize, Error> {
        self.finish_with(
            header,
            &mut core::iter::empty(),
            &mut core::iter::empty(),
            Extra::Int8(graph),
        )
    }

    /// [`WriterV2::finish`], then the optimiser's state: a version-3 file. `state` yields
    /// the optimiser's state tensors ([`OptimizerState::state_tensors`]).
    pub fn finish_with_optimizer<'p>(
        self,
        header: &HeaderV2<'_>,
        params: impl IntoIterator<Item = &'p [f32]>,
        buffers: impl IntoIterator<Item = &'p [f32]>,
        optimizer: &OptimizerIn<'_>,
        state: impl IntoIterator<Item = &'p [f32]>,
    ) -> Result<usize, Error> {
        let state = &mut state.into_iter();
        self.finish_with(
            header,
            &mut params.into_iter(),
            &mut buffers.into_iter(),
            Extra::Optimizer(optimizer, state),
        )
    }

    fn finish_with<'p>(
        mut self,
        header: &HeaderV2<'_>,
        params: &mut dyn Iterator<Item = &'p [f32]>,
        buffers: &mut dyn Iterator<Item = &'p [f32]>,
        extra: Extra<'_, 'p>,
    ) -> Result<usize, Error> {
        let rank = header.input_shape.len();
        let inputs: usize = header.input_shape.iter().product();
        let stats = header.means.len();
        let int8 = matches!(extra, Extra::Int8(_));
        if !(1..=4).contains(&rank)
            || header.input_shape.contains(&0)
            || (self.records == 0) != int8
        {
            return Err(Error::MalformedLayer { layer: 0 });
        }
        if header.stds.len() != stats || (stats != 0 && stats != inputs) {
            return Err(Error::LengthMismatch { expected: inputs, found: header.stds.len() });
        }
        let record_bytes = self.at - HEADER_LEN;
        let columns_at = self.at;
        for (i, c) in header.columns.iter().enumerate() {
            if c.contains('\n') || c.is_empty() {
                return Err(Error::MalformedLayer { layer: 0 });
            }
            if i > 0 {
                self.put(b"\n")?;
            }
            self.put(c.as_bytes())?;
        }
        let column_bytes = self.at - columns_at;
        let count = |s: &mut Self, values: &mut dyn Iterator<Item = &'p [f32]>| {
            let mut n = 0usize;
            for t in values {
                for v in t {
                    if !v.is_finite() {
                        return Err(Error::NonFinite { index: n });
                    }
                    s.put(&v.to_le_bytes())?;
                    n += 1;
                }
            }
            Ok(n)
        };
        for v in header.means.iter().chain(header.stds) {
            if !v.is_finite() {
                return Err(Error::NonFinite { index: 0 });
            }
            self.put(&v.to_le_bytes())?;
        }
        let p = count(&mut self, params)?;
        let b = count(&mut self, buffers)?;
        if p != self.params || b != self.buffers {
            return Err(Error::LengthMismatch {
                expected: self.params + self.buffers,
                found: p + b,
            });
        }
        let version = match extra {
            Extra::None => VERSION,
            Extra::Optimizer(..) => VERSION_WITH_OPTIMIZER,
            Extra::Int8(_) => VERSION_INT8,
        };
        if let Extra::Int8(graph) = extra {
            let len = u32::try_from(graph.len()).map_err(|_| too_small(usize::MAX, 0))?;
            self.put(&len.to_le_bytes())?;
            self.put(graph)?;
        }
        if let Extra::Optimizer(o, state) = extra {
            let section = self.at;
            self.put(&[0; 4])?;
            self.put(&o.steps.to_le_bytes())?;
            let names = o.hyper_parameters.iter().map(|(n, _)| n);
            let nums: [[f32; 1]; MAX_HYPER_PARAMETERS] = core::array::from_fn(|i| {
                [o.hyper_parameters.values().get(i).copied().unwrap_or(0.0)]
            });
            let mut attrs = [("", AttrIn::Flag(false)); MAX_HYPER_PARAMETERS];
            for ((a, name), num) in attrs.iter_mut().zip(names).zip(&nums) {
                *a = (name, AttrIn::Nums(num));
            }
            let n = o.hyper_parameters.values().len();
            self.put_record(o.name, 0, 0, o.state_len, &attrs[..n])?;
            let record_bytes = (self.at - section - 8) as u32;
            self.out[section..section + 4].copy_from_slice(&record_bytes.to_le_bytes());
            let s = count(&mut self, state)?;
            if s != o.state_len {
                return Err(Error::LengthMismatch { expected: o.state_len, found: s });
            }
        }
        let len = self.at + 4;
        if len > self.out.len() {
            return Err(too_small(len, self.out.len()));
        }
        let out = &mut *self.out;
        out[..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&version.to_le_bytes());
        out[6] = u8::from(header.task == Task::Regression);
        out[7] = rank as u8;
        for i in 0..4 {
            let d = header.input_shape.get(i).copied().unwrap_or(0);
            out[8 + 4 * i..12 + 4 * i].copy_from_slice(&(d as u32).to_le_bytes());
        }
        let words = [self.records, record_bytes, column_bytes, stats, p, b];
        for (k, w) in words.iter().enumerate() {
            out[24 + 4 * k..28 + 4 * k].copy_from_slice(&(*w as u32).to_le_bytes());
        }
        out[48..52].copy_from_slice(&header.target_mean.to_le_bytes());
        out[52..56].copy_from_slice(&header.target_std.to_le_bytes());
        let crc = crc32(&out[..len - 4]);
        out[len - 4..len].copy_from_slice(&crc.to_le_bytes());
        Ok(len)
    }
}

/// What follows the values: nothing (version 2), an optimiser's state (3), an int8 graph (4).
enum Extra<'a, 'p> {
    None,
    Optimizer(&'a OptimizerIn<'a>, &'a mut dyn Iterator<Item = &'p [f32]>),
    Int8(&'a [u8]),
}

/// An optimiser's state to write ([`WriterV2::finish_with_optimizer`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerIn<'a> {
    /// Its name ([`OptimizerState::NAME`]).
    pub name: &'a str,
    /// Steps taken.
    pub steps: u32,
    /// Its hyper-parameters.
    pub hyper_parameters: &'a HyperParameters,
    /// Scalars of state that follow.
    pub state_len: usize,
}

/// The format version of a model file's bytes (`None` if it has no magic or is too short).
pub fn version_of(bytes: &[u8]) -> Option<u16> {
    (bytes.len() >= 6 && bytes[..4] == MAGIC).then(|| u16_at(bytes, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(buf: &mut [u8]) -> usize {
        let mut w = WriterV2::new(buf);
        w.record(
            "conv2d",
            0,
            8 * 9 + 8,
            0,
            &[
                ("out_channels", AttrIn::Nums(&[8.0])),
                ("kernel_size", AttrIn::Nums(&[3.0])),
                ("bias", AttrIn::Flag(true)),
            ],
        )
        .unwrap();
        w.record("residual", 2, 0, 0, &[]).unwrap();
        w.record("batchnorm2d", 0, 16, 16, &[("eps", AttrIn::Nums(&[1e-3]))]).unwrap();
        w.record("gelu", 0, 0, 0, &[("approximate", AttrIn::Word("tanh"))]).unwrap();
        let params = [1.0f32; 80 + 16];
        let bufs = [0.5f32; 16];
        let header = HeaderV2 {
            task: Task::Classification,
            input_shape: &[1, 8, 8],
            columns: &["a", "b", "label"],
            means: &[],
            stds: &[],
            target_mean: 0.0,
            target_std: 1.0,
        };
        w.finish(&header, [&params[..]], [&bufs[..]]).unwrap()
    }

    #[test]
    fn round_trip_and_every_corruption_is_an_error() {
        let mut buf = [0u8; 1024];
        let len = sample(&mut buf);
        let f = ModelFileV2::parse(&buf[..len]).unwrap();
        assert_eq!(f.input_rank(), 3);
        assert_eq!(f.input_shape(), [1, 8, 8, 0]);
        let names: [&str; 4] = core::array::from_fn(|i| f.records().nth(i).unwrap().name);
        assert_eq!(names, ["conv2d", "residual", "batchnorm2d", "gelu"]);
        assert_eq!(f.records().nth(1).unwrap().body, 2);
        assert_eq!(f.records().nth(3).unwrap().attr("approximate"), Some(AttrValue::Word("tanh")));
        let k = f.records().next().unwrap().attr("kernel_size");
        assert!(matches!(k, Some(AttrValue::Nums(v)) if v.get(0) == Some(3.0)));
        assert_eq!(f.columns().count(), 3);
        assert_eq!((f.param_count(), f.buffer_count()), (96, 16));
        assert!(f.buffers().all(|v| v == 0.5));
        assert_eq!(version_of(&buf[..len]), Some(2));
        for i in 0..len {
            let mut bad = buf;
            bad[i] ^= 0x04;
            assert!(ModelFileV2::parse(&bad[..len]).is_err(), "byte {i}");
        }
        for n in 0..len {
            assert!(ModelFileV2::parse(&buf[..n]).is_err(), "length {n}");
        }
    }

    #[test]
    fn writer_checks_counts_and_room() {
        let mut small = [0u8; 40];
        let mut w = WriterV2::new(&mut small);
        assert!(w.record("dense", 0, 3, 0, &[]).is_err());
        let mut buf = [0u8; 256];
        let mut w = WriterV2::new(&mut buf);
        w.record("dense", 0, 3, 0, &[]).unwrap();
        let header = HeaderV2 {
            task: Task::Classification,
            input_shape: &[2],
            columns: &[],
            means: &[],
            stds: &[],
            target_mean: 0.0,
            target_std: 1.0,
        };
        assert!(w.finish(&header, [&[1.0f32, 2.0][..]], []).is_err());
    }

    #[test]
    fn an_int8_graph_round_trips_and_needs_zero_records() {
        let header = HeaderV2 {
            task: Task::Classification,
            input_shape: &[1, 2, 2],
            columns: &["a", "b", "c", "d", "label"],
            means: &[0.0; 4],
            stds: &[16.0; 4],
            target_mean: 0.0,
            target_std: 1.0,
        };
        let graph = [7u8, 0, 0, 0, b'T', b'F', b'L', b'3', 1, 2, 3];
        let mut buf = [0u8; 256];
        let len = WriterV2::new(&mut buf).finish_int8(&header, &graph).unwrap();
        let f = ModelFileV2::parse(&buf[..len]).unwrap();
        assert_eq!(version_of(&buf[..len]), Some(VERSION_INT8));
        assert_eq!(f.int8_graph(), Some(&graph[..]));
        assert_eq!((f.record_count(), f.param_count(), f.input_rank()), (0, 0, 3));
        assert!(f.standardisation().1.all(|s| s == 16.0));
        assert_eq!(f.columns().last(), Some("label"));
        for i in 0..len {
            let mut bad = buf;
            bad[i] ^= 0x10;
            assert!(ModelFileV2::parse(&bad[..len]).is_err(), "byte {i}");
        }
        for n in 0..len {
            assert!(ModelFileV2::parse(&buf[..n]).is_err(), "length {n}");
        }
        // layers and an int8 graph do not mix, and a layer file has no graph
        let mut w = WriterV2::new(&mut buf);
        w.record("dense", 0, 0, 0, &[]).unwrap();
        assert!(w.finish_int8(&header, &graph).is_err());
        let mut other = [0u8; 1024];
        let len = sample(&mut other);
        assert_eq!(ModelFileV2::parse(&other[..len]).unwrap().int8_graph(), None);
        // a version-2 file with no records, relabelled version 4 (no graph length): refused
        let empty = WriterV2::new(&mut buf).finish(&header, [], []);
        assert!(empty.is_err());
    }
}
