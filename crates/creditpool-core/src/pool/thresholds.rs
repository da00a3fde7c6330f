//! Alerts: the configured thresholds on settled spend (and, with
//! `alerts.on_committed`, on settled plus reserved), each fired once per cycle
//! in ascending order, and the burn-rate projection of exhaustion before the
//! cycle ends.

use super::alerts::{self, Alert, AlertKind};
use super::Pool;

impl Pool {
    fn alert(&self, kind: AlertKind, now: u64) -> Alert {
        Alert {
            pool_id: self.pool_id.clone(),
            kind,
            occurred_at_ms: now,
            cycle: self.state.cycle,
            limit: self.state.limit,
            settled: self.state.settled,
            reserved: self.state.reserved,
        }
    }

    pub(super) fn check_thresholds(&mut self, now: u64) {
        let limit = self.state.limit;
        let settled = self.state.settled;
        while let Some(&p) = self.config.alerts.thresholds_pct.get(self.state.fired.settled as usize) {
            if !alerts::reached(settled, limit, p) {
                break;
            }
            self.state.fired.settled += 1;
            self.events.push_back(self.alert(AlertKind::Threshold { percent: p }, now));
        }
        if !self.config.alerts.on_committed {
            return;
        }
        let committed = self.state.committed();
        while let Some(&p) = self.config.alerts.thresholds_pct.get(self.state.fired.committed as usize) {
            if !alerts::reached(committed, limit, p) {
                break;
            }
            self.state.fired.committed += 1;
            self.events.push_back(self.alert(AlertKind::CommittedThreshold { percent: p }, now));
        }
    }

    pub(super) fn check_projection(&mut self, now: u64) {
        let Some(b) = self.config.alerts.burn_rate else { return };
        if self.state.fired.projection {
            return;
        }
        let s = &self.state;
        if let Some(at_ms) = alerts::projected_exhaustion(s.settled, s.limit, s.cycle, now, b.min_elapsed_ms) {
            self.state.fired.projection = true;
            self.events.push_back(self.alert(AlertKind::ProjectedExhaustion { at_ms }, now));
        }
    }
}
