//! An int8 model as `neurite quantize` and `neurite import --tflite` write it: a TFLite
//! graph (every tensor int8, biases int32) run by the core's int8 kernels bit for bit as
//! LiteRT runs it ([`crate::tflite::run`]), with what predicting a CSV row needs (task,
//! feature standardisation, column names), in a model file of format version 4
//! (`neurite::model_file::v2`).
//!
//! A CSV row is standardised as the float model's rows were, put in the graph's layout
//! (rows are `C x H x W`, as everywhere in neurite; a `[1, H, W, C]` input takes them
//! channels last), then quantised with the input tensor's scale and zero point as TFLite
//! quantises: `q = clamp(round(x / scale) + zero_point)`, half away from zero.

use crate::tflite::{self, run::run_int8, Model, TfliteError, INT8};
use neurite::model_file::v2::{self, HeaderV2, ModelFileV2, WriterV2};
use neurite::model_file::Task;
use neurite::quant::affine::Affine;

/// An int8 model and what it needs to predict CSV rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Model {
    /// The graph as a `.tflite` FlatBuffer (what the model file stores and `export
    /// --tflite` writes).
    pub tflite: Vec<u8>,
    /// The graph, read from [`Int8Model::tflite`].
    pub graph: Model,
    /// Classification or regression.
    pub task: Task,
    /// One sample's shape as neurite gives it (`[C, H, W]`, or `[N]`).
    pub input_shape: Vec<usize>,
    /// Feature means (empty: rows are used as they are).
    pub means: Vec<f32>,
    /// Feature standard deviations.
    pub stds: Vec<f32>,
    /// Regression target mean (0 for classification).
    pub target_mean: f32,
    /// Regression target standard deviation (1 for classification).
    pub target_std: f32,
    /// The training data's column names, features then target (empty if unknown).
    pub columns: Vec<String>,
    input: Affine,
    output: Affine,
    /// `[H, W, C]` of a channels-last image input, for the row's `C x H x W` order.
    image: Option<[usize; 3]>,
}

/// The quantisation of a model's input or output tensor.
fn affine_of(m: &Model, index: Option<&i32>, what: &str) -> Result<(Affine, Vec<i32>), String> {
    let t = index
        .and_then(|&i| usize::try_from(i).ok())
        .and_then(|i| m.tensors.get(i))
        .ok_or_else(|| format!("the model has no {what} tensor"))?;
    let affine = match (t.dtype, t.scales.as_slice(), t.zero_points.as_slice()) {
        (INT8, [s], [z]) => i32::try_from(*z).ok().and_then(|z| Affine::new(*s, z)),
        _ => None,
    };
    let affine = affine.ok_or_else(|| {
        format!("the {what} tensor '{}' is not int8 with one scale and zero point", t.name)
    })?;
    Ok((affine, t.shape.clone()))
}

impl Int8Model {
    /// Reads and checks a `.tflite` graph (one int8 input, one int8 output, every op one the
    /// int8 kernels run: checked by running it once).
    pub fn from_tflite(
        tflite: Vec<u8>,
        task: Task,
        means: Vec<f32>,
        stds: Vec<f32>,
        columns: Vec<String>,
    ) -> Result<Self, String> {
        let graph = tflite::read(&tflite).map_err(|e| e.to_string())?;
        if graph.inputs.len() != 1 || graph.outputs.len() != 1 {
            return Err(format!(
                "unsupported .tflite model: {} inputs and {} outputs (one of each is run)",
                graph.inputs.len(),
                graph.outputs.len()
            ));
        }
        let (input, shape) = affine_of(&graph, graph.inputs.first(), "input")?;
        let (output, _) = affine_of(&graph, graph.outputs.first(), "output")?;
        let dims: Option<Vec<usize>> = shape.iter().map(|&d| usize::try_from(d).ok()).collect();
        let (input_shape, image) = match dims.as_deref() {
            Some([1, n]) => (vec![*n], None),
            Some([1, h, w, c]) => (vec![*c, *h, *w], Some([*h, *w, *c])),
            _ => return Err(format!("unsupported input shape {shape:?}: [1, N] or [1, H, W, C]")),
        };
        let inputs: usize = input_shape.iter().product();
        if inputs == 0 || (!means.is_empty() && means.len() != inputs) || means.len() != stds.len()
        {
            return Err(format!("{} standardisation values for {inputs} inputs", means.len()));
        }
        let zeros = vec![input.quantize(0.0); inputs];
        run_int8(&graph, &zeros).map_err(|e: TfliteError| e.to_string())?;
        Ok(Self {
            tflite,
            graph,
            task,
            input_shape,
            means,
            stds,
            target_mean: 0.0,
            target_std: 1.0,
            columns,
            input,
            output,
            image,
        })
    }

