//! ONNX Runtime set-up: library and model paths, session options, model loading with a check of
//! each model's inputs and outputs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::ValueType;

use crate::error::{Error, Result};

/// Environment variable naming the ONNX Runtime shared library (set for cargo in this workspace
/// by `.cargo/config.toml`).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Environment variable naming the model folder (set for cargo in this workspace by
/// `.cargo/config.toml`).
pub const MODELS_ENV: &str = "POSECAM_MODELS";
/// The library in a posecam checkout, relative to its root (the set-up's cache layout).
pub const DEFAULT_ORT_LIBRARY: &str = ".cache/onnxruntime/libonnxruntime.so";
/// The model folder in a posecam checkout, relative to its root (the set-up's cache layout).
pub const DEFAULT_MODELS_DIR: &str = ".cache/models";
/// File name of the pose detector model.
pub const DETECTOR_FILE: &str = "pose_detection.onnx";

/// Which BlazePose landmark model to run (MediaPipe's `model_complexity` 0, 1, 2).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// `pose_landmark_lite.onnx` (complexity 0, fastest).
    Lite,
    /// `pose_landmark_full.onnx` (complexity 1, MediaPipe's default).
    #[default]
    Full,
    /// `pose_landmark_heavy.onnx` (complexity 2, most accurate, slowest).
    Heavy,
}

impl ModelKind {
    /// All models, lightest first.
    pub const ALL: [ModelKind; 3] = [ModelKind::Lite, ModelKind::Full, ModelKind::Heavy];

    /// The model's name: `lite`, `full` or `heavy`.
    pub const fn name(self) -> &'static str {
        match self {
            ModelKind::Lite => "lite",
            ModelKind::Full => "full",
            ModelKind::Heavy => "heavy",
        }
    }

    /// The landmark model's file name, e.g. `pose_landmark_full.onnx`.
    pub const fn file_name(self) -> &'static str {
        match self {
            ModelKind::Lite => "pose_landmark_lite.onnx",
            ModelKind::Full => "pose_landmark_full.onnx",
            ModelKind::Heavy => "pose_landmark_heavy.onnx",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;

    /// Parses `lite`, `full` or `heavy`.
    fn from_str(s: &str) -> Result<Self> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::InvalidConfig {
                name: "model",
                message: format!("{s:?} is not one of lite, full, heavy"),
            })
    }
}

/// ONNX Runtime graph optimisation level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Optimization {
    /// No graph optimisation.
    Disable,
    /// Basic: constant folding, redundant node removal.
    Basic,
    /// Extended: also complex node fusions.
    Extended,
    /// Everything, including layout optimisations (ONNX Runtime's default).
    #[default]
    All,
}

impl Optimization {
    fn to_ort(self) -> GraphOptimizationLevel {
        match self {
            Optimization::Disable => GraphOptimizationLevel::Disable,
            Optimization::Basic => GraphOptimizationLevel::Level1,
            Optimization::Extended => GraphOptimizationLevel::Level2,
            Optimization::All => GraphOptimizationLevel::All,
        }
    }
}

