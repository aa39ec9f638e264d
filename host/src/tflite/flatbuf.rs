//! A bounds-checked reader of the FlatBuffers wire format, enough for a `.tflite` file:
//! tables through their vtables, scalars, vectors of scalars and of tables, strings. Every
//! read checks its offsets against the buffer and returns an error instead of panicking (a
//! `.tflite` file is untrusted input; generated FlatBuffers accessors index without checks
//! unless a verifier generated from the whole schema runs first).
//!
//! Layout: a buffer starts with a `u32` offset to the root table. A table starts with an
//! `i32` whose subtraction from the table's position gives its vtable: `u16` vtable size,
//! `u16` table size, then one `u16` per field, the field's offset in the table (0: absent,
//! the default applies). A reference field (table, vector, string) holds a `u32` offset from
//! the field's own position; a vector is a `u32` length followed by its elements.

/// A malformed buffer: what was being read and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatError(pub String);

impl std::fmt::Display for FlatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, FlatError>;

fn bytes<'a>(buf: &'a [u8], at: usize, n: usize, what: &str) -> Result<&'a [u8]> {
    at.checked_add(n).and_then(|end| buf.get(at..end)).ok_or_else(|| {
        FlatError(format!("{what} at byte {at} runs past the end ({} bytes)", buf.len()))
    })
}

