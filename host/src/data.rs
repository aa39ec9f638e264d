//! Tabular datasets from CSV files with a header row, the canonical train/test split and
//! standardisation with train statistics.

use std::fmt;
use std::path::{Path, PathBuf};

/// A dataset: `rows x features` values (row-major) and one target per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Feature column names.
    pub feature_names: Vec<String>,
    /// Target column name.
    pub target_name: String,
    /// Row-major features.
    pub features: Vec<f32>,
    /// One target per row (a class index as a float, or a regression value).
    pub targets: Vec<f32>,
    /// Number of features per row.
    pub n_features: usize,
    /// 0-based column of the target in the file (`None` without a target).
    pub target_column: Option<usize>,
    /// The file it came from.
    pub path: PathBuf,
    /// Per row, its 1-based line in the file and its target cell as written (for messages;
    /// empty when the dataset was not read from CSV).
    pub sources: Vec<(usize, String)>,
}

/// A cell as a message shows it: control characters escaped, at most 40 characters.
pub fn shown(cell: &str) -> String {
    let mut out: String = cell
        .chars()
        .take(40)
        .flat_map(|c| {
            let escaped: Vec<char> =
                if c.is_control() { c.escape_default().collect() } else { vec![c] };
            escaped
        })
        .collect();
    if cell.chars().count() > 40 {
        out.push_str("...");
    }
    out
}

/// Why a CSV could not be loaded; `Display` names the file, line and column.
#[derive(Debug)]
pub struct DataError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, where it applies.
    pub line: Option<usize>,
    /// 1-based column, where it applies.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DataError {}

impl Dataset {
    /// Loads a CSV with a header. The target is the column named `target`, or the last one.
    /// Every cell must be a finite number.
    pub fn load_csv(path: &Path, target: Option<&str>) -> Result<Self, DataError> {
        Self::load(path, Some(target))
    }

    /// Loads a CSV whose every column is a feature (no target; `targets` is empty).
    pub fn load_features(path: &Path) -> Result<Self, DataError> {
        Self::load(path, None)
    }

    /// `target`: `None` for no target column, `Some(None)` for the last column,
    /// `Some(Some(name))` for a named one.
    fn load(path: &Path, target: Option<Option<&str>>) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: e.to_string(),
        })?;
        Self::parse(&bytes, path, target)
    }

    /// Parses CSV text (a header row, then data rows) as [`Dataset::load_csv`] parses a
    /// file; `path` names the data in the dataset and in errors.
    pub fn from_csv_text(text: &str, path: &Path, target: Option<&str>) -> Result<Self, DataError> {
        Self::parse(text.as_bytes(), path, Some(target))
    }

    fn reader() -> csv::ReaderBuilder {
        let mut builder = csv::ReaderBuilder::new();
        builder.has_headers(true).flexible(true);
        builder
    }

    fn parse(bytes: &[u8], path: &Path, target: Option<Option<&str>>) -> Result<Self, DataError> {
        let mut reader = Self::reader().from_reader(bytes);
        // 1-based line of a byte offset, counted here: whatever the line endings (CRLF) and
        // blank lines, the line an editor shows
        let newlines: Vec<usize> =
            bytes.iter().enumerate().filter(|&(_, &b)| b == b'\n').map(|(i, _)| i).collect();
        let line_of = |pos: Option<&csv::Position>, fallback: usize| {
            pos.map_or(fallback, |p| {
                // the reader's position may sit on the end of the previous line's terminator
                // (the `\n` of a `\r\n`): a record starts at its first other byte
                let start = bytes[(p.byte() as usize).min(bytes.len())..]
                    .iter()
                    .position(|&b| b != b'\r' && b != b'\n')
                    .map_or(bytes.len(), |k| p.byte() as usize + k);
                1 + newlines.partition_point(|&n| n < start)
            })
        };
        let err = |line: Option<usize>, column: Option<usize>, message: String| DataError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| err(Some(1), None, e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(err(None, None, "empty file: no header row".into()));
        }
        let target_col = match target {
            Some(Some(name)) => header.iter().position(|h| h == name).ok_or_else(|| {
                err(Some(1), None, format!("target column '{name}' not found in the header"))
            })?,
            Some(None) => header.len() - 1,
            None => usize::MAX,
        };
        if target.is_some() && header.len() < 2 {
            return Err(err(Some(1), None, "need at least one feature and a target column".into()));
        }
        let mut features = Vec::new();
        let mut targets = Vec::new();
        let mut sources = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| {
                let line = line_of(e.position(), i + 2);
                err(Some(line), None, e.to_string())
            })?;
            let line = line_of(record.position(), i + 2);
            if record.len() != header.len() {
                return Err(err(
                    Some(line),
                    None,
                    format!("expected {} fields, found {}", header.len(), record.len()),
                ));
            }
            for (c, cell) in record.iter().enumerate() {
                let cell = cell.trim();
                if cell.is_empty() {
                    return Err(err(Some(line), Some(c + 1), "missing value".into()));
                }
                let v: f32 = cell.parse().map_err(|_| {
                    err(Some(line), Some(c + 1), format!("'{}' is not a number", shown(cell)))
                })?;
                if !v.is_finite() {
                    let message = format!("'{}' is not finite", shown(cell));
                    return Err(err(Some(line), Some(c + 1), message));
                }
                if c == target_col {
                    targets.push(v);
                    sources.push((line, cell.to_string()));
                } else {
                    features.push(v);
                }
            }
        }
        let n_features = header.len() - usize::from(target.is_some());
        if features.is_empty() {
            return Err(err(None, None, "no data rows after the header".into()));
        }
        let feature_names =
            header.iter().enumerate().filter(|&(c, _)| c != target_col).map(|(_, h)| h.clone());
        Ok(Self {
            feature_names: feature_names.collect(),
            target_name: header.get(target_col).cloned().unwrap_or_default(),
            n_features,
            features,
            targets,
            target_column: target.map(|_| target_col),
            path: path.to_path_buf(),
            sources,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.features.len().checked_div(self.n_features).unwrap_or(0)
    }

    /// `true` without rows.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.n_features..(i + 1) * self.n_features]
    }

    /// The rows whose index satisfies `keep`.
    pub fn select(&self, keep: impl Fn(usize) -> bool) -> Self {
        let mut out =
            Self { features: Vec::new(), targets: Vec::new(), sources: Vec::new(), ..self.clone() };
        for i in (0..self.len()).filter(|&i| keep(i)) {
            out.features.extend_from_slice(self.row(i));
            if let Some(&t) = self.targets.get(i) {
                out.targets.push(t);
            }
            if let Some(s) = self.sources.get(i) {
                out.sources.push(s.clone());
            }
        }
        out
    }

    /// The canonical split: row `i` is a test row when `i % 5 == 0`. Returns `(train, test)`.
    pub fn canonical_split(&self) -> (Self, Self) {
        (self.select(|i| i % 5 != 0), self.select(|i| i % 5 == 0))
    }

    /// Class indices of the targets: `Err` naming the 1-based data row of the first target
    /// that is not a non-negative integer.
    pub fn classes(&self) -> Result<Vec<usize>, usize> {
        self.targets
            .iter()
            .enumerate()
            .map(
                |(i, &t)| {
                    if t >= 0.0 && t.fract() == 0.0 && t < 1e6 {
                        Ok(t as usize)
                    } else {
                        Err(i + 1)
                    }
                },
            )
            .collect()
    }
}

