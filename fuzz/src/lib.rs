//! Helpers shared by the fuzz targets in `fuzz_targets/` (see docs/FUZZING.md).
//!
//! Several targets take a small header before the payload, so that libFuzzer
//! controls the chunking and the size caps as well as the bytes. The header
//! bytes are documented in each target; the seed corpora (written by
//! `examples/make_corpus.rs`) carry them.

use serde_json::Value;

/// Reads a fuzz input from the front: header bytes, then the rest. Every read
/// succeeds: past the end, bytes are zero.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// The next eight bytes, big-endian.
    pub fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }

    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// A size cap from one header byte: `0x00..=0x7F` is that many bytes (tiny
/// caps, to exercise the over-the-cap paths), anything else is `default`.
pub fn cap_from_byte(b: u8, default: usize) -> usize {
    if b < 0x80 {
        usize::from(b)
    } else {
        default
    }
}

/// Splits `data` into chunks as directed by one header byte: `0` is one chunk
/// (the whole input); otherwise chunk lengths are drawn from 1 to `b` by a
/// small generator seeded with `b` and the input's length, so the same input
/// always splits the same way.
pub fn split(data: &[u8], b: u8) -> Vec<&[u8]> {
    if b == 0 {
        return vec![data];
    }
    let mut state = u64::from(b).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (data.len() as u64);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let len = 1 + (r % u64::from(b)) as usize;
        let (head, tail) = rest.split_at(len.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    if out.is_empty() {
        out.push(data);
    }
    out
}

/// Whether two JSON values are equal, numbers compared as numbers: integers
/// exactly, a float against anything within one part in 10^15 (serde_json's
/// default float parsing may be one ULP off a correctly rounded parse, and
/// `-0` may come out as the integer 0 or the float -0.0).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p == q || (p - q).abs() <= 1e-15 * p.abs().max(q.abs()),
                    _ => false,
                }
            } else {
                x == y
            }
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => a == b,
    }
}

/// The input as text: itself if it is UTF-8, else decoded lossily.
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_the_input() {
        let data: Vec<u8> = (0..=255).collect();
        for b in 0..=255u8 {
            let parts = split(&data, b);
            assert_eq!(parts.concat(), data);
            assert!(parts.iter().all(|p| b == 0 || (1..=usize::from(b)).contains(&p.len()) || p.len() == data.len()));
        }
    }
}
