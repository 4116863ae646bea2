//! JPEG marker-segment walking: finds where a JPEG really ends (its EOI) by skipping every marker
//! segment by its length, so an EXIF thumbnail (its own FF D8 .. FF D9 inside APP1) never ends the
//! frame. Resumable: feed it a growing buffer and it continues where it stopped.

/// Progress of a [`JpegWalker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// The JPEG ends after this many bytes (EOI included).
    Complete(usize),
    /// More bytes are needed.
    NeedMore,
    /// The bytes at this position are not a valid marker sequence.
    Corrupt(usize, &'static str),
}

/// Resumable JPEG end finder over a buffer that starts with SOI (`FF D8`).
///
/// ```
/// use stream_codec::jpeg::{JpegWalker, Walk};
/// // SOI, APP1 holding a thumbnail (FF D8 .. FF D9), SOS + entropy data, EOI
/// let jpeg = [
///     0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD8, 0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02, 0x12,
///     0xFF, 0x00, 0x34, 0xFF, 0xD9,
/// ];
/// let mut w = JpegWalker::new();
/// assert_eq!(w.walk(&jpeg[..12]), Walk::NeedMore);
/// assert_eq!(w.walk(&jpeg), Walk::Complete(jpeg.len()));
/// ```
#[derive(Debug, Clone, Default)]
pub struct JpegWalker {
    pos: usize,
    in_scan: bool,
}

impl JpegWalker {
    /// A walker for a JPEG starting at offset 0 of the buffers it will be given.
    pub fn new() -> Self {
        JpegWalker {
            pos: 0,
            in_scan: false,
        }
    }

    /// Walks `data` (the same JPEG's bytes, possibly longer than last time) from where it stopped.
    pub fn walk(&mut self, data: &[u8]) -> Walk {
        if self.pos == 0 {
            if data.len() < 2 {
                return Walk::NeedMore;
            }
            if data[0] != 0xFF || data[1] != 0xD8 {
                return Walk::Corrupt(0, "no SOI");
            }
            self.pos = 2;
        }
        loop {
            if self.in_scan {
                // entropy-coded data: the next marker is FF followed by neither 00, FF nor RSTn
                loop {
                    let Some(i) = data.get(self.pos..).and_then(|d| memchr::memchr(0xFF, d)) else {
                        self.pos = self.pos.max(data.len());
                        return Walk::NeedMore;
                    };
                    let j = self.pos + i;
                    let Some(&m) = data.get(j + 1) else {
                        self.pos = j;
                        return Walk::NeedMore;
                    };
                    match m {
                        0x00 | 0xD0..=0xD7 => self.pos = j + 2,
                        0xFF => self.pos = j + 1,
                        _ => {
                            self.pos = j;
                            self.in_scan = false;
                            break;
                        }
                    }
                }
            }
            let (Some(&ff), Some(&m)) = (data.get(self.pos), data.get(self.pos + 1)) else {
                return Walk::NeedMore;
            };
            if ff != 0xFF {
                return Walk::Corrupt(self.pos, "expected a marker");
            }
            match m {
                0xFF => self.pos += 1, // fill byte
                0xD9 => return Walk::Complete(self.pos + 2),
                0xD8 => return Walk::Corrupt(self.pos, "SOI inside a JPEG"),
                0x00 => return Walk::Corrupt(self.pos, "stuffed byte outside scan data"),
                0x01 | 0xD0..=0xD7 => self.pos += 2,
                _ => {
                    let (Some(&hi), Some(&lo)) = (data.get(self.pos + 2), data.get(self.pos + 3))
                    else {
                        return Walk::NeedMore;
                    };
                    let len = usize::from(u16::from_be_bytes([hi, lo]));
                    if len < 2 {
                        return Walk::Corrupt(self.pos, "segment length below 2");
                    }
                    self.pos += 2 + len;
                    if m == 0xDA {
                        self.in_scan = true;
                    }
                    if self.pos > data.len() {
                        // wait for the rest of the segment; resume at its end
                        return Walk::NeedMore;
                    }
                }
            }
        }
    }

    /// Bytes already walked (how far into the JPEG the walker is).
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// True if `data` is exactly one whole JPEG (SOI .. EOI by marker walk).
///
/// ```
/// assert!(stream_codec::jpeg::is_complete(&[0xFF, 0xD8, 0xFF, 0xD9]));
/// assert!(!stream_codec::jpeg::is_complete(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]));
/// ```
pub fn is_complete(data: &[u8]) -> bool {
    JpegWalker::new().walk(data) == Walk::Complete(data.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_by_byte_equals_whole() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD8,
            0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0xFF, 0xD3, 0x34, 0xFF, 0xFF,
            0xD9,
        ];
        let mut w = JpegWalker::new();
        for n in 0..jpeg.len() {
            assert_eq!(w.walk(&jpeg[..n]), Walk::NeedMore, "prefix {n}");
        }
        assert_eq!(w.walk(&jpeg), Walk::Complete(jpeg.len()));
        assert!(is_complete(&jpeg));
        assert!(!is_complete(&jpeg[..jpeg.len() - 1]));
    }

    #[test]
    fn corrupt() {
        assert!(matches!(
            JpegWalker::new().walk(&[0x00, 0x01]),
            Walk::Corrupt(0, _)
        ));
        assert!(matches!(
            JpegWalker::new().walk(&[0xFF, 0xD8, 0x12, 0x34]),
            Walk::Corrupt(2, _)
        ));
        assert!(matches!(
            JpegWalker::new().walk(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]),
            Walk::Corrupt(2, _)
        ));
    }
}
