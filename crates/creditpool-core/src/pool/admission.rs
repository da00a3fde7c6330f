//! Admission: whether a reservation is granted (unknown agents, the pool's
//! limit, agent caps, fair share, rate limits, checked in that order), and the
//! settings those rules read (the limit, agent policies).

use super::error::{PoolError, RateLimitKind, Refusal};
use super::reservation::Reservation;
use super::state::{AgentCounters, OpenReservation};
use super::{fairshare, gcra, AgentId, AgentPolicy, FairShareConfig, Pool};
use crate::money::Money;

impl Pool {
    /// Reserves `amount` for `agent` with the configured lease.
    ///
    /// A `now_ms` beyond [`PoolConfig::max_clock_jump_ms`](super::PoolConfig::max_clock_jump_ms)
    /// does not move the pool's clock: the reservation is judged at the latest
    /// time seen. Check [`Pool::check_clock`] first (as [`Pool::apply`] does) to
    /// refuse it with [`PoolError::ClockJump`] instead.
    pub fn reserve(&mut self, agent: &str, amount: Money, now_ms: u64) -> Result<Reservation, Refusal> {
        self.reserve_with_lease(agent, amount, self.config.lease_ms, now_ms)
    }

    /// Reserves `amount` for `agent`, the lease ending `lease_ms` from now (at
    /// least 1 ms).
    pub fn reserve_with_lease(&mut self, agent: &str, amount: Money, lease_ms: u64, now_ms: u64) -> Result<Reservation, Refusal> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        let idx = self.resolve(agent)?.0;
        self.grant(idx, amount, lease_ms, now)
    }

    /// The ID of an agent, adding it (with its configured policy, or the
    /// default) if new and unknown agents are allowed.
    pub fn agent_id(&mut self, agent: &str) -> Result<AgentId, Refusal> {
        self.resolve(agent)
    }

    /// [`Pool::reserve`] for an agent resolved with [`Pool::agent_id`].
    pub fn reserve_for(&mut self, agent: AgentId, amount: Money, now_ms: u64) -> Result<Reservation, Refusal> {
        let now = self.clock(now_ms);
        self.advance(now, None);
        if agent.0 as usize >= self.agents.len() {
            return Err(self.unknown_agent(&format!("#{}", agent.0)));
        }
        self.grant(agent.0, amount, self.config.lease_ms, now)
    }

    fn resolve(&mut self, agent: &str) -> Result<AgentId, Refusal> {
        match self.agents.lookup(agent) {
            Some(i) => Ok(AgentId(i)),
            None if self.config.allows_unknown_agents() => Ok(AgentId(self.agent_index(agent))),
            None => Err(self.unknown_agent(agent)),
        }
    }

    /// The refusal of an agent the pool does not name, listing those it does.
    fn unknown_agent(&self, agent: &str) -> Refusal {
        Refusal::unknown_agent(agent, self.config.agents.keys().map(String::as_str))
    }

    /// Checks the rules and, if they allow it, opens a reservation.
    fn grant(&mut self, idx: u32, amount: Money, lease_ms: u64, now: u64) -> Result<Reservation, Refusal> {
        let (credits, requests) = match self.admit(idx, amount, now) {
            Ok(limiters) => limiters,
            Err(r) => {
                if let Some(a) = self.stats.agent_mut(idx) {
                    a.refusals = a.refusals.saturating_add(1);
                }
                return Err(r);
            }
        };
        let id = self.state.next_reservation_id;
        self.state.next_reservation_id = id.saturating_add(1);
        let expires_at_ms = now.saturating_add(lease_ms.max(1));
        self.state.open.insert(id, OpenReservation { agent: idx, amount, created_at_ms: now, expires_at_ms });
        self.expiry.push(expires_at_ms, id);
        self.wake_at = self.wake_at.min(expires_at_ms);
        self.state.reserved = self.state.reserved.saturating_add(amount);
        if let Some(a) = self.state.agents.get_mut(idx as usize) {
            a.reserved = a.reserved.saturating_add(amount);
            a.last_reserve_ms = Some(now);
            a.credits = credits;
            a.requests = requests;
        }
        if self.config.alerts.on_committed {
            self.check_thresholds(now);
        }
        Ok(Reservation { id, amount, expires_at_ms })
    }

    /// Changes the limit. Lowering it below what is committed loses nothing: new
    /// reservations are refused until there is room. Thresholds that the new
    /// limit puts behind the spend fire now. A `now_ms` beyond the clock-jump
    /// allowance answers [`PoolError::ClockJump`] and changes nothing.
    pub fn set_limit(&mut self, limit: Money, now_ms: u64) -> Result<(), PoolError> {
        self.check_clock(now_ms)?;
        let now = self.clock(now_ms);
        self.advance(now, None);
        self.state.limit = limit;
        self.check_thresholds(now);
        Ok(())
    }

    /// Sets an agent's policy (adding the agent if new). Its counters and rate
    /// buckets carry on under the new policy.
    pub fn set_agent_policy(&mut self, agent: &str, policy: AgentPolicy, now_ms: u64) -> Result<(), PoolError> {
        policy.validate().map_err(|e| PoolError::InvalidConfig { reason: format!("agents.{agent}.{e}") })?;
        self.check_clock(now_ms)?;
        let now = self.clock(now_ms);
        self.advance(now, None);
        let idx = self.agent_index(agent);
        let old = self.agents.policy(idx).clone();
        if let Some(a) = self.state.agents.get_mut(idx as usize) {
            if old.credits_per_minute != policy.credits_per_minute {
                a.credits.tat_rem = 0;
            }
            if old.requests_per_minute != policy.requests_per_minute {
                a.requests.tat_rem = 0;
            }
        }
        self.agents.set_policy(idx, policy.clone());
        self.config.agents.insert(agent.to_owned(), policy);
        Ok(())
    }

    /// The index of an agent, adding it with its configured policy if new.
    pub(super) fn agent_index(&mut self, agent: &str) -> u32 {
        if let Some(i) = self.agents.lookup(agent) {
            return i;
        }
        let policy = self.config.policy_of(agent).clone();
        let i = self.agents.add(agent, policy);
        self.state.agents.push(AgentCounters::new(self.agents.name(i)));
        i
    }

    /// Checks every rule for a reservation; on success, the agent's new limiter
    /// states.
    fn admit(&mut self, idx: u32, amount: Money, now: u64) -> Result<(gcra::GcraState, gcra::GcraState), Refusal> {
        let s = &self.state;
        let committed = s.committed();
        let fits = committed.checked_add(amount).is_some_and(|c| c <= s.limit);
        if !fits {
            return Err(Refusal::PoolExhausted { requested: amount, available: s.available() });
        }
        let Some(a) = s.agents.get(idx as usize) else {
            return Err(self.unknown_agent(&self.agents.name(idx)));
        };
        let policy = self.agents.policy(idx);
        if let Some(cap) = policy.cap {
            let cap = cap.amount(s.limit);
            let used = a.settled.saturating_add(a.reserved);
            if used.checked_add(amount).is_none_or(|u| u > cap) {
                return Err(Refusal::AgentCap { agent: a.name.clone(), cap, spent: a.settled, reserved: a.reserved, requested: amount });
            }
        }
        if let Some(fs) = self.config.fair_share {
            let after = u128::from(committed.nanos()) + u128::from(amount.nanos());
            if after * 100 >= u128::from(fs.when_committed_pct) * u128::from(s.limit.nanos()) {
                self.fair_share_check(idx, amount, now, fs)?;
            }
        }
        let a = match self.state.agents.get(idx as usize) {
            Some(a) => a,
            None => return Err(self.unknown_agent(&self.agents.name(idx))),
        };
        let policy = self.agents.policy(idx);
        let credits = match policy.credits_per_minute {
            Some(rate) => gcra::Gcra::per_minute(rate.nanos()).check(a.credits, amount.nanos(), now),
            None => Ok(a.credits),
        };
        let requests = match policy.requests_per_minute {
            Some(rate) => gcra::Gcra::per_minute(u64::from(rate)).check(a.requests, 1, now),
            None => Ok(a.requests),
        };
        match (credits, requests) {
            (Ok(c), Ok(r)) => Ok((c, r)),
            (c, r) => {
                let (which, retry_at_ms) = match (c.err(), r.err()) {
                    (Some(tc), Some(tr)) if tr > tc => (RateLimitKind::Requests, tr),
                    (Some(tc), _) => (RateLimitKind::Credits, tc),
                    (None, Some(tr)) => (RateLimitKind::Requests, tr),
                    (None, None) => (RateLimitKind::Credits, now),
                };
                Err(Refusal::RateLimited { agent: a.name.clone(), which, retry_at_ms })
            }
        }
    }

    fn fair_share_check(&mut self, idx: u32, amount: Money, now: u64, fs: FairShareConfig) -> Result<(), Refusal> {
        let s = &self.state;
        let limit = s.limit;
        let mut claims = Vec::new();
        let mut me = None;
        for (i, a) in s.agents.iter().enumerate() {
            let recent = a.last_reserve_ms.is_some_and(|t| now < t.saturating_add(fs.active_window_ms));
            if i != idx as usize && a.reserved.is_zero() && !recent {
                continue;
            }
            if i == idx as usize {
                me = Some(claims.len());
            }
            let policy = self.agents.policy(i as u32);
            let demand = policy.cap.map(|c| c.amount(limit).saturating_sub(a.settled));
            claims.push(fairshare::Claim { weight: policy.weight, demand });
        }
        let mut shares = Vec::with_capacity(claims.len());
        fairshare::fair_shares(limit.saturating_sub(s.settled), &claims, &mut shares);
        let share = me.and_then(|i| shares.get(i).copied()).unwrap_or(Money::ZERO);
        let held = s.agents.get(idx as usize).map_or(Money::ZERO, |a| a.reserved);
        if held.checked_add(amount).is_none_or(|h| h > share) {
            return Err(Refusal::FairShare {
                agent: self.agents.name(idx),
                share,
                held,
                requested: amount,
                active_agents: u32::try_from(claims.len()).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }
}
