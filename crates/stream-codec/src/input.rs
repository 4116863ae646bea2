//! The decoders' input queue: pushed `Bytes` chunks kept as they are (zero-copy), plus a small
//! carry-over `BytesMut` for the bytes of a part that spans chunks.
//!
//! The parser sees one contiguous view: the carry-over buffer when it holds anything, else the
//! front chunk. When the parser needs more than the view holds, [`Input::pull_more`] copies the
//! front chunk's rest and then growing steps of the next chunk into the carry-over buffer; once the
//! parser has consumed the carry-over, it reads straight from the chunk again. So only the bytes of
//! parts that span chunk borders are copied (at most about twice), everything else is sliced.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

#[derive(Debug, Default)]
pub(crate) struct Input {
    buf: BytesMut,
    /// Pushed chunks not yet consumed; never holds an empty `Bytes`.
    pending: VecDeque<Bytes>,
    /// Leading bytes of `pending[0]` that were copied to the end of `buf` (0 when `buf` is empty).
    pulled: usize,
    /// Stream offset of `view()[0]`.
    base: u64,
    /// Bytes held and not consumed (each byte counted once).
    len: usize,
}

impl Input {
    pub(crate) fn push_slice(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        if self.pending.is_empty() {
            self.buf.extend_from_slice(data);
        } else {
            self.pending.push_back(Bytes::copy_from_slice(data));
        }
    }

    pub(crate) fn push_bytes(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        self.pending.push_back(data);
    }

    /// Makes the view longer by copying from the pending chunks into the carry-over buffer.
    /// Returns false if there is nothing more to show (all input is in the view).
    pub(crate) fn pull_more(&mut self) -> bool {
        if self.buf.is_empty() {
            // The view is the front chunk: its rest (a partial part) moves to the buffer.
            if self.pending.len() < 2 {
                return false;
            }
            if let Some(front) = self.pending.pop_front() {
                self.buf.extend_from_slice(&front);
            }
            self.pulled = 0;
        }
        while let Some(front) = self.pending.front() {
            let rest = front.len() - self.pulled;
            if rest == 0 {
                self.pending.pop_front();
                self.pulled = 0;
                continue;
            }
            let step = self.buf.len().max(4096).min(rest);
            self.buf
                .extend_from_slice(&front[self.pulled..self.pulled + step]);
            self.pulled += step;
            if self.pulled == front.len() {
                self.pending.pop_front();
                self.pulled = 0;
            }
            return true;
        }
        false
    }

    /// Once the carry-over buffer holds only copies of the front chunk, read the chunk instead.
    fn rebase(&mut self) {
        if self.pulled > 0 && self.buf.len() <= self.pulled {
            if let Some(front) = self.pending.front_mut() {
                front.advance(self.pulled - self.buf.len());
            }
            self.buf.clear();
            self.pulled = 0;
        }
    }

    /// Makes room for a view of `total` bytes (only when the view is the carry-over buffer).
    pub(crate) fn reserve_total(&mut self, total: usize) {
        if !self.buf.is_empty() && self.buf.capacity() < total {
            self.buf.reserve(total - self.buf.len());
        }
    }

    #[inline]
    pub(crate) fn view(&self) -> &[u8] {
        if !self.buf.is_empty() {
            &self.buf
        } else {
            self.pending.front().map_or(&[], |c| &c[..])
        }
    }

    /// All bytes held (the view and what is pending behind it).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Removes and returns the first `n` bytes of the view (zero-copy).
    pub(crate) fn take(&mut self, n: usize) -> Bytes {
        self.base += n as u64;
        self.len -= n;
        if !self.buf.is_empty() {
            let out = self.buf.split_to(n).freeze();
            self.rebase();
            return out;
        }
        match self.pending.front_mut() {
            Some(front) => {
                let out = front.split_to(n);
                if front.is_empty() {
                    self.pending.pop_front();
                }
                out
            }
            None => Bytes::new(),
        }
    }

    /// Drops the first `n` bytes (may reach past the view).
    pub(crate) fn advance(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.base += n as u64;
        self.len -= n;
        let from_buf = n.min(self.buf.len());
        self.buf.advance(from_buf);
        n -= from_buf;
        self.rebase();
        while n > 0 {
            let Some(front) = self.pending.front_mut() else {
                break;
            };
            let k = n.min(front.len());
            front.advance(k);
            n -= k;
            if front.is_empty() {
                self.pending.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_grows_across_chunks_and_returns_to_zero_copy() {
        let mut i = Input::default();
        let a = Bytes::from(vec![1u8; 10_000]);
        let b = Bytes::from(vec![2u8; 100_000]);
        i.push_bytes(a.clone());
        i.push_bytes(b.clone());
        assert_eq!(i.view().as_ptr(), a.as_ptr());
        i.advance(9_000);
        assert!(i.pull_more());
        assert_eq!(i.view().len(), 1_000 + 4_096);
        let t = i.take(1_000 + 4_096);
        assert_eq!(t.len(), 5_096);
        // carry-over consumed: the view is the second chunk again, zero-copy
        assert_eq!(i.view().as_ptr(), b[4_096..].as_ptr());
        // a part that spans, then leftovers that came from the next chunk: back to zero-copy
        let c = Bytes::from(vec![3u8; 50_000]);
        i.push_bytes(c.clone());
        i.advance(100_000 - 4_096 - 10);
        while i.view().len() < 10 + 20_000 {
            assert!(i.pull_more());
        }
        assert_eq!(i.take(10 + 20_000).len(), 20_010);
        assert_eq!(i.view().as_ptr(), c[20_000..].as_ptr());
        assert_eq!(i.len(), 30_000);
        assert!(!i.pull_more());
        i.advance(usize::MAX);
        assert_eq!(i.len(), 0);
        assert_eq!(i.base(), 160_000);
    }
}
