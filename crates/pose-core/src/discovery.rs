//! Where the ONNX Runtime library and the models are found, from any project and any directory.
//!
//! [`RuntimeConfig`] paths left `None` are looked for, in order:
//!
//! 1. the explicit [`RuntimeConfig::ort_library`] / [`RuntimeConfig::models_dir`];
//! 2. the environment: [`ORT_DYLIB_ENV`] (`ORT_DYLIB_PATH`) / [`MODELS_ENV`] (`POSECAM_MODELS`);
//! 3. the per-user data folder [`user_data_dir`]: `$XDG_DATA_HOME/posecam/`, default
//!    `~/.local/share/posecam/` (`onnxruntime/libonnxruntime.so`, `models/`), where
//!    `scripts/setup.sh` installs them;
//! 4. a posecam checkout's set-up cache (`.cache/onnxruntime/libonnxruntime.so`, `.cache/models`):
//!    first the checkout that holds the running executable (the nearest ancestor folder of the
//!    executable with a `Cargo.toml`: `target/…/examples/pose` finds its workspace wherever it is
//!    started from, and even when the checkout was moved after the build), then the workspace
//!    pose-core itself was built in (baked at build time from `CARGO_MANIFEST_DIR`: a project
//!    outside this workspace that depends on pose-core by path finds the checkout's cache).
//!
//! A value given in 1 or 2 is used as is (a wrong explicit path is an error, never silently
//! replaced by another copy); 3 and 4 are searched, and the first place that holds the files wins.
//! The working directory plays no part, except for relative paths given in 1 or 2. When nothing is
//! found, the error ([`Error::NotFound`]) lists every absolute path looked at and says how to get
//! the files without this repository.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::runtime::{
    DEFAULT_MODELS_DIR, DEFAULT_ORT_LIBRARY, DETECTOR_FILE, MODELS_ENV, ORT_DYLIB_ENV,
    RuntimeConfig,
};

/// The ONNX Runtime version pose-core is built for (`ort` 2.0.0-rc.15, API 31).
pub const ORT_VERSION: &str = "1.31.1";
/// Name of pose-core's folder in the per-user data folder.
pub const USER_DIR_NAME: &str = "posecam";
/// The library inside the per-user folder.
pub const USER_ORT_LIBRARY: &str = "onnxruntime/libonnxruntime.so";
/// The model folder inside the per-user folder.
pub const USER_MODELS_DIR: &str = "models";

/// How to get ONNX Runtime without this repository (part of [`Error::NotFound`]).
pub const ORT_HELP: &str = "to get it: run scripts/setup.sh in a posecam checkout (it installs \
    the library to $XDG_DATA_HOME/posecam/onnxruntime/libonnxruntime.so, default \
    ~/.local/share/posecam/...); or, without the repository, `pip install onnxruntime==1.31.1` \
    (the PyPI wheel, any venv) and copy site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 \
    from it to that path, or point ORT_DYLIB_PATH / RuntimeConfig::ort_library at it (pose-core \
    needs ONNX Runtime 1.31, the version of the `ort` 2.0.0-rc.15 crate)";

/// How to get the models without this repository (part of [`Error::NotFound`]).
pub const MODELS_HELP: &str = "to get them: run scripts/setup.sh in a posecam checkout (it \
    copies them to $XDG_DATA_HOME/posecam/models, default ~/.local/share/posecam/models); or \
    copy a folder holding pose_detection.onnx and pose_landmark_{lite,full,heavy}.onnx \
    (MediaPipe BlazePose converted to ONNX: a shared models/ folder with its SHA256SUMS, or the \
    output of the checkout's scripts/convert_models.sh OUT_DIR, which converts the TFLite \
    originals of npm @mediapipe/pose and PyPI mediapipe==0.10.14 and checks them) to that \
    folder, or point POSECAM_MODELS / RuntimeConfig::models_dir at it";

/// Where a candidate path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// An explicit [`RuntimeConfig`] field.
    Config,
    /// An environment variable (its name).
    Env(&'static str),
    /// The per-user data folder ([`user_data_dir`]).
    UserData,
    /// The set-up cache of the checkout holding the running executable.
    ExecutableWorkspace,
    /// The set-up cache of the workspace pose-core was built in.
    BuildWorkspace,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Config => f.write_str("RuntimeConfig field"),
            Origin::Env(name) => write!(f, "${name}"),
            Origin::UserData => f.write_str("per-user data folder"),
            Origin::ExecutableWorkspace => f.write_str("cache of the executable's checkout"),
            Origin::BuildWorkspace => f.write_str("cache of the checkout pose-core was built in"),
        }
    }
}

