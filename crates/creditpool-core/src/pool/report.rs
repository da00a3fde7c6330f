//! The report: spend per agent, model and tool for the cycle, the top consumers,
//! a time series in fixed buckets, and which tool definitions cost the most as
//! overhead on every request.
//!
//! The figures come from statistics the pool keeps beside its shared state. They
//! are not needed by any rule, and can be rebuilt from the ledger; a snapshot
//! holds them so that a restored pool reports the same. Lists are sorted by
//! amount (largest first), then by name, so that reports are reproducible.

use super::attribution::{Attribution, AttributionInput, ToolCharge, ToolPart};
use super::cycle::CycleBounds;
use super::ledger::TokenCounts;
use super::name::{Interner, Name};
use super::Pool;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Spend on one model in the cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelStats {
    /// Settled cost.
    pub cost: Money,
    /// Settled requests.
    pub requests: u64,
    /// Tokens by kind.
    pub tokens: TokenCounts,
}

/// Spend on one tool in the cycle, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolStats {
    /// Charged for the tool's definition (overhead on every request).
    pub definition: Money,
    /// Charged for its `tool_use` blocks.
    #[serde(rename = "use")]
    pub uses: Money,
    /// Charged for its `tool_result` blocks.
    pub result: Money,
    /// Requests that carried its definition.
    pub definition_requests: u64,
}

impl ToolStats {
    /// All parts together.
    pub fn total(&self) -> Money {
        self.definition.saturating_add(self.uses).saturating_add(self.result)
    }
}

/// Per-agent activity in the cycle that the rules do not need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentActivity {
    /// Settled requests.
    pub requests: u64,
    /// Refused reservations.
    pub refusals: u64,
}

/// Settled spend in one time bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// The bucket's start, Unix milliseconds: the cycle's start plus a multiple
    /// of the bucket width.
    pub start_ms: u64,
    /// Settled cost.
    pub cost: Money,
    /// Settled requests.
    pub requests: u64,
}

/// A closed cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleSummary {
    /// Its start.
    pub start_ms: u64,
    /// Its end.
    pub end_ms: u64,
    /// The limit when it closed.
    pub limit: Money,
    /// Settled spend.
    pub settled: Money,
    /// Spend beyond reservations.
    pub overrun: Money,
    /// Settled requests.
    pub requests: u64,
    /// Settled spend per agent (agents that spent), largest first.
    pub agents: Vec<Consumer>,
}

/// A name and an amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    /// The agent, tool or model.
    pub name: Name,
    /// The amount.
    pub cost: Money,
}

/// One agent in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentReport {
    /// The agent.
    pub agent: Name,
    /// Settled this cycle.
    pub settled: Money,
    /// Held in open reservations.
    pub reserved: Money,
    /// Settled requests.
    pub requests: u64,
    /// Refused reservations.
    pub refusals: u64,
    /// Its cap this cycle, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Money>,
}

/// One model in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelReport {
    /// The model.
    pub model: Name,
    /// Its figures.
    #[serde(flatten)]
    pub stats: ModelStats,
}

/// One tool in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolReport {
    /// The tool.
    pub tool: Name,
    /// Its figures by part.
    #[serde(flatten)]
    pub stats: ToolStats,
    /// All parts together.
    pub total: Money,
}

/// A tool definition's overhead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolOverhead {
    /// The tool.
    pub tool: Name,
    /// What its definition cost this cycle.
    pub cost: Money,
    /// Requests that carried it.
    pub requests: u64,
    /// The average per request (rounded down).
    pub per_request: Money,
}

/// The largest consumers, at most [`report_top`](super::PoolConfig::report_top)
/// of each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopConsumers {
    /// Agents by settled spend.
    pub agents: Vec<Consumer>,
    /// Tools by total charge.
    pub tools: Vec<Consumer>,
    /// Models by cost.
    pub models: Vec<Consumer>,
}

/// The pool's report for the current cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The pool.
    pub pool_id: Name,
    /// When the report was made.
    pub at_ms: u64,
    /// The cycle.
    pub cycle: CycleBounds,
    /// The current limit.
    pub limit: Money,
    /// Settled spend.
    pub settled: Money,
    /// Open reservations.
    pub reserved: Money,
    /// The limit less settled and reserved.
    pub available: Money,
    /// Spend beyond reservations.
    pub overrun: Money,
    /// Settled requests.
    pub requests: u64,
    /// What was not charged to a tool (or settled without attribution).
    pub conversation: Money,
    /// Every agent active this cycle, by settled spend.
    pub agents: Vec<AgentReport>,
    /// Every model used this cycle, by cost.
    pub models: Vec<ModelReport>,
    /// Every tool charged this cycle, by total.
    pub tools: Vec<ToolReport>,
    /// The top consumers.
    pub top: TopConsumers,
    /// Tool definitions by what they cost as overhead.
    pub definition_overhead: Vec<ToolOverhead>,
    /// The width of the time-series buckets.
    pub bucket_ms: u64,
    /// Settled spend over time, in buckets (only those with settles).
    pub series: Vec<Bucket>,
    /// Closed cycles, oldest first.
    pub history: Vec<CycleSummary>,
}

