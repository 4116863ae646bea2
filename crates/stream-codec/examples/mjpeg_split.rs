//! Splits an MJPEG stream (an HTTP body) into its JPEG frames.
//!
//! ```text
//! cargo run --release -p stream-codec --example mjpeg_split -- INPUT [--boundary B] [--raw-jpeg] [--out DIR] [--quiet]
//! ```
//! INPUT is a file holding the HTTP body (bytes after the response head) or `-` for stdin; without
//! `--boundary` the boundary is detected. Prints `INDEX OFFSET LENGTH SHA256` per frame (OFFSET of
//! the JPEG's first byte in the input), then `frames=N truncated=T errors=E` (`--quiet`: only that
//! line). Errors about single parts go to stderr. With `--out`, writes `DIR/000000.jpg`, ... Exits
//! 0 unless the input cannot be read (1), or a frame cannot be written (1).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sha2::{Digest, Sha256};
use stream_codec::{Decoder, DecoderConfig, Error, Frame, Mode};

#[derive(Parser, Debug)]
#[command(about = "Split an MJPEG (multipart/x-mixed-replace) body into JPEG frames")]
struct Args {
    /// File holding the HTTP body, or `-` for stdin.
    input: String,
    /// Boundary (with or without `--`); detected from the body when absent.
    #[arg(long, allow_hyphen_values = true)]
    boundary: Option<String>,
    /// The input is bare concatenated JPEGs (no multipart framing).
    #[arg(long)]
    raw_jpeg: bool,
    /// Write each frame to DIR/000000.jpg, DIR/000001.jpg, ...
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print only the summary line.
    #[arg(long)]
    quiet: bool,
}

struct Sink {
    quiet: bool,
    out: Option<PathBuf>,
    stdout: BufWriter<io::StdoutLock<'static>>,
    frames: u64,
    truncated: u64,
    errors: u64,
}

impl Sink {
    fn take(&mut self, item: Result<Frame, Error>) -> io::Result<()> {
        match item {
            Ok(f) => {
                if !self.quiet {
                    let digest = Sha256::digest(&f.data);
                    write!(
                        self.stdout,
                        "{} {} {} ",
                        self.frames,
                        f.offset,
                        f.data.len()
                    )?;
                    for b in digest {
                        write!(self.stdout, "{b:02x}")?;
                    }
                    writeln!(self.stdout)?;
                }
                if let Some(dir) = &self.out {
                    std::fs::write(dir.join(format!("{:06}.jpg", self.frames)), &f.data)?;
                }
                self.frames += 1;
            }
            Err(e) => {
                if matches!(e, Error::Truncated { .. }) {
                    self.truncated += 1;
                } else {
                    self.errors += 1;
                }
                eprintln!("mjpeg_split: {e}");
            }
        }
        Ok(())
    }
}

/// Maps a regular file (zero-copy input: frames are slices of the mapping).
fn map_file(file: &File) -> Option<bytes::Bytes> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the mapping is read-only and private to this short-lived process; the caller must not
    // truncate or rewrite INPUT while it runs (the same contract as ripgrep's mmap path). Measured:
    // it saves the read() copy of the whole input (see the crate README).
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    Some(bytes::Bytes::from_owner(map))
}

fn run(args: Args) -> Result<(), (String, io::Error)> {
    let mut file = None;
    let mut input: Box<dyn Read> = if args.input == "-" {
        Box::new(io::stdin().lock())
    } else {
        let f = File::open(&args.input).map_err(|e| (format!("cannot open {}", args.input), e))?;
        file = Some(
            f.try_clone()
                .map_err(|e| (format!("cannot open {}", args.input), e))?,
        );
        Box::new(f)
    };
    let config = DecoderConfig {
        mode: if args.raw_jpeg {
            Mode::RawJpeg
        } else {
            Mode::Multipart
        },
        boundary: args.boundary.clone(),
        ..DecoderConfig::default()
    };
    let mut decoder = Decoder::new(config.clone()).unwrap_or_else(|e| {
        eprintln!("mjpeg_split: {e}; detecting the boundary instead");
        Decoder::new(DecoderConfig {
            boundary: None,
            ..config
        })
        .unwrap_or_default()
    });
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| (format!("cannot create {}", dir.display()), e))?;
    }
    let mut sink = Sink {
        quiet: args.quiet,
        out: args.out.clone(),
        stdout: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        frames: 0,
        truncated: 0,
        errors: 0,
    };
    let write_err = |e: io::Error| ("cannot write output".to_string(), e);
    if let Some(map) = file.as_ref().and_then(map_file) {
        // Fed in 8 MiB slices of the mapping: still zero-copy, and the pages are touched in order.
        let mut pos = 0;
        while pos < map.len() {
            let end = (pos + (8 << 20)).min(map.len());
            decoder.push_bytes(map.slice(pos..end));
            pos = end;
            while let Some(item) = decoder.next_frame() {
                sink.take(item).map_err(write_err)?;
            }
        }
    } else {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err((format!("cannot read {}", args.input), e)),
            };
            decoder.push(&buf[..n]);
            while let Some(item) = decoder.next_frame() {
                sink.take(item).map_err(write_err)?;
            }
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_frame() {
        sink.take(item).map_err(write_err)?;
    }
    writeln!(
        sink.stdout,
        "frames={} truncated={} errors={}",
        sink.frames, sink.truncated, sink.errors
    )
    .map_err(write_err)?;
    sink.stdout.flush().map_err(write_err)?;
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err((what, e)) => {
            eprintln!("mjpeg_split: {what}: {e}");
            ExitCode::FAILURE
        }
    }
}