/// One place looked at: an absolute path and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The file or folder (absolute).
    pub path: PathBuf,
    /// Where it came from.
    pub origin: Origin,
}

/// The places looked at, in order: formats as one `  - PATH (ORIGIN)` line each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tried(pub Vec<Candidate>);

impl fmt::Display for Tried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.0 {
            write!(f, "\n  - {} ({})", c.path.display(), c.origin)?;
        }
        Ok(())
    }
}

/// The per-user data folder of pose-core: `$XDG_DATA_HOME/posecam` (when set to an absolute
/// path, as the XDG spec asks), else `$HOME/.local/share/posecam`; `None` without either.
///
/// ```
/// if let Some(dir) = pose_core::discovery::user_data_dir() {
///     assert!(dir.ends_with("posecam"));
/// }
/// ```
pub fn user_data_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    user_data_dir_from(xdg, home)
}

fn user_data_dir_from(xdg: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let base = match xdg {
        Some(x) if x.is_absolute() => x,
        _ => home
            .filter(|h| h.is_absolute())?
            .join(".local")
            .join("share"),
    };
    Some(base.join(USER_DIR_NAME))
}

/// Everything the search reads from the process, gathered once (tests build it by hand).
#[derive(Debug, Clone, Default)]
struct Places {
    cwd: Option<PathBuf>,
    env_ort: Option<PathBuf>,
    env_models: Option<PathBuf>,
    user_dir: Option<PathBuf>,
    /// Workspace roots whose `.cache` is searched, in order.
    workspaces: Vec<(PathBuf, Origin)>,
}

