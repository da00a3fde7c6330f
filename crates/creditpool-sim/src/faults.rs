//! Fault injection: at `--fault-rate R`, a request's response is replaced by a
//! 429, a 529, a 500 or a cut stream (and, when a scenario's `fault_kinds`
//! asks for them, a mid-stream `error` event or an idle stall), drawn from a
//! deterministic generator seeded with `--seed S` (the same seed and the same
//! order of requests give the same faults).

use serde::Deserialize;

/// A fault that replaces a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// 429 `rate_limit_error` with `retry-after`.
    RateLimit,
    /// 529 `overloaded_error` with `retry-after`.
    Overloaded,
    /// 500 `api_error`.
    ServerError,
    /// HTTP 200, then the connection closes halfway through the body.
    Cut,
    /// HTTP 200, then an `overloaded_error` event after the first delta (a
    /// request that does not stream gets a 529).
    StreamError,
    /// HTTP 200, then the stream goes silent for the scenario's
    /// `fault_stall_ms` after the first delta before it goes on (a request
    /// that does not stream waits that long before its answer).
    Stall,
}

/// The kinds drawn when none are named, in the order that maps draws to kinds.
pub const DEFAULT_KINDS: [Fault; 4] = [Fault::RateLimit, Fault::Overloaded, Fault::ServerError, Fault::Cut];

/// SplitMix64 (Steele, Lea and Flood): small, fast, and good enough to pick faults.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in [0, 1) with 53 random bits.
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The fault generator.
#[derive(Clone, Debug)]
pub struct Faults {
    rate: f64,
    rng: SplitMix64,
    kinds: Vec<Fault>,
}

impl Faults {
    /// A generator that faults a share `rate` (clamped to 0..=1) of requests.
    pub fn new(rate: f64, seed: u64) -> Faults {
        let rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        Faults { rate, rng: SplitMix64(seed), kinds: DEFAULT_KINDS.to_vec() }
    }

    /// The same generator drawing, equally likely, from `kinds` (the default
    /// four when empty).
    pub fn with_kinds(mut self, kinds: &[Fault]) -> Faults {
        if !kinds.is_empty() {
            self.kinds = kinds.to_vec();
        }
        self
    }

    /// The fault for the next request, if any. Draws nothing when the rate is 0.
    pub fn draw(&mut self) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        if self.rng.next_unit() >= self.rate {
            return None;
        }
        let n = self.kinds.len().max(1) as u64;
        let i = usize::try_from(self.rng.next_u64() % n).unwrap_or(0);
        self.kinds.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let a: Vec<_> = {
            let mut f = Faults::new(0.5, 42);
            (0..200).map(|_| f.draw()).collect()
        };
        let mut f = Faults::new(0.5, 42);
        let b: Vec<_> = (0..200).map(|_| f.draw()).collect();
        assert_eq!(a, b);
        let mut other = Faults::new(0.5, 43);
        let c: Vec<_> = (0..200).map(|_| other.draw()).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn rate_is_respected_roughly_and_every_kind_occurs() {
        let mut f = Faults::new(0.3, 7);
        let draws: Vec<_> = (0..10_000).map(|_| f.draw()).collect();
        let faulted = draws.iter().filter(|d| d.is_some()).count();
        assert!((2_700..3_300).contains(&faulted), "{faulted}");
        for kind in [Fault::RateLimit, Fault::Overloaded, Fault::ServerError, Fault::Cut] {
            assert!(draws.contains(&Some(kind)), "{kind:?}");
        }
    }

    #[test]
    fn named_kinds_are_the_only_ones_drawn() {
        let mut f = Faults::new(1.0, 9).with_kinds(&[Fault::StreamError, Fault::Stall]);
        let draws: Vec<_> = (0..1_000).map(|_| f.draw().unwrap()).collect();
        assert!(draws.contains(&Fault::StreamError) && draws.contains(&Fault::Stall));
        assert!(draws.iter().all(|d| matches!(d, Fault::StreamError | Fault::Stall)));
        // The default kinds draw as before.
        let mut a = Faults::new(0.5, 3);
        let mut b = Faults::new(0.5, 3).with_kinds(&[]);
        assert!((0..500).all(|_| a.draw() == b.draw()));
    }

    #[test]
    fn zero_and_one() {
        let mut none = Faults::new(0.0, 1);
        assert!((0..100).all(|_| none.draw().is_none()));
        let mut all = Faults::new(1.0, 1);
        assert!((0..100).all(|_| all.draw().is_some()));
    }
}
