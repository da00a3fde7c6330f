//! Attribution: splitting one request's cost across the conversation and tools.
//!
//! # The model
//!
//! A request's cost is split first by side, then by bytes:
//!
//! * **Sides.** The caller gives the input-side cost (uncached input, cache
//!   writes and reads) and the output-side cost, as priced by
//!   [`crate::pricing`]. Whatever the settled cost holds beyond the two (for
//!   example web-search fees) goes to the conversation. If the two add up to more
//!   than the settled cost, the settled cost is divided between the sides in
//!   their proportion.
//! * **Tool fees.** A fee the price table charges to a tool (code execution's
//!   container time, to the tool `code_execution`) comes out of the cost
//!   beyond the two sides first, and goes to that tool's `use` part (as much
//!   of it as the settled cost holds).
//! * **Input side, by bytes of the request body.** Each tool *definition* is
//!   charged its share of the request's serialized JSON bytes (the overhead that
//!   tool adds to every request), and each `tool_result` block its share; the
//!   rest (messages, system prompt, parameters) is the conversation's.
//! * **Output side, by bytes of the response content.** Each `tool_use` block is
//!   charged its share of the serialized response content; the rest (text,
//!   thinking) is the conversation's.
//!
//! Bytes stand in for tokens: the tokenizer is not public, and byte shares are
//! stable, cheap and identical in every language. Shares are rounded by the
//! *largest-remainder method*: every part gets the floor of its exact share, and
//! the nano-USD left over go one each to the parts with the largest remainders
//! (ties to the earlier part, the conversation first), so that the parts add up
//! exactly to the total. The conversation's weight is the side's total bytes less
//! the tools' bytes (zero if the tools claim more than the total).
//!
//! The agent is the reservation's agent, and the model the one the caller names
//! (the model that answered). A `tool_result` is charged to the tool whose
//! `tool_use` (with the same ID) appears in the request; one without a match is
//! charged to the tool named `"unknown"`.

use super::name::Name;
use crate::api::{ContentBlock, Message, MessageRequest, Usage};
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which part of a request a tool's share comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolPart {
    /// The tool's definition in the request's `tools` (input side).
    Definition,
    /// A `tool_use` block in the response (output side).
    Use,
    /// A `tool_result` block in the request (input side).
    Result,
}

impl ToolPart {
    /// Whether the part is priced on the input side.
    pub fn is_input(self) -> bool {
        matches!(self, ToolPart::Definition | ToolPart::Result)
    }
}

/// One tool's size in one part of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolShare {
    /// The tool's name.
    pub tool: String,
    /// Which part of the request.
    pub part: ToolPart,
    /// Its size in serialized JSON bytes.
    pub bytes: u64,
}

/// What a settled request held, so that its cost can be split (see the module
/// documentation for the model) and its ledger entry written.
///
/// JSON (every field but `model` optional):
/// `{"model": "claude-sonnet-4-5", "request_id": "req_1", "message_id": "msg_1",
/// "usage": {"input_tokens": 10, "output_tokens": 5}, "input_cost": 30000,
/// "output_cost": 75000, "input_bytes": 1200, "output_bytes": 300,
/// "tools": [{"tool": "search", "part": "definition", "bytes": 240}]}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionInput {
    /// The model that answered.
    pub model: String,
    /// The API's `request-id` response header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The message ID (`msg_...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The usage the API reported (for the ledger's token counts).
    #[serde(default)]
    pub usage: Usage,
    /// The input-side cost (uncached input, cache writes, cache reads).
    #[serde(default)]
    pub input_cost: Money,
    /// The output-side cost.
    #[serde(default)]
    pub output_cost: Money,
    /// The request body's size in serialized JSON bytes.
    #[serde(default)]
    pub input_bytes: u64,
    /// The response content's size in serialized JSON bytes.
    #[serde(default)]
    pub output_bytes: u64,
    /// Tools' sizes, by part.
    #[serde(default)]
    pub tools: Vec<ToolShare>,
    /// The cost is the reserved worst case of an attempt the API may have
    /// billed but whose usage is unknown (a cut stream, a timeout, a
    /// cancellation); `usage` then holds what was observed, for a later
    /// reconciliation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    /// Fees charged to a tool outside the two sides (code execution's
    /// container time), each paid to the tool's `use` share in `tools`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<ToolFee>,
}

