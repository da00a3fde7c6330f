//! Scripted scenarios: an ordered list of steps, each consumed by one
//! `/v1/messages` request. The format is documented in `docs/SIMULATOR.md`.
//!
//! A request takes the first step that is not used up and whose `match` (if
//! any) fits the request's `model` and `metadata.user_id`; several agents can
//! so follow scripts of their own. When no step fits, the rule-based model
//! answers.

use crate::SimError;
use creditpool_core::api::{ContentBlock, Extra, StopReason, Usage};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A scenario: steps, and optional settings that override the command line.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario is for (ignored).
    #[serde(default)]
    pub description: Option<String>,
    /// The steps, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Overrides `--fault-rate`.
    #[serde(default)]
    pub fault_rate: Option<f64>,
    /// Overrides `--seed`.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The `retry-after` (seconds) of an injected 429 or 529; default 1.
    #[serde(default)]
    pub fault_retry_after: Option<u64>,
    /// The body field that selects the pool; default `credit_pool`.
    #[serde(default)]
    pub pool_field: Option<String>,
    /// Refuse the pool selector field too, as an API that does not know it
    /// does (400 `<field>: Extra inputs are not permitted`); default false.
    #[serde(default)]
    pub reject_pool_field: bool,
    /// The kinds of fault drawn, equally likely; default the 429, 529, 500
    /// and cut stream.
    #[serde(default)]
    pub fault_kinds: Option<Vec<crate::faults::Fault>>,
    /// How long an injected stall keeps a response silent (ms); default 1000.
    #[serde(default)]
    pub fault_stall_ms: Option<u64>,
}

/// Which requests a step answers. Every field given must equal the request's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The request's `model`.
    #[serde(default)]
    pub model: Option<String>,
    /// The request's `metadata.user_id`.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A `tool_use` block to answer with; the simulator fills the `id` if absent.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedToolUse {
    /// The call's ID.
    #[serde(default)]
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The input; `{}` if absent.
    #[serde(default = "empty_object")]
    pub input: Value,
}

/// One or several values.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One value.
    One(T),
    /// Several values.
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    /// The values, in order.
    pub fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A message to answer with; every field may be left out and is then filled
/// (`id`, `model`, `stop_reason`, `usage`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ScriptedMessage {
    /// The message ID.
    #[serde(default)]
    pub id: Option<String>,
    /// The model; the request's when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// The content blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// The stop reason; `tool_use` when the content calls a tool, else `end_turn`.
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// The stop sequence.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// The usage. Never more than the hard rules allow: input tokens are capped
    /// at the request body's bytes, output tokens at `max_tokens`.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Other fields (`type` and `role` are dropped; the rest is sent).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An HTTP error to answer with.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedError {
    /// The status, 400 to 599.
    pub status: u16,
    /// The `error.type`; the one that goes with the status when absent.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The `error.message`.
    #[serde(default)]
    pub message: Option<String>,
    /// Sent as the `retry-after` header (seconds).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// More headers (for example `x-should-retry`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// An `error` event in the middle of a stream (after HTTP 200).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedStreamError {
    /// How many `content_block_delta` events go before it (default 1). When the
    /// message has fewer, the error comes just before `message_delta`.
    #[serde(default = "one")]
    pub after_deltas: usize,
    /// The `error.type`; default `overloaded_error`.
    #[serde(default = "overloaded", rename = "type")]
    pub kind: String,
    /// The `error.message`.
    #[serde(default)]
    pub message: Option<String>,
}

/// One step of a scenario: what to answer, and how.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Which requests this step answers (all when absent).
    #[serde(default, rename = "match")]
    pub matcher: Option<Match>,
    /// How many requests this step answers (default 1).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Answer with this message.
    #[serde(default)]
    pub message: Option<ScriptedMessage>,
    /// Answer with this text (before any `tool_use`).
    #[serde(default)]
    pub text: Option<String>,
    /// Answer with these tool calls.
    #[serde(default)]
    pub tool_use: Option<OneOrMany<ScriptedToolUse>>,
    /// Answer with this HTTP error.
    #[serde(default)]
    pub error: Option<ScriptedError>,
    /// Wait this long before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Wait this long between stream events (a slow or stalled stream).
    #[serde(default)]
    pub event_delay_ms: u64,
    /// Close the connection after this many body bytes (no `message_stop`).
    #[serde(default)]
    pub cut_after_bytes: Option<usize>,
    /// Send an `error` event mid-stream and end the stream there. A request
    /// that does not stream gets the matching HTTP error instead.
    #[serde(default)]
    pub stream_error: Option<ScriptedStreamError>,
    /// More response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// What a step answers with.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The rule-based model's answer.
    Rule,
    /// A message built from the step.
    Message(Box<ScriptedMessage>),
    /// An HTTP error.
    Error(ScriptedError),
}

impl Step {
    /// What this step answers with (checked by [`Scenario::validate`]).
    pub fn answer(&self) -> Answer {
        if let Some(e) = &self.error {
            return Answer::Error(e.clone());
        }
        if let Some(m) = &self.message {
            return Answer::Message(Box::new(m.clone()));
        }
        if self.text.is_none() && self.tool_use.is_none() {
            return Answer::Rule;
        }
        let mut content = Vec::new();
        if let Some(text) = &self.text {
            content.push(ContentBlock::text(text.clone()));
        }
        for call in self.tool_use.as_ref().map(OneOrMany::to_vec).unwrap_or_default() {
            content.push(ContentBlock::ToolUse(creditpool_core::api::ToolUseBlock {
                id: call.id.unwrap_or_default(),
                name: call.name,
                input: call.input,
                cache_control: None,
                extra: Extra::new(),
            }));
        }
        Answer::Message(Box::new(ScriptedMessage { content, ..ScriptedMessage::default() }))
    }