/// The nearest ancestor folder of `start` holding a `Cargo.toml`.
fn nearest_cargo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .skip(1)
        .find(|a| a.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

impl Places {
    fn from_process() -> Self {
        let nonempty = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut workspaces = Vec::new();
        if let Some(root) = std::env::current_exe()
            .ok()
            .and_then(|exe| nearest_cargo_root(&exe))
        {
            workspaces.push((root, Origin::ExecutableWorkspace));
        }
        // Baked at build time: <workspace>/crates/pose-core -> <workspace>. A pose-core unpacked
        // from a registry has no checkout there; the candidate is then skipped.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        if let Some(root) = manifest.parent().and_then(Path::parent)
            && root.join("Cargo.toml").is_file()
        {
            workspaces.push((root.to_path_buf(), Origin::BuildWorkspace));
        }
        Self {
            cwd: std::env::current_dir().ok(),
            env_ort: nonempty(ORT_DYLIB_ENV),
            env_models: nonempty(MODELS_ENV),
            user_dir: user_data_dir(),
            workspaces,
        }
    }

    fn absolute(&self, p: &Path) -> PathBuf {
        match &self.cwd {
            Some(cwd) if p.is_relative() => cwd.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// The places to look at: `(candidates, given)`; `given` = the first one was set explicitly
    /// (config or environment) and is the only one.
    fn candidates(
        &self,
        explicit: Option<&Path>,
        env: Option<&Path>,
        env_name: &'static str,
        user_rel: &str,
        cache_rel: &str,
    ) -> (Vec<Candidate>, bool) {
        if let Some(p) = explicit {
            let c = Candidate {
                path: self.absolute(p),
                origin: Origin::Config,
            };
            return (vec![c], true);
        }
        if let Some(p) = env {
            let c = Candidate {
                path: self.absolute(p),
                origin: Origin::Env(env_name),
            };
            return (vec![c], true);
        }
        let mut out: Vec<Candidate> = Vec::new();
        if let Some(u) = &self.user_dir {
            out.push(Candidate {
                path: u.join(user_rel),
                origin: Origin::UserData,
            });
        }
        for (root, origin) in &self.workspaces {
            let path = root.join(cache_rel);
            if !out.iter().any(|c| c.path == path) {
                out.push(Candidate {
                    path,
                    origin: *origin,
                });
            }
        }
        (out, false)
    }

    fn ort_library(&self, cfg: &RuntimeConfig) -> Located {
        let (candidates, given) = self.candidates(
            cfg.ort_library.as_deref(),
            self.env_ort.as_deref(),
            ORT_DYLIB_ENV,
            USER_ORT_LIBRARY,
            DEFAULT_ORT_LIBRARY,
        );
        Located::pick(candidates, given, |p| p.is_file())
    }

    fn models_dir(&self, cfg: &RuntimeConfig) -> Located {
        let (candidates, given) = self.candidates(
            cfg.models_dir.as_deref(),
            self.env_models.as_deref(),
            MODELS_ENV,
            USER_MODELS_DIR,
            DEFAULT_MODELS_DIR,
        );
        let landmark = cfg.model.file_name();
        Located::pick(candidates, given, |d| {
            d.join(DETECTOR_FILE).is_file() && d.join(landmark).is_file()
        })
    }
}

/// The outcome of one search.
struct Located {
    found: Option<PathBuf>,
    tried: Vec<Candidate>,
}

impl Located {
    fn pick(tried: Vec<Candidate>, given: bool, ok: impl Fn(&Path) -> bool) -> Self {
        // A given path is used as is: its loader reports what is wrong with it.
        let found = if given {
            tried.first().map(|c| c.path.clone())
        } else {
            tried.iter().find(|c| ok(&c.path)).map(|c| c.path.clone())
        };
        Self { found, tried }
    }

    /// The found path, else the first place looked at (what an error message names).
    fn path_or_first(self, fallback: &str) -> PathBuf {
        self.found
            .or_else(|| self.tried.into_iter().next().map(|c| c.path))
            .unwrap_or_else(|| PathBuf::from(fallback))
    }

    fn into_result(self, what: &'static str, help: &'static str) -> Result<PathBuf> {
        match self.found {
            Some(p) => Ok(p),
            None => Err(Error::NotFound {
                what,
                tried: Tried(self.tried),
                help,
            }),
        }
    }
}

impl RuntimeConfig {
    /// The ONNX Runtime library that will be loaded (see the [module docs](crate::discovery) for the order);
    /// when it is found nowhere, the first place looked at.
    pub fn ort_library_path(&self) -> PathBuf {
        Places::from_process()
            .ort_library(self)
            .path_or_first(DEFAULT_ORT_LIBRARY)
    }

    /// The model folder that will be used (see the [module docs](crate::discovery) for the order); when it is
    /// found nowhere, the first place looked at.
    pub fn models_dir_path(&self) -> PathBuf {
        Places::from_process()
            .models_dir(self)
            .path_or_first(DEFAULT_MODELS_DIR)
    }

    /// A copy with [`ort_library`](Self::ort_library) and [`models_dir`](Self::models_dir) set to
    /// the absolute paths found (what [`PoseEstimator::new`](crate::PoseEstimator::new) loads).
    ///
    /// # Errors
    /// [`Error::NotFound`] listing every absolute path looked at and how to get the files.
    ///
    /// ```
    /// use pose_core::RuntimeConfig;
    /// let cfg = RuntimeConfig { ort_library: Some("/opt/ort/libonnxruntime.so".into()),
    ///                           models_dir: Some("/opt/models".into()), ..Default::default() };
    /// // Explicit paths are used as they are; loading reports a missing file.
    /// let resolved = cfg.resolved()?;
    /// assert_eq!(resolved.models_dir.as_deref(), Some(std::path::Path::new("/opt/models")));
    /// # Ok::<(), pose_core::Error>(())
    /// ```
    pub fn resolved(&self) -> Result<RuntimeConfig> {
        let places = Places::from_process();
        let lib = places
            .ort_library(self)
            .into_result("ONNX Runtime library (libonnxruntime.so)", ORT_HELP)?;
        let models = places.models_dir(self).into_result(
            "BlazePose model folder (pose_detection.onnx + pose_landmark_*.onnx)",
            MODELS_HELP,
        )?;
        Ok(RuntimeConfig {
            ort_library: Some(lib),
            models_dir: Some(models),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelKind;

    fn temp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("pose-core-discovery-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, b"x").expect("write");
    }

    fn places(root: &Path) -> Places {
        Places {
            cwd: Some(root.join("cwd")),
            env_ort: None,
            env_models: None,
            user_dir: Some(root.join("user/posecam")),
            workspaces: vec![
                (root.join("exe-ws"), Origin::ExecutableWorkspace),
                (root.join("build-ws"), Origin::BuildWorkspace),
            ],
        }
    }

    #[test]
    fn user_dir_follows_xdg_then_home() {
        let d = user_data_dir_from(Some("/x/data".into()), Some("/home/u".into()));
        assert_eq!(d, Some(PathBuf::from("/x/data/posecam")));
        // A relative XDG_DATA_HOME is ignored (XDG base directory spec).
        let d = user_data_dir_from(Some("rel".into()), Some("/home/u".into()));
        assert_eq!(d, Some(PathBuf::from("/home/u/.local/share/posecam")));
        assert_eq!(user_data_dir_from(None, None), None);
    }

    #[test]
    fn nothing_found_lists_every_absolute_path_in_order() {
        let root = temp("none");
        let p = places(&root);
        let cfg = RuntimeConfig::default();
        let err = p
            .ort_library(&cfg)
            .into_result("ONNX Runtime library", ORT_HELP)
            .expect_err("nothing there");
        let msg = err.to_string();
        let want = [
            root.join("user/posecam/onnxruntime/libonnxruntime.so"),
            root.join("exe-ws/.cache/onnxruntime/libonnxruntime.so"),
            root.join("build-ws/.cache/onnxruntime/libonnxruntime.so"),
        ];
        let mut at = 0;
        for w in &want {
            let i = msg[at..]
                .find(&*w.to_string_lossy())
                .unwrap_or_else(|| panic!("{} missing from {msg}", w.display()));
            at += i;
        }
        assert!(msg.contains("pip install onnxruntime==1.31.1"), "{msg}");
        assert!(msg.contains("capi/libonnxruntime.so.1.31.1"), "{msg}");
        let err = p
            .models_dir(&cfg)
            .into_result("models", MODELS_HELP)
            .expect_err("nothing there");
        let msg = err.to_string();
        assert!(msg.contains(&*root.join("user/posecam/models").to_string_lossy()));
        assert!(msg.contains(&*root.join("build-ws/.cache/models").to_string_lossy()));
        assert!(msg.contains("scripts/convert_models.sh"), "{msg}");
    }

    #[test]
    fn user_data_comes_before_the_workspace_caches() {
        let root = temp("order");
        let p = places(&root);
        let cfg = RuntimeConfig::default();
        touch(&root.join("build-ws/.cache/onnxruntime/libonnxruntime.so"));
        assert_eq!(
            p.ort_library(&cfg).found,
            Some(root.join("build-ws/.cache/onnxruntime/libonnxruntime.so"))
        );
        touch(&root.join("exe-ws/.cache/onnxruntime/libonnxruntime.so"));
        assert_eq!(
            p.ort_library(&cfg).found,
            Some(root.join("exe-ws/.cache/onnxruntime/libonnxruntime.so"))
        );
        touch(&root.join("user/posecam/onnxruntime/libonnxruntime.so"));
        assert_eq!(
            p.ort_library(&cfg).found,
            Some(root.join("user/posecam/onnxruntime/libonnxruntime.so"))
        );
        // A model folder counts only with the detector and the chosen landmark model.
        let models = root.join("user/posecam/models");
        touch(&models.join(DETECTOR_FILE));
        touch(&models.join(ModelKind::Lite.file_name()));
        let lite = RuntimeConfig {
            model: ModelKind::Lite,
            ..Default::default()
        };
        assert_eq!(p.models_dir(&lite).found, Some(models.clone()));
        assert_eq!(p.models_dir(&cfg).found, None, "full model missing");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn given_paths_are_used_as_is_and_made_absolute() {
        let root = temp("given");
        let mut p = places(&root);
        touch(&root.join("user/posecam/onnxruntime/libonnxruntime.so"));
        p.env_ort = Some("rel/lib.so".into());
        let cfg = RuntimeConfig::default();
        let got = p.ort_library(&cfg);
        assert_eq!(got.found, Some(root.join("cwd/rel/lib.so")));
        assert_eq!(got.tried[0].origin, Origin::Env(ORT_DYLIB_ENV));
        let cfg = RuntimeConfig {
            ort_library: Some("/x/lib.so".into()),
            ..Default::default()
        };
        assert_eq!(p.ort_library(&cfg).found, Some(PathBuf::from("/x/lib.so")));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_executables_checkout_is_the_nearest_cargo_root() {
        let root = temp("exe");
        touch(&root.join("ws/Cargo.toml"));
        touch(&root.join("ws/target/debug/examples/pose"));
        assert_eq!(
            nearest_cargo_root(&root.join("ws/target/debug/examples/pose")),
            Some(root.join("ws"))
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