/// Where the runtime and the models are, and how sessions are set up.
///
/// Paths left `None` are found from any directory: the environment ([`ORT_DYLIB_ENV`],
/// [`MODELS_ENV`]), else the per-user data folder (`~/.local/share/posecam/`), else a posecam
/// checkout's set-up cache ([`DEFAULT_ORT_LIBRARY`], [`DEFAULT_MODELS_DIR`]); see
/// [`discovery`](crate::discovery) for the order and [`RuntimeConfig::resolved`].
///
/// ```
/// use pose_core::{ModelKind, RuntimeConfig};
/// let cfg = RuntimeConfig { model: ModelKind::Lite, intra_threads: 1, ..Default::default() };
/// assert_eq!(cfg.landmark_model_path().file_name().unwrap(), "pose_landmark_lite.onnx");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RuntimeConfig {
    /// The ONNX Runtime shared library (`libonnxruntime.so`).
    pub ort_library: Option<PathBuf>,
    /// The folder holding `pose_detection.onnx` and `pose_landmark_{lite,full,heavy}.onnx`.
    pub models_dir: Option<PathBuf>,
    /// The landmark model.
    pub model: ModelKind,
    /// Intra-op threads per session; 0 = ONNX Runtime's default (one per core). 1 is as fast on
    /// 2 cores and leaves the other core to a second worker (see the crate README).
    pub intra_threads: usize,
    /// Graph optimisation level.
    pub optimization: Optimization,
    /// Whether idle intra-op worker threads spin (busy-wait) for the next operator instead of
    /// sleeping (ONNX Runtime's `session.intra_op.allow_spinning`, on by its default). Only
    /// matters with more than one intra-op thread. Off by default: the detector's and the
    /// landmark model's sessions each have their own pool, so the spinning workers of one steal
    /// the cores the other runs on, and any other busy process makes it worse (measured on the
    /// 2-core machine under load, 2 threads, alternating detector/landmark calls: detector 92 ->
    /// 37 ms, landmark 177 -> 52 ms without spinning; see the crate README).
    pub intra_spinning: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            ort_library: None,
            models_dir: None,
            model: ModelKind::Full,
            intra_threads: 1,
            optimization: Optimization::All,
            intra_spinning: false,
        }
    }
}

impl RuntimeConfig {
    /// Path of the detector model.
    pub fn detector_model_path(&self) -> PathBuf {
        self.models_dir_path().join(DETECTOR_FILE)
    }