    fn fits(&self, model: &str, user_id: Option<&str>) -> bool {
        let Some(m) = &self.matcher else { return true };
        m.model.as_deref().is_none_or(|want| want == model) && m.user_id.as_deref().is_none_or(|want| Some(want) == user_id)
    }
}

impl Scenario {
    /// Parses and checks a scenario. `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Scenario, SimError> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| SimError::Scenario { origin: origin.to_owned(), detail: e.to_string() })?;
        scenario.validate().map_err(|detail| SimError::Scenario { origin: origin.to_owned(), detail })?;
        Ok(scenario)
    }

    /// Reads, parses and checks a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Scenario { origin: origin.clone(), detail: e.to_string() })?;
        Scenario::from_json(&text, &origin)
    }

    /// Checks what serde cannot: one kind of answer per step, sane numbers.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(rate) = self.fault_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("fault_rate {rate} is not between 0 and 1"));
            }
        }
        if self.fault_kinds.as_ref().is_some_and(Vec::is_empty) {
            return Err("fault_kinds is an empty list".to_owned());
        }
        if let Some(field) = &self.pool_field {
            if field.is_empty() {
                return Err("pool_field is empty".to_owned());
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            let at = |detail: &str| format!("steps[{i}]: {detail}");
            let kinds = [step.message.is_some(), step.text.is_some() || step.tool_use.is_some(), step.error.is_some()];
            if kinds.iter().filter(|k| **k).count() > 1 {
                return Err(at("give only one of `message`, `text`/`tool_use` and `error`"));
            }
            if let Some(e) = &step.error {
                if !(400..=599).contains(&e.status) {
                    return Err(at(&format!("error status {} is not 400 to 599", e.status)));
                }
                if step.stream_error.is_some() || step.cut_after_bytes.is_some() {
                    return Err(at("an `error` step cannot also cut or fail a stream"));
                }
            }
            if step.repeat == Some(0) {
                return Err(at("repeat must be at least 1"));
            }
            if let Some(OneOrMany::Many(calls)) = &step.tool_use {
                if calls.is_empty() {
                    return Err(at("tool_use is an empty list"));
                }
            }
            for (name, value) in &step.headers {
                if axum::http::HeaderName::try_from(name.as_str()).is_err() || axum::http::HeaderValue::try_from(value.as_str()).is_err() {
                    return Err(at(&format!("header `{name}` is not a valid HTTP header")));
                }
            }
        }
        Ok(())
    }
}

/// A scenario being played: which steps are left.
#[derive(Clone, Debug, Default)]
pub(crate) struct Script {
    steps: Vec<Step>,
    left: Vec<u32>,
}

impl Script {
    /// A script at its first step.
    pub fn new(scenario: &Scenario) -> Script {
        Script { steps: scenario.steps.clone(), left: scenario.steps.iter().map(|s| s.repeat.unwrap_or(1)).collect() }
    }

    /// Takes the first step left that fits the request.
    pub fn take(&mut self, model: &str, user_id: Option<&str>) -> Option<Step> {
        let i = self.steps.iter().zip(&self.left).position(|(s, left)| *left > 0 && s.fits(model, user_id))?;
        let left = self.left.get_mut(i)?;
        *left -= 1;
        self.steps.get(i).cloned()
    }

    /// How many requests the script can still answer.
    pub fn remaining(&self) -> u64 {
        self.left.iter().map(|n| u64::from(*n)).sum()
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn one() -> usize {
    1
}

fn overloaded() -> String {
    "overloaded_error".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_taken_in_order_and_by_match() {
        let s = Scenario::from_json(
            r#"{"steps": [
                {"match": {"user_id": "b"}, "text": "for b"},
                {"text": "first", "repeat": 2},
                {"match": {"model": "m2"}, "error": {"status": 529}}
            ]}"#,
            "test",
        )
        .unwrap();
        let mut script = Script::new(&s);
        assert_eq!(script.remaining(), 4);
        assert_eq!(script.take("m1", Some("a")).unwrap().text.as_deref(), Some("first"));
        assert_eq!(script.take("m1", Some("b")).unwrap().text.as_deref(), Some("for b"));
        assert_eq!(script.take("m1", None).unwrap().text.as_deref(), Some("first"));
        assert!(script.take("m1", None).is_none());
        assert_eq!(script.take("m2", None).unwrap().error.unwrap().status, 529);
        assert_eq!(script.remaining(), 0);
    }

    #[test]
    fn text_and_tool_use_become_a_message() {
        let s = Scenario::from_json(r#"{"steps": [{"text": "Let me look.", "tool_use": {"name": "f", "input": {"q": 1}}}]}"#, "t").unwrap();
        let Answer::Message(m) = s.steps[0].answer() else { panic!("not a message") };
        assert_eq!(m.content.len(), 2);
        assert_eq!(m.content[1].type_tag(), "tool_use");
    }

    #[test]
    fn bad_scenarios_are_refused() {
        for bad in [
            r#"{"steps": [{"text": "a", "error": {"status": 429}}]}"#,
            r#"{"steps": [{"error": {"status": 200}}]}"#,
            r#"{"steps": [{"bogus": 1}]}"#,
            r#"{"steps": [{"repeat": 0}]}"#,
            r#"{"fault_rate": 2, "steps": []}"#,
            r#"{"steps": [{"message": {"content": [{"type": "tool_use", "id": "x"}]}}]}"#,
            r#"{"steps": [{"headers": {"bad header": "x"}}]}"#,
        ] {
            assert!(Scenario::from_json(bad, "t").is_err(), "{bad}");
        }
    }
}
