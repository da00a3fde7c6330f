//! Fault injection: at `--fault-rate R`, a request's response is replaced by a
//! 429, a 529, a 500 or a cut stream, drawn from a deterministic generator
//! seeded with `--seed S` (the same seed and the same order of requests give
//! the same faults).

/// A fault that replaces a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 `rate_limit_error` with `retry-after`.
    RateLimit,
    /// 529 `overloaded_error` with `retry-after`.
    Overloaded,
    /// 500 `api_error`.
    ServerError,
    /// HTTP 200, then the connection closes halfway through the body.
    Cut,
}

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
}

impl Faults {
    /// A generator that faults a share `rate` (clamped to 0..=1) of requests.
    pub fn new(rate: f64, seed: u64) -> Faults {
        let rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        Faults { rate, rng: SplitMix64(seed) }
    }

    /// The fault for the next request, if any. Draws nothing when the rate is 0.
    pub fn draw(&mut self) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        if self.rng.next_unit() >= self.rate {
            return None;
        }
        Some(match self.rng.next_u64() % 4 {
            0 => Fault::RateLimit,
            1 => Fault::Overloaded,
            2 => Fault::ServerError,
            _ => Fault::Cut,
        })
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
    fn zero_and_one() {
        let mut none = Faults::new(0.0, 1);
        assert!((0..100).all(|_| none.draw().is_none()));
        let mut all = Faults::new(1.0, 1);
        assert!((0..100).all(|_| all.draw().is_some()));
    }
}
