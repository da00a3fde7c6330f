//! Weighted max-min fair division ("water filling").
//!
//! `total` is divided among claimants in proportion to their weights; a claimant
//! whose demand is below its proportional share gets its demand, and what it
//! leaves is divided again among the rest, until every remaining claimant's share
//! is within its demand. Amounts round down, so the shares never add up to more
//! than `total`. The result does not depend on the claimants' order.

use crate::money::Money;

/// One claimant: its weight (at least 1) and the most it can use (`None`: no
/// bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The claimant's weight.
    pub weight: u32,
    /// The most the claimant can use.
    pub demand: Option<Money>,
}

/// Each claimant's weighted max-min fair share of `total`, in `out` (cleared
/// first), in the order of `claims`.
pub fn fair_shares(total: Money, claims: &[Claim], out: &mut Vec<Money>) {
    out.clear();
    out.resize(claims.len(), Money::ZERO);
    let mut settled = vec![false; claims.len()];
    let mut remaining = u128::from(total.nanos());
    loop {
        let weight: u128 = claims.iter().zip(&settled).filter(|(_, s)| !**s).map(|(c, _)| u128::from(c.weight.max(1))).sum();
        if weight == 0 {
            return;
        }
        // Claimants whose demand is below their proportional share take it.
        let mut capped_any = false;
        let mut taken = 0u128;
        for ((c, s), o) in claims.iter().zip(settled.iter_mut()).zip(out.iter_mut()) {
            if *s {
                continue;
            }
            let share = remaining * u128::from(c.weight.max(1)) / weight;
            if let Some(d) = c.demand {
                if u128::from(d.nanos()) <= share {
                    *o = d;
                    *s = true;
                    capped_any = true;
                    taken += u128::from(d.nanos());
                }
            }
        }
        if capped_any {
            remaining = remaining.saturating_sub(taken);
            continue;
        }
        for ((c, s), o) in claims.iter().zip(&settled).zip(out.iter_mut()) {
            if !*s {
                let share = remaining * u128::from(c.weight.max(1)) / weight;
                *o = Money::from_nanos(u64::try_from(share).unwrap_or(u64::MAX));
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u64) -> Money {
        Money::from_nanos(n)
    }

    fn shares(total: u64, claims: &[(u32, Option<u64>)]) -> Vec<u64> {
        let claims: Vec<Claim> = claims.iter().map(|&(weight, d)| Claim { weight, demand: d.map(m) }).collect();
        let mut out = Vec::new();
        fair_shares(m(total), &claims, &mut out);
        out.into_iter().map(Money::nanos).collect()
    }

    #[test]
    fn equal_weights_split_evenly() {
        assert_eq!(shares(100, &[(1, None), (1, None)]), vec![50, 50]);
        assert_eq!(shares(100, &[(1, None), (1, None), (1, None)]), vec![33, 33, 33]);
    }

    #[test]
    fn weights_are_proportional() {
        assert_eq!(shares(100, &[(3, None), (1, None)]), vec![75, 25]);
    }

    #[test]
    fn small_demands_are_met_and_the_rest_redistributed() {
        assert_eq!(shares(100, &[(1, Some(10)), (1, None), (1, None)]), vec![10, 45, 45]);
        assert_eq!(shares(100, &[(1, Some(10)), (1, Some(40)), (1, None)]), vec![10, 40, 50]);
        assert_eq!(shares(100, &[(1, Some(10)), (1, Some(20))]), vec![10, 20]);
    }

    #[test]
    fn order_does_not_matter_and_never_exceeds_total() {
        let a = shares(1_000, &[(2, Some(100)), (5, None), (1, Some(900)), (3, None)]);
        let b = shares(1_000, &[(3, None), (1, Some(900)), (5, None), (2, Some(100))]);
        assert_eq!(a, vec![b[3], b[2], b[1], b[0]]);
        assert!(a.iter().sum::<u64>() <= 1_000);
        assert!(shares(0, &[]).is_empty());
    }
}