/// A fee charged to one tool (code execution's container time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolFee {
    /// The tool's name.
    pub tool: String,
    /// The fee.
    pub cost: Money,
}

/// One tool's charge in one part of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCharge {
    /// The tool's name.
    pub tool: Name,
    /// Which part of the request.
    pub part: ToolPart,
    /// The cost charged, in nano-USD.
    pub cost: Money,
}

/// A request's cost, split: the parts add up exactly to the settled cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// What is not charged to a tool.
    pub conversation: Money,
    /// The tools' charges, in the order of the input's `tools`.
    #[serde(default)]
    pub tools: Vec<ToolCharge>,
}

/// A priced cost split by side: the adapter point between [`crate::pricing`] and
/// the pool. The agent loop hands a price table's result to
/// [`AttributionInput::with_cost`] and settles with [`PricedCost::total`].
pub trait PricedCost {
    /// The input-side cost (uncached input, cache writes and reads).
    fn input_cost(&self) -> Money;
    /// The output-side cost.
    fn output_cost(&self) -> Money;
    /// The whole cost to settle (at least the two sides; more with per-use fees).
    fn total(&self) -> Money;
    /// Fees the total holds that belong to one tool (by tool name).
    fn tool_fees(&self) -> Vec<(&'static str, Money)> {
        Vec::new()
    }
    /// Whether part of the total was assumed rather than reported.
    fn estimated(&self) -> bool {
        false
    }
}

/// A cost split by side, as plain money.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostParts {
    /// The input-side cost.
    pub input: Money,
    /// The output-side cost.
    pub output: Money,
    /// Anything else (server-tool fees).
    pub other: Money,
}

impl PricedCost for CostParts {
    fn input_cost(&self) -> Money {
        self.input
    }
    fn output_cost(&self) -> Money {
        self.output
    }
    fn total(&self) -> Money {
        self.input.saturating_add(self.output).saturating_add(self.other)
    }
}

/// Splits `total` in proportion to `weights` by the largest-remainder method:
/// the parts add up exactly to `total` (or all are zero when every weight is).
/// Ties go to the earlier part. Writes into `out`.
pub fn largest_remainder(total: Money, weights: &[u64], out: &mut Vec<Money>) {
    out.clear();
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if sum == 0 {
        out.resize(weights.len(), Money::ZERO);
        return;
    }
    let t = u128::from(total.nanos());
    let mut given = 0u128;
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = t * u128::from(*w);
        let base = exact / sum;
        given += base;
        rems.push((exact % sum, i));
        out.push(Money::from_nanos(u64::try_from(base).unwrap_or(u64::MAX)));
    }
    let left = usize::try_from(t - given).unwrap_or(usize::MAX);
    if left == 0 {
        return;
    }
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(left) {
        if let Some(o) = out.get_mut(i) {
            *o = o.saturating_add(Money::from_nanos(1));
        }
    }
}

/// Counts bytes written, without storing them.
struct ByteCount(u64);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of a value's compact JSON serialization, in bytes.
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> u64 {
    let mut c = ByteCount(0);
    match serde_json::to_writer(&mut c, value) {
        Ok(()) => c.0,
        Err(_) => 0,
    }
}

fn add_share(tools: &mut Vec<ToolShare>, tool: &str, part: ToolPart, bytes: u64) {
    match tools.iter_mut().find(|s| s.part == part && s.tool == tool) {
        Some(s) => s.bytes = s.bytes.saturating_add(bytes),
        None => tools.push(ToolShare { tool: tool.to_owned(), part, bytes }),
    }
}

impl AttributionInput {
    /// An input with only a model (everything goes to the conversation).
    pub fn new(model: impl Into<String>) -> AttributionInput {
        AttributionInput { model: model.into(), ..AttributionInput::default() }
    }

