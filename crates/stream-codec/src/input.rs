//! The decoders' input queue: a carry-over `BytesMut` plus the zero-copy `Bytes` chunk last pushed.
//!
//! Invariant: at most one of `buf` and `chunk` is non-empty. While the caller pushes `Bytes` and
//! every part lies inside one chunk, frames are slices of that chunk (no copy). Bytes that must wait
//! for the next chunk are copied once into `buf`.

use bytes::{Buf, Bytes, BytesMut};

#[derive(Debug, Default)]
pub(crate) struct Input {
    buf: BytesMut,
    chunk: Bytes,
    /// Stream offset of `view()[0]`.
    base: u64,
}

impl Input {
    fn merge_chunk(&mut self) {
        if !self.chunk.is_empty() {
            let chunk = std::mem::take(&mut self.chunk);
            self.buf.extend_from_slice(&chunk);
        }
    }

    pub(crate) fn push_slice(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.merge_chunk();
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn push_bytes(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if self.buf.is_empty() && self.chunk.is_empty() {
            self.chunk = data;
        } else {
            self.merge_chunk();
            self.buf.extend_from_slice(&data);
        }
    }

    /// Makes room for `additional` bytes beyond what is held (only when copying anyway).
    pub(crate) fn reserve_total(&mut self, total: usize) {
        if self.chunk.is_empty() && self.buf.capacity() < total {
            self.buf.reserve(total - self.buf.len());
        }
    }

    #[inline]
    pub(crate) fn view(&self) -> &[u8] {
        if self.chunk.is_empty() {
            &self.buf
        } else {
            &self.chunk
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.chunk.len() + self.buf.len()
    }

    #[inline]
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Removes and returns the first `n` bytes (zero-copy).
    pub(crate) fn take(&mut self, n: usize) -> Bytes {
        self.base += n as u64;
        if self.chunk.is_empty() {
            self.buf.split_to(n).freeze()
        } else {
            self.chunk.split_to(n)
        }
    }

    /// Drops the first `n` bytes.
    pub(crate) fn advance(&mut self, n: usize) {
        self.base += n as u64;
        if self.chunk.is_empty() {
            self.buf.advance(n);
        } else {
            self.chunk.advance(n);
        }
    }
}