/// Per-feature mean and standard deviation (population, as scikit-learn's StandardScaler).
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// Means.
    pub mean: Vec<f32>,
    /// Standard deviations (1 where a feature is constant).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Statistics of `data`'s features, accumulated in f64.
    pub fn fit(data: &Dataset) -> Self {
        let n = data.len().max(1) as f64;
        let f = data.n_features;
        let mut mean = vec![0.0f64; f];
        let mut sq = vec![0.0f64; f];
        for i in 0..data.len() {
            for (j, &v) in data.row(i).iter().enumerate() {
                mean[j] += f64::from(v);
                sq[j] += f64::from(v) * f64::from(v);
            }
        }
        let mut std = vec![1.0f32; f];
        for j in 0..f {
            mean[j] /= n;
            let var = (sq[j] / n - mean[j] * mean[j]).max(0.0);
            if var > 1e-12 {
                std[j] = var.sqrt() as f32;
            }
        }
        Self { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }

    /// Standardises `data`'s features in place.
    pub fn apply(&self, data: &mut Dataset) {
        let f = data.n_features;
        for row in data.features.chunks_exact_mut(f) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }
}

/// The directory of the datasets shipped with the project (`host/data`) in the source tree
/// this crate was built from (tests and examples read it; the `neurite` binary does not).
pub fn shipped_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// `host/data/digits.csv`, compiled in: the demo's data, so that an installed binary needs
/// no source tree.
pub const DIGITS_CSV: &str = include_str!("../data/digits.csv");

/// The digits dataset from [`DIGITS_CSV`]; its `path` is `host/data/digits.csv`, the file
/// it was compiled from.
pub fn shipped_digits() -> Result<Dataset, DataError> {
    Dataset::from_csv_text(DIGITS_CSV, Path::new("host/data/digits.csv"), None)
}

/// Loads a shipped dataset by name (`"iris"`, `"digits"`, ...), split canonically and
/// standardised with train statistics: `(train, test)`.
pub fn shipped_split(name: &str) -> Result<(Dataset, Dataset), DataError> {
    let data = Dataset::load_csv(&shipped_data_dir().join(format!("{name}.csv")), None)?;
    let (mut train, mut test) = data.canonical_split();
    let s = Standardizer::fit(&train);
    s.apply(&mut train);
    s.apply(&mut test);
    Ok((train, test))
}