    /// The shares of a request and its response, measured in compact JSON bytes
    /// (see the module documentation). Costs are left at zero: set them with
    /// [`AttributionInput::with_cost`] from the price table's result.
    ///
    /// Shares of the same tool and part are added together, in order of first
    /// appearance: definitions first, then results, then uses. Server tools
    /// count too (their definitions, `server_tool_use` blocks as uses, and
    /// `web_search_tool_result` blocks in the request as results).
    pub fn from_request_and_response(request: &MessageRequest, response: &Message) -> AttributionInput {
        let mut tools = Vec::new();
        for spec in &request.tools {
            add_share(&mut tools, spec.name(), ToolPart::Definition, json_len(spec));
        }
        let mut names: HashMap<&str, &str> = HashMap::new();
        for m in &request.messages {
            for b in m.content.blocks() {
                match b {
                    ContentBlock::ToolUse(t) => {
                        names.insert(&t.id, &t.name);
                    }
                    ContentBlock::ServerToolUse(t) => {
                        names.insert(&t.id, &t.name);
                    }
                    _ => {}
                }
            }
        }
        for m in &request.messages {
            for b in m.content.blocks() {
                let id = match b {
                    ContentBlock::ToolResult(r) => &r.tool_use_id,
                    ContentBlock::WebSearchToolResult(r) => &r.tool_use_id,
                    _ => continue,
                };
                let tool = names.get(id.as_str()).copied().unwrap_or("unknown");
                add_share(&mut tools, tool, ToolPart::Result, json_len(b));
            }
        }
        for b in &response.content {
            match b {
                ContentBlock::ToolUse(t) => add_share(&mut tools, &t.name, ToolPart::Use, json_len(b)),
                ContentBlock::ServerToolUse(t) => add_share(&mut tools, &t.name, ToolPart::Use, json_len(b)),
                _ => {}
            }
        }
        AttributionInput {
            model: response.model.clone(),
            request_id: None,
            message_id: Some(response.id.clone()),
            usage: response.usage.clone(),
            input_cost: Money::ZERO,
            output_cost: Money::ZERO,
            input_bytes: json_len(request),
            output_bytes: json_len(&response.content),
            tools,
            estimated: false,
            fees: Vec::new(),
        }
    }

    /// The same input with the sides' costs from a priced cost, its tool fees
    /// (each gets a `use` share of its tool, if it has none) and its
    /// `estimated` flag.
    pub fn with_cost(mut self, cost: &impl PricedCost) -> AttributionInput {
        self.input_cost = cost.input_cost();
        self.output_cost = cost.output_cost();
        self.fees.clear();
        for (tool, fee) in cost.tool_fees() {
            add_share(&mut self.tools, tool, ToolPart::Use, 0);
            self.fees.push(ToolFee { tool: tool.to_owned(), cost: fee });
        }
        self.estimated |= cost.estimated();
        self
    }

