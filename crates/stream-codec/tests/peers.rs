//! Real peers read what the writer writes: ffmpeg's `mpjpeg` demuxer (frame count and sha256 of
//! every packet) and the old Python client's FF D8 / FF D9 loop (`shared/tools/baselines/
//! seed_client.py`, run with the workspace venv's python, every frame decoded by cv2.imdecode).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};
use stream_codec::Writer;
use support::{read, shared, workspace_root};

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// 30 real JPEGs (esp32cam frames, plus the EXIF-thumbnail frames of quirky).
fn jpegs() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (name, take) in [("esp32cam", 20), ("quirky", 40)] {
        let meta: serde_json::Value =
            serde_json::from_slice(&read(&shared(&format!("media/mjpeg/{name}.json")))).unwrap();
        let body = read(&shared(&format!("media/mjpeg/{name}.mjpeg")));
        for f in meta["frames"].as_array().unwrap().iter().take(take) {
            if name == "quirky" && f["exif_thumbnail"].as_bool() != Some(true) {
                continue;
            }
            let (o, l) = (
                f["offset"].as_u64().unwrap() as usize,
                f["length"].as_u64().unwrap() as usize,
            );
            out.push(body[o..o + l].to_vec());
        }
    }
    out
}

/// Writes the stream body (what follows the response head) to a temp file.
fn write_stream(tag: &str, jpegs: &[Vec<u8>]) -> PathBuf {
    let w = Writer::new("peer-check").unwrap();
    let mut body = Vec::new();
    for (i, j) in jpegs.iter().enumerate() {
        body.extend_from_slice(&w.encode_part(j, Some(Duration::from_millis(40 * i as u64))));
    }
    let path =
        std::env::temp_dir().join(format!("stream-codec-{tag}-{}.mjpeg", std::process::id()));
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn ffmpeg_mpjpeg_reads_the_writer_output() {
    let jpegs = jpegs();
    let path = write_stream("ffmpeg", &jpegs);
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostats",
            "-loglevel",
            "error",
            "-f",
            "mpjpeg",
            "-i",
        ])
        .arg(&path)
        .args(["-c", "copy", "-f", "framehash", "-hash", "sha256", "-"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run ffmpeg (installed by scripts/setup.sh): {e}"));
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let hashes: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(str::trim))
        .collect();
    assert_eq!(hashes.len(), jpegs.len(), "ffmpeg packet count:\n{stdout}");
    for (i, (h, j)) in hashes.iter().zip(&jpegs).enumerate() {
        assert_eq!(*h, hex(&Sha256::digest(j)), "packet {i}");
    }
}

#[test]
fn old_python_client_reads_the_writer_output() {
    let python = workspace_root().join(".cache/venv/bin/python");
    assert!(
        python.exists(),
        "the Python venv is missing at {} (scripts/setup.sh makes it)",
        python.display()
    );
    let client_dir = shared("tools/baselines");
    assert!(
        client_dir.join("seed_client.py").exists(),
        "seed_client.py missing in {} (set POSECAM_SHARED)",
        client_dir.display()
    );
    // The EXIF frames would be lost by the old loop (it pairs SOI with the thumbnail's EOI): send it
    // only the plain frames, as the old relay did.
    let jpegs: Vec<Vec<u8>> = jpegs().into_iter().take(20).collect();
    let path = write_stream("python", &jpegs);
    let script = r#"
import sys, hashlib
sys.path.insert(0, sys.argv[1])
import seed_client
data = open(sys.argv[2], 'rb').read()
res, left = seed_client.old_client(data, 1024, decode=True)
for jpg, st in res:
    print(st, hashlib.sha256(jpg).hexdigest())
print('left', left)
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&client_dir)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("left")).collect();
    assert_eq!(
        lines.len(),
        jpegs.len(),
        "frames seen by the old client:\n{stdout}"
    );
    for (i, (l, j)) in lines.iter().zip(&jpegs).enumerate() {
        assert_eq!(*l, format!("ok {}", hex(&Sha256::digest(j))), "frame {i}");
    }
}