fn u16_at(buf: &[u8], at: usize, what: &str) -> Result<u16> {
    let b = bytes(buf, at, 2, what)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(buf: &[u8], at: usize, what: &str) -> Result<u32> {
    let b = bytes(buf, at, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A table in a buffer.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    /// The root table of `buf`.
    pub fn root(buf: &'a [u8]) -> Result<Self> {
        let off = u32_at(buf, 0, "the root offset")? as usize;
        Self::at(buf, off)
    }

    fn at(buf: &'a [u8], pos: usize) -> Result<Self> {
        let soff = u32_at(buf, pos, "a table")? as i32;
        let vtable = (pos as i64 - i64::from(soff)) as usize;
        let vtable_len = usize::from(u16_at(buf, vtable, "a vtable")?);
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return Err(FlatError(format!("the vtable at byte {vtable} has size {vtable_len}")));
        }
        bytes(buf, vtable, vtable_len, "a vtable")?;
        Ok(Self { buf, pos, vtable, vtable_len })
    }

    /// The position of field `id`, or `None` when absent.
    fn field(&self, id: usize) -> Result<Option<usize>> {
        let entry = 4 + 2 * id;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        match u16_at(self.buf, self.vtable + entry, "a vtable entry")? {
            0 => Ok(None),
            off => Ok(Some(self.pos + usize::from(off))),
        }
    }

    /// A scalar field of `N` bytes, little endian, or `default` when absent.
    fn scalar<const N: usize>(&self, id: usize, default: [u8; N]) -> Result<[u8; N]> {
        match self.field(id)? {
            None => Ok(default),
            Some(at) => {
                let b = bytes(self.buf, at, N, "a scalar field")?;
                Ok(core::array::from_fn(|i| b[i]))
            }
        }
    }

    /// A `u8` field.
    pub fn u8(&self, id: usize, default: u8) -> Result<u8> {
        Ok(self.scalar(id, [default])?[0])
    }

    /// An `i8` field.
    pub fn i8(&self, id: usize, default: i8) -> Result<i8> {
        Ok(self.u8(id, default as u8)? as i8)
    }

    /// An `i32` field.
    pub fn i32(&self, id: usize, default: i32) -> Result<i32> {
        Ok(i32::from_le_bytes(self.scalar(id, default.to_le_bytes())?))
    }

    /// A `u32` field.
    pub fn u32(&self, id: usize, default: u32) -> Result<u32> {
        Ok(u32::from_le_bytes(self.scalar(id, default.to_le_bytes())?))
    }

    /// The target of a reference field, or `None` when absent.
    fn reference(&self, id: usize) -> Result<Option<usize>> {
        match self.field(id)? {
            None => Ok(None),
            Some(at) => {
                let off = u32_at(self.buf, at, "a reference")? as usize;
                at.checked_add(off)
                    .map(Some)
                    .ok_or_else(|| FlatError(format!("a reference at byte {at} overflows")))
            }
        }
    }

    /// A sub-table field.
    pub fn table(&self, id: usize) -> Result<Option<Self>> {
        self.reference(id)?.map(|at| Self::at(self.buf, at)).transpose()
    }

    /// A vector field: its elements' bytes (`len * elem` of them) and its length; empty when
    /// absent.
    fn vector(&self, id: usize, elem: usize) -> Result<(usize, usize)> {
        let Some(at) = self.reference(id)? else { return Ok((0, 0)) };
        let len = u32_at(self.buf, at, "a vector length")? as usize;
        let n = len.checked_mul(elem).ok_or_else(|| FlatError("a vector too long".into()))?;
        bytes(self.buf, at + 4, n, "a vector")?;
        Ok((at + 4, len))
    }

    /// A vector of bytes (also a string's bytes).
    pub fn bytes(&self, id: usize) -> Result<&'a [u8]> {
        let (at, len) = self.vector(id, 1)?;
        bytes(self.buf, at, len, "a byte vector")
    }

    /// A string field, `""` when absent.
    pub fn string(&self, id: usize) -> Result<String> {
        Ok(String::from_utf8_lossy(self.bytes(id)?).into_owned())
    }

    /// A vector of 4-byte scalars, decoded by `f`.
    fn words<T>(&self, id: usize, f: impl Fn([u8; 4]) -> T) -> Result<Vec<T>> {
        let (at, len) = self.vector(id, 4)?;
        Ok((0..len)
            .map(|i| {
                let b = &self.buf[at + 4 * i..at + 4 * i + 4];
                f([b[0], b[1], b[2], b[3]])
            })
            .collect())
    }

    /// A vector of `i32`.
    pub fn i32s(&self, id: usize) -> Result<Vec<i32>> {
        self.words(id, i32::from_le_bytes)
    }

    /// A vector of `f32`.
    pub fn f32s(&self, id: usize) -> Result<Vec<f32>> {
        self.words(id, f32::from_le_bytes)
    }

    /// A vector of `i64`.
    pub fn i64s(&self, id: usize) -> Result<Vec<i64>> {
        let (at, len) = self.vector(id, 8)?;
        Ok((0..len)
            .map(|i| {
                let b = &self.buf[at + 8 * i..at + 8 * i + 8];
                i64::from_le_bytes(core::array::from_fn(|k| b[k]))
            })
            .collect())
    }

    /// A vector of tables.
    pub fn tables(&self, id: usize) -> Result<Vec<Self>> {
        let (at, len) = self.vector(id, 4)?;
        (0..len)
            .map(|i| {
                let slot = at + 4 * i;
                let off = u32_at(self.buf, slot, "a table offset")? as usize;
                Self::at(self.buf, slot + off)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built buffer: root table with field 0 = i32 7, field 1 = vector [1, 2], field 2
    /// absent.
    fn sample() -> Vec<u8> {
        let mut b = vec![0u8; 4]; // root offset, filled below
                                  // vtable at 4: size 10 (3 fields), table size 12, field offsets 4, 8, 0
        b.extend_from_slice(&[10, 0, 12, 0, 4, 0, 8, 0, 0, 0]);
        let table = b.len(); // 14
        b.extend_from_slice(&((table - 4) as i32).to_le_bytes()); // soffset to the vtable
        b.extend_from_slice(&7i32.to_le_bytes());
        let field1 = b.len();
        b.extend_from_slice(&0u32.to_le_bytes()); // offset to the vector, below
        let vector = b.len();
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&1i32.to_le_bytes());
        b.extend_from_slice(&2i32.to_le_bytes());
        b[field1..field1 + 4].copy_from_slice(&((vector - field1) as u32).to_le_bytes());
        b[..4].copy_from_slice(&(table as u32).to_le_bytes());
        b
    }

    #[test]
    fn reads_fields_vectors_and_defaults() {
        let b = sample();
        let t = Table::root(&b).unwrap();
        assert_eq!(t.i32(0, -1).unwrap(), 7);
        assert_eq!(t.i32s(1).unwrap(), [1, 2]);
        assert_eq!(t.i32(2, 42).unwrap(), 42);
        assert_eq!(t.i32(9, 5).unwrap(), 5); // past the vtable: absent
        assert!(t.tables(2).unwrap().is_empty());
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let b = sample();
        for n in 0..b.len() {
            let t = Table::root(&b[..n]);
            if let Ok(t) = t {
                let _ = (t.i32(0, 0), t.i32s(1), t.tables(1), t.string(1), t.f32s(1), t.i64s(1));
            }
        }
        for i in 0..b.len() {
            for v in [0u8, 0x7F, 0xFF] {
                let mut c = b.clone();
                c[i] = v;
                if let Ok(t) = Table::root(&c) {
                    let _ =
                        (t.i32(0, 0), t.i32s(1), t.tables(1), t.table(1), t.bytes(1), t.i64s(1));
                }
            }
        }
    }
}
