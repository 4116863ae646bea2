//! Dev-only helper that tests, benches and bench examples use to find data.
//!
//! * [`shared_dir`]: the read-only shared data set (`models/`, `media/`, `tools/`), from the
//!   environment variable `POSECAM_SHARED`, default `../shared` relative to the workspace root.
//! * [`testdata_dir`]: the workspace's own `testdata/` folder.
//!
//! Both panic with a message that names the missing path and how to fix it: a test that needs
//! the data fails loudly, it never skips.
//!
//! ```
//! let testdata = posecam_test_support::testdata_dir();
//! assert!(testdata.join("README.md").is_file());
//! ```
//!
//! [`chromium`]: headless Chromium and a minimal DevTools client for the browser tests.

pub mod chromium;

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// The shared data folder: `$POSECAM_SHARED`, else `<workspace>/../shared`.
///
/// # Panics
/// When the folder does not exist; the message names the path that was looked at.
pub fn shared_dir() -> PathBuf {
    let (dir, origin) = match std::env::var_os("POSECAM_SHARED") {
        Some(v) if !v.is_empty() => (PathBuf::from(v), "from $POSECAM_SHARED"),
        _ => (
            workspace_root().join("..").join("shared"),
            "default ../shared beside the workspace",
        ),
    };
    if !dir.is_dir() {
        panic!(
            "shared test data not found at {} ({origin}); set POSECAM_SHARED to the folder that \
             holds models/, media/ and tools/",
            dir.display()
        );
    }
    dir
}

/// A path inside the shared data folder that must exist (file or folder).
///
/// # Panics
/// When the shared folder or the path inside it is missing.
pub fn shared(rel: &str) -> PathBuf {
    let p = shared_dir().join(rel);
    if !p.exists() {
        panic!(
            "shared test data is missing {} (POSECAM_SHARED layout changed?)",
            p.display()
        );
    }
    p
}

/// The workspace's `testdata/` folder.
///
/// # Panics
/// When the folder is missing (a broken checkout).
pub fn testdata_dir() -> PathBuf {
    let p = workspace_root().join("testdata");
    if !p.is_dir() {
        panic!("testdata folder not found at {}", p.display());
    }
    p
}

/// A path inside `testdata/` that must exist.
///
/// # Panics
/// When it is missing.
pub fn testdata(rel: &str) -> PathBuf {
    let p = testdata_dir().join(rel);
    if !p.exists() {
        panic!("testdata is missing {}", p.display());
    }
    p
}

/// Reads a whole file, panicking with the path in the message.
///
/// # Panics
/// When the file cannot be read.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_shared_models() {
        assert!(super::shared("models/SHA256SUMS").is_file());
    }
}