    /// Values per input row.
    pub fn inputs(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Values in the output tensor.
    pub fn outputs(&self) -> usize {
        let m = &self.graph;
        let t = m.outputs.first().and_then(|&i| m.tensors.get(usize::try_from(i).ok()?));
        t.map_or(0, |t| t.shape.iter().map(|&d| d.max(0) as usize).product())
    }

    /// The input tensor's scale and zero point.
    pub fn input(&self) -> Affine {
        self.input
    }

    /// The output tensor's scale and zero point.
    pub fn output(&self) -> Affine {
        self.output
    }

    /// One raw row as the graph's int8 input: standardised, channels last, quantised.
    pub fn quantize_row(&self, raw: &[f32]) -> Vec<i8> {
        let x: Vec<f32> = if self.means.is_empty() {
            raw.to_vec()
        } else {
            raw.iter().zip(&self.means).zip(&self.stds).map(|((v, m), s)| (v - m) / s).collect()
        };
        let at = |i: usize| x.get(i).copied().unwrap_or(0.0);
        let ordered: Vec<f32> = match self.image {
            Some([h, w, c]) => (0..h * w * c)
                .map(|i| {
                    let (pixel, channel) = (i / c, i % c);
                    at(channel * h * w + pixel)
                })
                .collect(),
            _ => x,
        };
        ordered.iter().map(|&v| self.input.quantize(v)).collect()
    }

    /// The int8 output tensor for one raw row (`inputs()` values).
    pub fn run(&self, raw: &[f32]) -> Vec<i8> {
        run_int8(&self.graph, &self.quantize_row(raw))
            .expect("the graph ran once when it was read, and every run takes the same shapes")
    }

    /// The model file's bytes (format version 4).
    pub fn to_bytes(&self) -> Result<Vec<u8>, neurite::Error> {
        let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let header = HeaderV2 {
            task: self.task,
            input_shape: &self.input_shape,
            columns: &columns,
            means: &self.means,
            stds: &self.stds,
            target_mean: self.target_mean,
            target_std: self.target_std,
        };
        let names: usize = columns.iter().map(|c| c.len() + 1).sum();
        let mut out =
            vec![0u8; v2::HEADER_LEN + names + 8 * self.means.len() + self.tflite.len() + 8];
        let len = WriterV2::new(&mut out).finish_int8(&header, &self.tflite)?;
        out.truncate(len);
        Ok(out)
    }

    /// Reads a version-4 model file: checks it as [`ModelFileV2::parse`] does, then its
    /// graph as [`Int8Model::from_tflite`] does.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let file = ModelFileV2::parse(bytes).map_err(|e| e.to_string())?;
        let graph = file.int8_graph().ok_or("not an int8 model file (format version 4)")?;
        let (means, stds) = file.standardisation();
        let columns = file.columns().map(str::to_string).collect();
        let mut m = Self::from_tflite(
            graph.to_vec(),
            file.task(),
            means.collect(),
            stds.collect(),
            columns,
        )?;
        if m.input_shape.as_slice() != &file.input_shape()[..file.input_rank()] {
            return Err(format!(
                "the file's input shape {:?} is not its graph's {:?}",
                &file.input_shape()[..file.input_rank()],
                m.input_shape
            ));
        }
        (m.target_mean, m.target_std) = file.target_scale();
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::{op, Fused, Operator, Options, Padding, Tensor};

    fn committed(name: &str) -> Vec<u8> {
        let path = format!("{}/../tests/litert/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    fn classify(tflite: Vec<u8>, means: Vec<f32>, stds: Vec<f32>) -> Result<Int8Model, String> {
        Int8Model::from_tflite(tflite, Task::Classification, means, stds, Vec::new())
    }

    /// `[1, 2, 2, 2]` in, a 1x1 max pool (the identity), `[1, 2, 2, 2]` out.
    fn two_channel_image() -> Vec<u8> {
        let t = |name: &str| Tensor {
            name: name.into(),
            shape: vec![1, 2, 2, 2],
            dtype: INT8,
            data: Vec::new(),
            scales: vec![0.5],
            zero_points: vec![-3],
            quantized_dimension: 0,
        };
        let pool = Operator {
            code: op::MAX_POOL_2D,
            inputs: vec![0],
            outputs: vec![1],
            options: Options::Window {
                padding: Padding::Valid,
                stride_w: 1,
                stride_h: 1,
                dilation_w: 1,
                dilation_h: 1,
                filter_w: 1,
                filter_h: 1,
                depth_multiplier: 0,
                fused: Fused::None,
            },
        };
        let m = Model {
            tensors: vec![t("x"), t("y")],
            operators: vec![pool],
            inputs: vec![0],
            outputs: vec![1],
        };
        tflite::write::write(&m).unwrap()
    }

    #[test]
    fn an_image_row_goes_in_channels_last_standardised_and_quantised() {
        let m = classify(two_channel_image(), vec![1.0; 8], vec![2.0; 8]).unwrap();
        assert_eq!((m.input_shape.as_slice(), m.inputs(), m.outputs()), (&[2, 2, 2][..], 8, 8));
        // the row is C x H x W: channel 0 then channel 1
        let raw: Vec<f32> = (0..8).map(|v| v as f32).collect();
        // (v - 1) / 2 / 0.5 - 3, in H x W x C order: 0, 4, 1, 5, 2, 6, 3, 7
        let want: Vec<i8> = [0, 4, 1, 5, 2, 6, 3, 7].iter().map(|&v| v - 1 - 3).collect();
        assert_eq!(m.quantize_row(&raw), want);
        assert_eq!(m.run(&raw), want, "the 1x1 pool copies");
        assert_eq!(m.input().zero_point, -3);
        assert_eq!(m.output().scale, 0.5);
    }

    #[test]
    fn a_vector_model_reads_its_sizes_and_refuses_bad_standardisation() {
        let mlp = committed("digits_mlp_int8.tflite");
        let m = classify(mlp.clone(), Vec::new(), Vec::new()).unwrap();
        assert_eq!((m.input_shape.as_slice(), m.inputs(), m.outputs()), (&[64][..], 64, 10));
        let refused = |means: usize, stds: usize| {
            classify(mlp.clone(), vec![0.0; means], vec![1.0; stds]).unwrap_err()
        };
        assert_eq!(refused(63, 63), "63 standardisation values for 64 inputs");
        assert_eq!(refused(64, 63), "64 standardisation values for 64 inputs");
        assert_eq!(refused(0, 64), "0 standardisation values for 64 inputs");
        assert!(classify(mlp.clone(), vec![0.0; 64], vec![1.0; 64]).is_ok());
        // two inputs, or no output: refused
        let mut graph = tflite::read(&mlp).unwrap();
        graph.inputs.push(0);
        let two = tflite::write::write(&graph).unwrap();
        assert!(classify(two, Vec::new(), Vec::new())
            .unwrap_err()
            .contains("2 inputs and 1 outputs"));
        graph.inputs.pop();
        graph.outputs.clear();
        let none = tflite::write::write(&graph).unwrap();
        assert!(classify(none, Vec::new(), Vec::new())
            .unwrap_err()
            .contains("1 inputs and 0 outputs"));
    }

    #[test]
    fn the_model_file_round_trips_and_is_checked() {
        let mut m = classify(two_channel_image(), vec![1.0; 8], vec![2.0; 8]).unwrap();
        m.columns = (0..9).map(|i| format!("c{i}")).collect();
        (m.task, m.target_mean, m.target_std) = (Task::Regression, 3.0, 4.0);
        let bytes = m.to_bytes().unwrap();
        assert_eq!(Int8Model::from_bytes(&bytes).unwrap(), m);
        // a float model file is not an int8 one
        let float = crate::model_io::SavedModel {
            model: crate::dynamic::DynModel::build(
                &crate::dynamic::parse_spec("dense(2)").unwrap(),
                &[3],
            )
            .unwrap(),
            task: Task::Classification,
            means: Vec::new(),
            stds: Vec::new(),
            target_mean: 0.0,
            target_std: 1.0,
            columns: Vec::new(),
        };
        let err = Int8Model::from_bytes(&float.to_bytes().unwrap()).unwrap_err();
        assert!(err.contains("not an int8 model file"), "{err}");
        // a header whose input shape is not the graph's
        let mut other = m.clone();
        other.input_shape = vec![8];
        other.means.clear();
        other.stds.clear();
        let err = Int8Model::from_bytes(&other.to_bytes().unwrap()).unwrap_err();
        assert!(err.contains("input shape [8] is not its graph's [2, 2, 2]"), "{err}");
    }
}