/// The statistics behind the report (beside the shared state).
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub(crate) models: Interner,
    pub(crate) model_stats: Vec<ModelStats>,
    pub(crate) tools: Interner,
    pub(crate) tool_stats: Vec<ToolStats>,
    pub(crate) agents: Vec<AgentActivity>,
    pub(crate) conversation: Money,
    pub(crate) requests: u64,
    pub(crate) series: Vec<Bucket>,
    pub(crate) history: Vec<CycleSummary>,
    amounts: Vec<Money>,
    /// The last model settled (most settles repeat it).
    last_model: Option<u32>,
}

fn sort_consumers(v: &mut [Consumer]) {
    v.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.name.cmp(&b.name)));
}

impl Stats {
    /// The agent's activity, growing the table as needed.
    pub(crate) fn agent_mut(&mut self, agent: u32) -> Option<&mut AgentActivity> {
        let i = agent as usize;
        if self.agents.len() <= i {
            self.agents.resize(i + 1, AgentActivity::default());
        }
        self.agents.get_mut(i)
    }

    pub(crate) fn agent(&self, agent: u32) -> AgentActivity {
        self.agents.get(agent as usize).copied().unwrap_or_default()
    }

    /// Records a settle: returns the model's name and the split for the ledger.
    /// Spend with no request of its own (a late settle's cost beyond its
    /// expiry's estimate): into the series and the conversation.
    pub(crate) fn add_unattributed(&mut self, at_ms: u64, cycle_start_ms: u64, bucket_ms: u64, cost: Money) {
        let w = bucket_ms.max(1);
        match self.series.last_mut() {
            Some(b) if b.start_ms <= at_ms && at_ms - b.start_ms < w => b.cost = b.cost.saturating_add(cost),
            _ => {
                let start = cycle_start_ms.saturating_add((at_ms.saturating_sub(cycle_start_ms)) / w * w);
                self.series.push(Bucket { start_ms: start, cost, requests: 0 });
            }
        }
        self.conversation = self.conversation.saturating_add(cost);
    }

    pub(crate) fn record_settle(
        &mut self,
        agent: u32,
        at_ms: u64,
        cycle_start_ms: u64,
        bucket_ms: u64,
        cost: Money,
        input: Option<&AttributionInput>,
    ) -> (Option<Name>, Option<TokenCounts>, Option<Attribution>) {
        self.requests = self.requests.saturating_add(1);
        if let Some(a) = self.agent_mut(agent) {
            a.requests = a.requests.saturating_add(1);
        }
        let w = bucket_ms.max(1);
        match self.series.last_mut() {
            // Times only move forward: most settles land in the last bucket.
            Some(b) if b.start_ms <= at_ms && at_ms - b.start_ms < w => {
                b.cost = b.cost.saturating_add(cost);
                b.requests = b.requests.saturating_add(1);
            }
            _ => {
                let start = cycle_start_ms.saturating_add((at_ms.saturating_sub(cycle_start_ms)) / w * w);
                self.series.push(Bucket { start_ms: start, cost, requests: 1 });
            }
        }
        let Some(input) = input else {
            self.conversation = self.conversation.saturating_add(cost);
            return (None, None, None);
        };
        let m = match self.last_model {
            Some(i) if self.models.name(i).is_some_and(|n| n.as_str() == input.model) => i,
            _ => {
                let i = self.models.intern(&input.model);
                self.last_model = Some(i);
                i
            }
        } as usize;
        if self.model_stats.len() <= m {
            self.model_stats.resize(m + 1, ModelStats::default());
        }
        let tokens = TokenCounts::from_usage(&input.usage);
        if let Some(s) = self.model_stats.get_mut(m) {
            s.cost = s.cost.saturating_add(cost);
            s.requests = s.requests.saturating_add(1);
            s.tokens = s.tokens.plus(tokens);
        }
        let model = self.models.name(m as u32).cloned();
        let mut amounts = std::mem::take(&mut self.amounts);
        let conversation = input.split_into(cost, &mut amounts);
        self.conversation = self.conversation.saturating_add(conversation);
        let mut charges = Vec::with_capacity(input.tools.len());
        for (share, amount) in input.tools.iter().zip(&amounts) {
            let t = self.tools.intern(&share.tool) as usize;
            if self.tool_stats.len() <= t {
                self.tool_stats.resize(t + 1, ToolStats::default());
            }
            if let Some(s) = self.tool_stats.get_mut(t) {
                match share.part {
                    ToolPart::Definition => {
                        s.definition = s.definition.saturating_add(*amount);
                        s.definition_requests = s.definition_requests.saturating_add(1);
                    }
                    ToolPart::Use => s.uses = s.uses.saturating_add(*amount),
                    ToolPart::Result => s.result = s.result.saturating_add(*amount),
                }
            }
            if let Some(name) = self.tools.name(t as u32) {
                charges.push(ToolCharge { tool: name.clone(), part: share.part, cost: *amount });
            }
        }
        self.amounts = amounts;
        (model, Some(tokens), Some(Attribution { conversation, tools: charges }))
    }

