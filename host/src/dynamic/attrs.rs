//! A layer's options as named values: the one representation that the layer spec string,
//! the golden JSON cases and the model file all convert to and from.
//!
//! `conv2d(8, 3, padding=1)`, `{"layer": "conv2d", "out_channels": 8, "kernel_size": 3,
//! "padding": 1}` and a model-file record all become the same [`Attrs`]; each layer reads
//! its options from it once, in its registry entry's `build` function.

use std::fmt;

/// One option value: numbers (a scalar is one number; pairs like `[3, 5]` are two) or a word.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// One or more numbers.
    Nums(Vec<f32>),
    /// A word (`gelu`'s `approximate = "tanh"`).
    Str(String),
    /// A flag (`bias = false`).
    Bool(bool),
}

/// Writes as the spec string reads it: integers without a fraction, pairs as `3x5`.
impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nums(v) => {
                let items: Vec<String> = v
                    .iter()
                    .map(|x| {
                        if x.fract() == 0.0 && x.abs() < 1e7 {
                            format!("{}", *x as i64)
                        } else {
                            format!("{x:?}")
                        }
                    })
                    .collect();
                f.write_str(&items.join("x"))
            }
            Self::Str(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Named options of one layer, in the order they were given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs(pub Vec<(String, Attr)>);

/// Largest integer option accepted (sizes beyond this are a typo, not a model).
pub const MAX_SIZE: usize = 1 << 24;

impl Attrs {
    /// No options.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds (or replaces) an option.
    pub fn set(&mut self, key: &str, value: Attr) -> &mut Self {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
        self
    }

    /// Adds a number option.
    pub fn num(mut self, key: &str, v: f32) -> Self {
        self.set(key, Attr::Nums(vec![v]));
        self
    }

    /// Adds a numbers option.
    pub fn nums(mut self, key: &str, v: &[f32]) -> Self {
        self.set(key, Attr::Nums(v.to_vec()));
        self
    }

    /// Adds a word option.
    pub fn word(mut self, key: &str, v: &str) -> Self {
        self.set(key, Attr::Str(v.to_string()));
        self
    }

    /// Adds a flag.
    pub fn flag(mut self, key: &str, v: bool) -> Self {
        self.set(key, Attr::Bool(v));
        self
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&Attr> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `Err` naming the first option not in `known`.
    pub fn only(&self, layer: &str, known: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => {
                Err(format!("{layer}: unknown option '{k}' (known: {})", known.join(", ")))
            }
            None => Ok(()),
        }
    }

    fn nums_of(&self, key: &str) -> Result<Option<&[f32]>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Attr::Nums(v)) => Ok(Some(v)),
            Some(other) => Err(format!("option '{key}' must be a number, found '{other}'")),
        }
    }

    /// A finite number, or `default`.
    pub fn f32(&self, key: &str, default: f32) -> Result<f32, String> {
        match self.nums_of(key)? {
            None => Ok(default),
            Some([v]) if v.is_finite() => Ok(*v),
            Some(_) => Err(format!("option '{key}' must be one finite number")),
        }
    }

    /// A non-negative integer in `0..=MAX_SIZE`, or `default`.
    pub fn usize(&self, key: &str, default: usize) -> Result<usize, String> {
        match self.nums_of(key)? {
            None => Ok(default),
            Some([v]) => to_size(key, *v),
            Some(_) => Err(format!("option '{key}' must be one integer")),
        }
    }

    /// An integer or a pair `[h, w]` (PyTorch's `int | tuple` options), or `[default; 2]`.
    pub fn pair(&self, key: &str, default: usize) -> Result<[usize; 2], String> {
        match self.nums_of(key)? {
            None => Ok([default; 2]),
            Some([v]) => {
                let v = to_size(key, *v)?;
                Ok([v, v])
            }
            Some([h, w]) => Ok([to_size(key, *h)?, to_size(key, *w)?]),
            Some(_) => Err(format!("option '{key}' must be an integer or a pair [h, w]")),
        }
    }

    /// A list of integers, or `None`.
    pub fn sizes(&self, key: &str) -> Result<Option<Vec<usize>>, String> {
        match self.nums_of(key)? {
            None => Ok(None),
            Some(v) => v.iter().map(|x| to_size(key, *x)).collect::<Result<_, _>>().map(Some),
        }
    }

    /// A word, or `default`.
    pub fn word_or<'a>(&'a self, key: &str, default: &'a str) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Attr::Str(s)) => Ok(s),
            Some(other) => Err(format!("option '{key}' must be a word, found '{other}'")),
        }
    }

    /// A flag (`true`/`false`, or 1/0), or `default`.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Attr::Bool(b)) => Ok(*b),
            Some(Attr::Nums(v)) if v.as_slice() == [1.0] => Ok(true),
            Some(Attr::Nums(v)) if v.as_slice() == [0.0] => Ok(false),
            Some(Attr::Str(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Some(other) => Err(format!("option '{key}' must be true or false, found '{other}'")),
        }
    }
}

fn to_size(key: &str, v: f32) -> Result<usize, String> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_SIZE as f32 {
        Ok(v as usize)
    } else {
        Err(format!("option '{key}' must be an integer in 0..={MAX_SIZE}, found {v}"))
    }
}

/// A pair option written back: one number when both are equal.
pub fn pair_attr(v: [usize; 2]) -> Attr {
    if v[0] == v[1] {
        Attr::Nums(vec![v[0] as f32])
    } else {
        Attr::Nums(vec![v[0] as f32, v[1] as f32])
    }
}
