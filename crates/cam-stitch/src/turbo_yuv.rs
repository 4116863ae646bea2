//! JPEG encoding straight from YCbCr planes with libjpeg-turbo (`tjCompressFromYUVPlanes`).
//!
//! The `turbojpeg` crate 0.5 (the libjpeg-turbo 2.x API that Debian ships) decodes to planes
//! (`decompress_to_yuv`) but has no safe wrapper for the encode from planes, so this module calls
//! the C function through the crate's `raw` bindings. It is the only `unsafe` code of the crate,
//! kept because it removes the colour conversion and chroma downsampling of every panorama
//! encode (measured in the README). Invariants, checked before each call:
//! * the handle is a live compressor from `tjInitCompress`, destroyed once in `Drop`, used
//!   through `&mut self` only (so from one thread at a time);
//! * each plane slice holds at least `tjPlaneSizeYUV` bytes for its component, width, stride,
//!   height and subsampling, so libjpeg-turbo reads inside the slices;
//! * the output buffer holds `tjBufSize` bytes and `TJFLAG_NOREALLOC` is set, so libjpeg-turbo
//!   writes inside it and never frees or reallocates it.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_ulong};

use turbojpeg::raw;

use crate::error::{Result, StitchError};
use crate::yuv::{Subsampling, YuvFrame};

/// A libjpeg-turbo compressor handle for plane input, with its output buffer.
pub(crate) struct PlaneEncoder {
    handle: raw::tjhandle,
    buf: Vec<u8>,
}

// SAFETY: a TurboJPEG handle has no thread affinity; `&mut self` serialises its use.
unsafe impl Send for PlaneEncoder {}

fn samp(s: Subsampling) -> c_int {
    (match s {
        Subsampling::S444 => raw::TJSAMP_TJSAMP_444,
        Subsampling::S422 => raw::TJSAMP_TJSAMP_422,
        Subsampling::S420 => raw::TJSAMP_TJSAMP_420,
        Subsampling::S440 => raw::TJSAMP_TJSAMP_440,
        Subsampling::S411 => raw::TJSAMP_TJSAMP_411,
    }) as c_int
}

impl PlaneEncoder {
    pub(crate) fn new() -> Result<PlaneEncoder> {
        // SAFETY: no arguments; a null result is handled.
        let handle = unsafe { raw::tjInitCompress() };
        if handle.is_null() {
            return Err(StitchError::Encode(
                "libjpeg-turbo: tjInitCompress failed".into(),
            ));
        }
        Ok(PlaneEncoder {
            handle,
            buf: Vec::new(),
        })
    }

    fn error(&self) -> StitchError {
        // SAFETY: the handle is live; libjpeg-turbo returns a pointer to a NUL-terminated
        // string it owns (per handle), valid until the next call on the handle.
        let msg = unsafe {
            let p = raw::tjGetErrorStr2(self.handle);
            if p.is_null() {
                "unknown error".to_string()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        StitchError::Encode(format!("libjpeg-turbo: {msg}"))
    }

    /// Encodes `frame` at `quality` (1..=100) with its own subsampling into `out` (cleared).
    pub(crate) fn encode(
        &mut self,
        frame: &YuvFrame,
        quality: u8,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.clear();
        let too_big =
            || StitchError::Encode(format!("{}x{} is too large", frame.width(), frame.height()));
        let width = c_int::try_from(frame.width()).map_err(|_| too_big())?;
        let height = c_int::try_from(frame.height()).map_err(|_| too_big())?;
        if width == 0 || height == 0 {
            return Err(StitchError::Encode("empty image".into()));
        }
        let sub = samp(frame.subsampling());
        let (y, u, v) = frame.planes();
        let strides = [
            c_int::try_from(frame.y_stride()).map_err(|_| too_big())?,
            c_int::try_from(frame.chroma_stride()).map_err(|_| too_big())?,
            c_int::try_from(frame.chroma_stride()).map_err(|_| too_big())?,
        ];
        for (k, plane) in [y, u, v].iter().enumerate() {
            // SAFETY: pure arithmetic on the arguments.
            let need = unsafe { raw::tjPlaneSizeYUV(k as c_int, width, strides[k], height, sub) };
            if need == c_ulong::MAX || usize::try_from(need).map_or(true, |n| plane.len() < n) {
                return Err(StitchError::Encode(format!(
                    "plane {k} holds {} bytes, libjpeg-turbo needs {need}",
                    plane.len()
                )));
            }
        }
        // SAFETY: pure arithmetic on the arguments.
        let need = unsafe { raw::tjBufSize(width, height, sub) };
        if need == c_ulong::MAX {
            return Err(too_big());
        }
        let need = usize::try_from(need).map_err(|_| too_big())?;
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let mut planes = [y.as_ptr(), u.as_ptr(), v.as_ptr()];
        let mut dst = self.buf.as_mut_ptr();
        let mut len = self.buf.len() as c_ulong;
        // SAFETY: see the module invariants: live handle, planes checked against
        // tjPlaneSizeYUV above, destination of tjBufSize bytes with TJFLAG_NOREALLOC.
        let rc = unsafe {
            raw::tjCompressFromYUVPlanes(
                self.handle,
                planes.as_mut_ptr(),
                width,
                strides.as_ptr(),
                height,
                sub,
                &mut dst,
                &mut len,
                c_int::from(quality.clamp(1, 100)),
                raw::TJFLAG_NOREALLOC as c_int,
            )
        };
        if rc != 0 {
            return Err(self.error());
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let Some(jpeg) = self.buf.get(..len) else {
            return Err(StitchError::Encode(
                "libjpeg-turbo overran its buffer".into(),
            ));
        };
        out.extend_from_slice(jpeg);
        Ok(())
    }
}

impl Drop for PlaneEncoder {
    fn drop(&mut self) {
        // SAFETY: the handle came from tjInitCompress and is destroyed exactly once.
        unsafe {
            raw::tjDestroy(self.handle);
        }
    }
}