    /// Closes a cycle: its summary goes to history and the cycle's figures reset.
    pub(crate) fn close_cycle(&mut self, summary: CycleSummary) {
        self.history.push(summary);
        self.model_stats.iter_mut().for_each(|s| *s = ModelStats::default());
        self.tool_stats.iter_mut().for_each(|s| *s = ToolStats::default());
        self.agents.iter_mut().for_each(|s| *s = AgentActivity::default());
        self.conversation = Money::ZERO;
        self.requests = 0;
        self.series.clear();
    }

    pub(crate) fn models(&self) -> impl Iterator<Item = (&Name, &ModelStats)> {
        self.models.names().iter().zip(&self.model_stats)
    }

    pub(crate) fn tools(&self) -> impl Iterator<Item = (&Name, &ToolStats)> {
        self.tools.names().iter().zip(&self.tool_stats)
    }

    /// The model, tool and top-consumer parts of a report.
    pub(crate) fn fill(&self, r: &mut Report, top: usize) {
        r.requests = self.requests;
        r.conversation = self.conversation;
        r.models = self
            .models()
            .filter(|(_, s)| s.requests > 0)
            .map(|(n, s)| ModelReport { model: n.clone(), stats: *s })
            .collect();
        r.models.sort_by(|a, b| b.stats.cost.cmp(&a.stats.cost).then_with(|| a.model.cmp(&b.model)));
        r.tools = self
            .tools()
            .filter(|(_, s)| **s != ToolStats::default())
            .map(|(n, s)| ToolReport { tool: n.clone(), stats: *s, total: s.total() })
            .collect();
        r.tools.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.tool.cmp(&b.tool)));
        r.definition_overhead = self
            .tools()
            .filter(|(_, s)| s.definition_requests > 0)
            .map(|(n, s)| ToolOverhead {
                tool: n.clone(),
                cost: s.definition,
                requests: s.definition_requests,
                per_request: Money::from_nanos(s.definition.nanos() / s.definition_requests.max(1)),
            })
            .collect();
        r.definition_overhead.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.tool.cmp(&b.tool)));
        let mut agents: Vec<Consumer> = r.agents.iter().filter(|a| !a.settled.is_zero()).map(|a| Consumer { name: a.agent.clone(), cost: a.settled }).collect();
        sort_consumers(&mut agents);
        agents.truncate(top);
        let mut tools: Vec<Consumer> = r.tools.iter().map(|t| Consumer { name: t.tool.clone(), cost: t.total }).collect();
        tools.truncate(top);
        let mut models: Vec<Consumer> = r.models.iter().map(|m| Consumer { name: m.model.clone(), cost: m.stats.cost }).collect();
        models.truncate(top);
        r.top = TopConsumers { agents, tools, models };
        r.series = self.series.clone();
        r.history = self.history.clone();
    }
}

impl Pool {
    /// The report for the current cycle, as the books stand after the latest
    /// operation. A read never moves the pool's time: leases due by `now_ms`
    /// are not expired here and no cycle rolls over (call [`Pool::tick`] for
    /// that).
    pub fn report(&self, now_ms: u64) -> Report {
        // A read never moves the pool's time: no expiry, no rollover, and a
        // wild `now_ms` cannot change the books. `at_ms` is the later of
        // `now_ms` and the latest time an operation saw.
        let now = now_ms.max(self.state.last_now_ms);
        let limit = self.state.limit;
        let mut agents: Vec<AgentReport> = self
            .state
            .agents
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let act = self.stats.agent(i as u32);
                let active = !a.settled.is_zero() || !a.reserved.is_zero() || act.requests > 0 || act.refusals > 0;
                active.then(|| AgentReport {
                    agent: a.name.clone(),
                    settled: a.settled,
                    reserved: a.reserved,
                    requests: act.requests,
                    refusals: act.refusals,
                    cap: self.agents.policy(i as u32).cap.map(|c| c.amount(limit)),
                })
            })
            .collect();
        sort_agent_reports(&mut agents);
        let mut r = Report {
            pool_id: self.pool_id.clone(),
            at_ms: now,
            cycle: self.state.cycle,
            limit,
            settled: self.state.settled,
            reserved: self.state.reserved,
            available: self.state.available(),
            overrun: self.state.overrun,
            requests: 0,
            conversation: Money::ZERO,
            agents,
            models: Vec::new(),
            tools: Vec::new(),
            top: TopConsumers::default(),
            definition_overhead: Vec::new(),
            bucket_ms: self.config.report_bucket_ms,
            series: Vec::new(),
            history: Vec::new(),
        };
        self.stats.fill(&mut r, self.config.report_top);
        r
    }
}

pub(crate) fn sort_agent_reports(v: &mut [AgentReport]) {
    v.sort_by(|a, b| b.settled.cmp(&a.settled).then_with(|| a.agent.cmp(&b.agent)));
}

pub(crate) fn summary_agents(mut v: Vec<Consumer>) -> Vec<Consumer> {
    v.retain(|c| !c.cost.is_zero());
    sort_consumers(&mut v);
    v
}