    /// Path of the selected landmark model.
    pub fn landmark_model_path(&self) -> PathBuf {
        self.models_dir_path().join(self.model.file_name())
    }
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static ENV_INIT: Mutex<()> = Mutex::new(());

/// The process-wide ONNX Runtime environment (ONNX Runtime allows one per process); the first
/// call loads the library from `lib`, later calls reuse it.
fn environment(lib: &Path) -> Result<Environment> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    let _guard = ENV_INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    if !lib.is_file() {
        return Err(Error::OrtLibrary {
            path: lib.to_path_buf(),
            message: "file not found".into(),
        });
    }
    let env = ort::init_from(lib)
        .map_err(|e| Error::OrtLibrary {
            path: lib.to_path_buf(),
            message: e.to_string(),
        })?
        .with_name("pose-core")
        .build()
        .map_err(|e| Error::OrtLibrary {
            path: lib.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(ENVIRONMENT.get_or_init(|| env).clone())
}

/// Expected signature of a model: input name and shape, output names and shapes.
pub(crate) struct Signature {
    pub input: (&'static str, &'static [i64]),
    pub outputs: &'static [(&'static str, &'static [i64])],
    /// Graph outputs removed before loading (unused by the pipeline).
    pub drop_outputs: &'static [&'static str],
}

pub(crate) const DETECTOR_SIGNATURE: Signature = Signature {
    input: ("input_1", &[1, 224, 224, 3]),
    outputs: &[("Identity", &[1, 2254, 12]), ("Identity_1", &[1, 2254, 1])],
    drop_outputs: &[],
};

pub(crate) const LANDMARK_SIGNATURE: Signature = Signature {
    input: ("input_1", &[1, 256, 256, 3]),
    outputs: &[
        ("Identity", &[1, 195]),
        ("Identity_1", &[1, 1]),
        ("Identity_3", &[1, 64, 64, 39]),
        ("Identity_4", &[1, 117]),
    ],
    drop_outputs: &["Identity_2"],
};

/// The landmark model for configurations without heatmap refinement: the heatmap output
/// (`Identity_3`, 64x64x39) is removed too, so ONNX Runtime prunes its decoder branch (measured
/// with ONNX Runtime 1.31.1, 1 thread, interleaved: lite -7 %).
pub(crate) const LANDMARK_SIGNATURE_NO_HEATMAP: Signature = Signature {
    input: ("input_1", &[1, 256, 256, 3]),
    outputs: &[
        ("Identity", &[1, 195]),
        ("Identity_1", &[1, 1]),
        ("Identity_4", &[1, 117]),
    ],
    drop_outputs: &["Identity_2", "Identity_3"],
};

/// Protobuf varint at `*i` (advanced past it).
fn read_varint(b: &[u8], i: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i).ok_or("truncated varint")?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// One protobuf field: number, raw bytes (key included), payload if length-delimited.
type ProtoField<'a> = (u64, &'a [u8], Option<&'a [u8]>);

/// Splits a protobuf message into `(field number, raw bytes of the field, payload if
/// length-delimited)`.
fn proto_fields(b: &[u8]) -> Result<Vec<ProtoField<'_>>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let key = read_varint(b, &mut i)?;
        let payload = match key & 7 {
            0 => {
                read_varint(b, &mut i)?;
                None
            }
            1 => {
                i += 8;
                None
            }
            5 => {
                i += 4;
                None
            }
            2 => {
                let len = usize::try_from(read_varint(b, &mut i)?).map_err(|e| e.to_string())?;
                let end = i.checked_add(len).ok_or("length overflow")?;
                let p = b.get(i..end).ok_or("truncated field")?;
                i = end;
                Some(p)
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        let raw = b.get(start..i).ok_or("truncated field")?;
        out.push((key >> 3, raw, payload));
    }
    Ok(out)
}

/// Removes the named outputs from an ONNX `ModelProto` (`graph` = field 7, `GraphProto.output` =
/// field 12, `ValueInfoProto.name` = field 1); everything else is copied byte for byte.
fn drop_graph_outputs(model: &[u8], drop: &[&str]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(model.len());
    let mut found_graph = false;
    for (field, raw, payload) in proto_fields(model)? {
        match (field, payload) {
            (7, Some(graph)) => {
                found_graph = true;
                let mut g = Vec::with_capacity(graph.len());
                for (gf, graw, gp) in proto_fields(graph)? {
                    if let (12, Some(value_info)) = (gf, gp) {
                        let name = proto_fields(value_info)?
                            .into_iter()
                            .find(|(f, _, _)| *f == 1)
                            .and_then(|(_, _, p)| p);
                        if name.is_some_and(|n| drop.iter().any(|d| d.as_bytes() == n)) {
                            continue;
                        }
                    }
                    g.extend_from_slice(graw);
                }
                write_varint((7 << 3) | 2, &mut out);
                write_varint(g.len() as u64, &mut out);
                out.extend_from_slice(&g);
            }
            _ => out.extend_from_slice(raw),
        }
    }
    if !found_graph {
        return Err("no graph".into());
    }
    Ok(out)
}

/// A loaded model: its session and file.
pub(crate) struct Model {
    pub session: Session,
    pub path: PathBuf,
}

impl Model {
    /// Loads `path` with the config's session options and checks its signature.
    pub fn load(cfg: &RuntimeConfig, path: &Path, sig: &Signature) -> Result<Self> {
        let env = environment(&cfg.ort_library_path())?;
        if !path.is_file() {
            return Err(Error::Model {
                path: path.to_path_buf(),
                message: "file not found".into(),
            });
        }
        let ctx = |step: &str| format!("{} ({step})", path.display());
        let ort_err = |step: &str, e: &dyn fmt::Display| Error::Ort {
            context: ctx(step),
            message: e.to_string(),
        };
        let mut builder = Session::builder(&env).map_err(|e| ort_err("session builder", &e))?;
        builder = builder
            .with_optimization_level(cfg.optimization.to_ort())
            .map_err(|e| ort_err("optimisation level", &e))?;
        if cfg.intra_threads > 0 {
            builder = builder
                .with_intra_threads(cfg.intra_threads)
                .map_err(|e| ort_err("intra-op threads", &e))?;
        }
        if cfg.intra_threads != 1 {
            builder = builder
                .with_intra_op_spinning(cfg.intra_spinning)
                .map_err(|e| ort_err("intra-op spinning", &e))?;
        }
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // Outputs the pipeline does not use (the landmark model's segmentation mask) are removed
        // from the graph so that ONNX Runtime prunes the branch computing them.
        let bytes = if sig.drop_outputs.is_empty() {
            bytes
        } else {
            drop_graph_outputs(&bytes, sig.drop_outputs).map_err(|message| Error::Model {
                path: path.to_path_buf(),
                message: format!("not a valid ONNX model: {message}"),
            })?
        };
        let session = builder
            .commit_from_memory(&bytes)
            .map_err(|e| Error::Model {
                path: path.to_path_buf(),
                message: format!("ONNX Runtime cannot load it: {e}"),
            })?;
        check_signature(&session, path, sig)?;
        Ok(Self {
            session,
            path: path.to_path_buf(),
        })
    }
}

fn check_signature(session: &Session, path: &Path, sig: &Signature) -> Result<()> {
    let bad = |message: String| Error::Model {
        path: path.to_path_buf(),
        message,
    };
    let shape_of = |t: &ValueType| -> Option<Vec<i64>> {
        match t {
            ValueType::Tensor {
                ty: ort::value::TensorElementType::Float32,
                shape,
                ..
            } => Some(shape.iter().copied().collect()),
            _ => None,
        }
    };
    let shapes_match = |got: &[i64], want: &[i64]| {
        got.len() == want.len() && got.iter().zip(want).all(|(g, w)| *g == *w || *g < 0)
    };
    let inputs = session.inputs();
    if inputs.len() != 1 || inputs[0].name() != sig.input.0 {
        return Err(bad(format!(
            "unexpected inputs {:?}, expected one float32 input {:?} {:?}",
            inputs.iter().map(|i| i.name()).collect::<Vec<_>>(),
            sig.input.0,
            sig.input.1
        )));
    }
    match shape_of(inputs[0].dtype()) {
        Some(s) if shapes_match(&s, sig.input.1) => {}
        other => {
            return Err(bad(format!(
                "input {} has shape {other:?}, expected float32 {:?}",
                sig.input.0, sig.input.1
            )));
        }
    }
    for (name, want) in sig.outputs {
        let Some(out) = session.outputs().iter().find(|o| o.name() == *name) else {
            return Err(bad(format!(
                "missing output {name:?} (outputs: {:?})",
                session
                    .outputs()
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
            )));
        };
        match shape_of(out.dtype()) {
            Some(s) if shapes_match(&s, want) => {}
            other => {
                return Err(bad(format!(
                    "output {name} has shape {other:?}, expected float32 {want:?}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_kind_parses_and_names_files() {
        for m in ModelKind::ALL {
            assert_eq!(m.name().parse::<ModelKind>().ok(), Some(m));
            assert!(m.file_name().contains(m.name()));
        }
        assert!("medium".parse::<ModelKind>().is_err());
        assert_eq!(ModelKind::default(), ModelKind::Full);
    }

    #[test]
    fn dropping_outputs_of_garbage_is_an_error() {
        assert!(drop_graph_outputs(b"not a model", &["x"]).is_err());
        assert!(drop_graph_outputs(&[], &["x"]).is_err());
        assert!(drop_graph_outputs(&[0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f], &["x"]).is_err());
    }

    #[test]
    fn dropping_outputs_keeps_the_rest() {
        // ModelProto { ir_version: 8, graph: { output: [{name: "a"}, {name: "b"}] } }
        let vi = |n: u8| vec![0x62, 3, 0x0a, 1, n];
        let graph: Vec<u8> = [vi(b'a'), vi(b'b')].concat();
        let mut model = vec![0x08, 8, 0x3a, graph.len() as u8];
        model.extend_from_slice(&graph);
        let out = drop_graph_outputs(&model, &["a"]).expect("valid");
        let mut want = vec![0x08, 8, 0x3a, 5];
        want.extend_from_slice(&vi(b'b'));
        assert_eq!(out, want);
    }

    #[test]
    fn explicit_paths_win() {
        let cfg = RuntimeConfig {
            ort_library: Some("/x/lib.so".into()),
            models_dir: Some("/m".into()),
            ..Default::default()
        };
        assert_eq!(cfg.ort_library_path(), PathBuf::from("/x/lib.so"));
        assert_eq!(
            cfg.detector_model_path(),
            PathBuf::from("/m/pose_detection.onnx")
        );
        assert_eq!(
            cfg.landmark_model_path(),
            PathBuf::from("/m/pose_landmark_full.onnx")
        );
    }
}