    /// The same input with the API's `request-id`.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> AttributionInput {
        self.request_id = Some(request_id.into());
        self
    }

    /// Splits a settled cost: the conversation's part and each tool's, in the
    /// order of `tools`, adding up exactly to `cost`.
    pub fn split_amounts(&self, cost: Money) -> (Money, Vec<Money>) {
        let mut out = Vec::with_capacity(self.tools.len());
        let conv = self.split_into(cost, &mut out);
        (conv, out)
    }

    /// [`AttributionInput::split_amounts`] with tool names.
    pub fn split(&self, cost: Money) -> Attribution {
        let (conversation, amounts) = self.split_amounts(cost);
        let tools = self
            .tools
            .iter()
            .zip(amounts)
            .map(|(s, cost)| ToolCharge { tool: Name::new(&s.tool), part: s.part, cost })
            .collect();
        Attribution { conversation, tools }
    }

    /// The split, writing tool amounts into `out` (one per tool share); returns
    /// the conversation's part.
    pub(crate) fn split_into(&self, cost: Money, out: &mut Vec<Money>) -> Money {
        out.clear();
        // Sides.
        let (input, output, extra) = match self.input_cost.checked_add(self.output_cost) {
            Some(sum) if sum <= cost => (self.input_cost, self.output_cost, cost.saturating_sub(sum)),
            _ => {
                let mut sides = Vec::with_capacity(2);
                largest_remainder(cost, &[self.input_cost.nanos(), self.output_cost.nanos()], &mut sides);
                let get = |i: usize| sides.get(i).copied().unwrap_or(Money::ZERO);
                (get(0), get(1), Money::ZERO)
            }
        };
        if self.tools.is_empty() {
            return input.saturating_add(output).saturating_add(extra);
        }
        out.resize(self.tools.len(), Money::ZERO);
        // Tool fees first, from the cost beyond the sides.
        let mut extra = extra;
        for fee in &self.fees {
            if let Some(i) = self.tools.iter().position(|s| s.part == ToolPart::Use && s.tool == fee.tool) {
                let paid = fee.cost.min(extra);
                extra = extra.saturating_sub(paid);
                if let Some(o) = out.get_mut(i) {
                    *o = o.saturating_add(paid);
                }
            }
        }
        let mut conversation = extra;
        let mut weights = Vec::with_capacity(self.tools.len() + 1);
        let mut parts = Vec::with_capacity(self.tools.len() + 1);
        for (side_cost, side_bytes, is_input) in [(input, self.input_bytes, true), (output, self.output_bytes, false)] {
            weights.clear();
            weights.push(0);
            let mut tool_bytes = 0u64;
            for s in &self.tools {
                let w = if s.part.is_input() == is_input { s.bytes } else { 0 };
                tool_bytes = tool_bytes.saturating_add(w);
                weights.push(w);
            }
            if let Some(w) = weights.first_mut() {
                *w = side_bytes.saturating_sub(tool_bytes);
            }
            if tool_bytes == 0 && side_bytes == 0 {
                conversation = conversation.saturating_add(side_cost);
                continue;
            }
            largest_remainder(side_cost, &weights, &mut parts);
            let mut it = parts.iter();
            conversation = conversation.saturating_add(it.next().copied().unwrap_or(Money::ZERO));
            for (o, p) in out.iter_mut().zip(it) {
                *o = o.saturating_add(*p);
            }
        }
        conversation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(n: u64) -> Money {
        Money::from_nanos(n)
    }

    fn lr(total: u64, w: &[u64]) -> Vec<u64> {
        let mut out = Vec::new();
        largest_remainder(m(total), w, &mut out);
        out.into_iter().map(Money::nanos).collect()
    }

    #[test]
    fn largest_remainder_sums_exactly() {
        assert_eq!(lr(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(lr(100, &[1, 2]), vec![33, 67]);
        assert_eq!(lr(7, &[0, 0]), vec![0, 0]);
        assert_eq!(lr(u64::MAX, &[u64::MAX, 1]).iter().map(|x| u128::from(*x)).sum::<u128>(), u128::from(u64::MAX));
        assert_eq!(lr(5, &[]), Vec::<u64>::new());
    }

    #[test]
    fn split_by_side_and_bytes() {
        let input = AttributionInput {
            model: "m".into(),
            input_cost: m(1_000),
            output_cost: m(500),
            input_bytes: 1_000,
            output_bytes: 100,
            tools: vec![
                ToolShare { tool: "search".into(), part: ToolPart::Definition, bytes: 200 },
                ToolShare { tool: "search".into(), part: ToolPart::Result, bytes: 300 },
                ToolShare { tool: "search".into(), part: ToolPart::Use, bytes: 50 },
            ],
            ..AttributionInput::default()
        };
        let a = input.split(m(1_600));
        // Input: 500 bytes conversation -> 500, 200 -> 200, 300 -> 300.
        // Output: 50/50 -> 250 each. Extra 100 -> conversation.
        assert_eq!(a.conversation, m(500 + 250 + 100));
        let costs: Vec<u64> = a.tools.iter().map(|t| t.cost.nanos()).collect();
        assert_eq!(costs, vec![200, 300, 250]);
        let total: u64 = a.conversation.nanos() + costs.iter().sum::<u64>();
        assert_eq!(total, 1_600);
    }

    /// A priced cost with a fee for one tool, as code execution's container
    /// time is.
    struct WithFee;
    impl PricedCost for WithFee {
        fn input_cost(&self) -> Money {
            m(600)
        }
        fn output_cost(&self) -> Money {
            m(400)
        }
        fn total(&self) -> Money {
            m(1_000 + 4_166_667)
        }
        fn tool_fees(&self) -> Vec<(&'static str, Money)> {
            vec![("code_execution", m(4_166_667))]
        }
        fn estimated(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_tool_fee_goes_to_the_tool_and_flags_the_cost() {
        let input = AttributionInput { input_bytes: 1_000, output_bytes: 100, ..AttributionInput::new("m") }.with_cost(&WithFee);
        assert!(input.estimated);
        assert_eq!(input.tools, vec![ToolShare { tool: "code_execution".into(), part: ToolPart::Use, bytes: 0 }]);
        let a = input.split(WithFee.total());
        assert_eq!(a.tools.len(), 1);
        assert_eq!((a.tools[0].tool.as_str(), a.tools[0].part, a.tools[0].cost), ("code_execution", ToolPart::Use, m(4_166_667)));
        assert_eq!(a.conversation, m(1_000));
        // A settled cost below the sides plus the fee: the fee gets what is left.
        let short = input.split(m(1_500));
        assert_eq!((short.conversation, short.tools[0].cost), (m(1_000), m(500)));
        // JSON round trip (the pool operation's form).
        let back: AttributionInput = serde_json::from_value(serde_json::to_value(&input).unwrap()).unwrap();
        assert_eq!(back, input);
    }

    #[test]
    fn sides_above_the_cost_are_scaled_down() {
        let input = AttributionInput {
            input_cost: m(300),
            output_cost: m(100),
            input_bytes: 10,
            tools: vec![ToolShare { tool: "t".into(), part: ToolPart::Definition, bytes: 10 }],
            ..AttributionInput::default()
        };
        let a = input.split(m(200));
        assert_eq!(a.tools[0].cost, m(150));
        assert_eq!(a.conversation, m(50));
    }

    #[test]
    fn no_bytes_means_all_conversation() {
        let input = AttributionInput { tools: vec![ToolShare { tool: "t".into(), part: ToolPart::Use, bytes: 0 }], ..AttributionInput::default() };
        let a = input.split(m(77));
        assert_eq!(a.conversation, m(77));
        assert_eq!(a.tools[0].cost, Money::ZERO);
    }

    #[test]
    fn shares_from_a_request_and_response() {
        let req: MessageRequest = serde_json::from_value(json!({
            "model": "claude-sonnet-4-5", "max_tokens": 100,
            "tools": [{"name": "search", "description": "Find.", "input_schema": {"type": "object"}},
                      {"name": "calc", "description": "Add.", "input_schema": {"type": "object"}}],
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "search", "input": {"q": "x"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "found"},
                                             {"type": "tool_result", "tool_use_id": "zzz", "content": "?"}]}
            ]
        }))
        .unwrap();
        let resp: Message = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "tu2", "name": "calc", "input": {"a": 1}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 3}
        }))
        .unwrap();
        let a = AttributionInput::from_request_and_response(&req, &resp);
        assert_eq!(a.model, "claude-sonnet-4-5");
        assert_eq!(a.message_id.as_deref(), Some("msg_1"));
        assert_eq!(a.input_bytes, serde_json::to_vec(&req).unwrap().len() as u64);
        assert_eq!(a.output_bytes, serde_json::to_vec(&resp.content).unwrap().len() as u64);
        let parts: Vec<(&str, ToolPart)> = a.tools.iter().map(|s| (s.tool.as_str(), s.part)).collect();
        assert_eq!(
            parts,
            vec![
                ("search", ToolPart::Definition),
                ("calc", ToolPart::Definition),
                ("search", ToolPart::Result),
                ("unknown", ToolPart::Result),
                ("calc", ToolPart::Use)
            ]
        );
        let tr = json!({"type": "tool_result", "tool_use_id": "tu1", "content": "found"});
        assert_eq!(a.tools[2].bytes, serde_json::to_vec(&tr).unwrap().len() as u64);
        let priced = a.with_cost(&CostParts { input: m(3_000), output: m(1_500), other: m(7) });
        let split = priced.split(m(4_507));
        assert_eq!(split.conversation.nanos() + split.tools.iter().map(|t| t.cost.nanos()).sum::<u64>(), 4_507);
    }
}
