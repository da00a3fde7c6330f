//! Per-model capabilities: request parameters a model answers 400 to.
//!
//! Newer models refuse some parameters outright (Sonnet 5 and later refuse
//! non-default sampling and manual extended thinking; Sonnet 5.5 refuses forced
//! tool use, ...). [`check_request`] refuses such a request before it is sent,
//! so that it costs nothing and the error says why. The rules come from the
//! `capabilities` of each model in the data file; a model the table does not
//! know passes (the API has the last word).

use super::table::{PriceTable, SamplingDefaults};
use crate::api::{MessageRequest, Role, ThinkingConfig, ToolChoice};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A request feature some models refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Feature {
    /// A non-default `temperature`, `top_p` or `top_k`.
    Sampling,
    /// Manual extended thinking: `thinking.type = "enabled"` with a budget.
    ManualThinking,
    /// `thinking.type = "disabled"`.
    ThinkingDisabled,
    /// `tool_choice` `any` or `tool`.
    ForcedToolUse,
    /// A final assistant turn that the model would continue.
    AssistantPrefill,
    /// The `inference_geo` parameter at all.
    InferenceGeo,
}

/// What a model refuses, and why (one reason per refused feature).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capabilities {
    rejects: BTreeMap<Feature, String>,
    temperature_accepts: Vec<f64>,
    top_p_accepts: Vec<f64>,
    sampling_exclusive: bool,
}

impl Capabilities {
    /// Why the model refuses `feature`, or `None` if it accepts it.
    pub fn rejection(&self, feature: Feature) -> Option<&str> {
        self.rejects.get(&feature).map(String::as_str)
    }

    /// Where sampling is refused, the `temperature` values still accepted (its default).
    pub fn temperature_accepts(&self) -> &[f64] {
        &self.temperature_accepts
    }

    /// Where sampling is refused, the `top_p` values still accepted (its default).
    pub fn top_p_accepts(&self) -> &[f64] {
        &self.top_p_accepts
    }

    pub(crate) fn from_spec(spec: Option<&CapabilitiesSpec>, defaults: &SamplingDefaults) -> Result<Capabilities, String> {
        let Some(spec) = spec else {
            return Ok(Capabilities::default());
        };
        if spec.source.trim().is_empty() {
            return Err("capabilities need a source".into());
        }
        let (temperature_accepts, top_p_accepts) = match &spec.sampling_accepts {
            Some(s) => (s.temperature.clone(), s.top_p.clone()),
            None => (defaults.temperature.clone(), defaults.top_p.clone()),
        };
        if (spec.sampling_accepts.is_some() || spec.sampling_exclusive) && !spec.rejects.contains_key(&Feature::Sampling) {
            return Err("sampling_accepts and sampling_exclusive need `sampling` in rejects".into());
        }
        Ok(Capabilities { rejects: spec.rejects.clone(), temperature_accepts, top_p_accepts, sampling_exclusive: spec.sampling_exclusive })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapabilitiesSpec {
    rejects: BTreeMap<Feature, String>,
    #[serde(default)]
    sampling_accepts: Option<SamplingAccepts>,
    #[serde(default)]
    sampling_exclusive: bool,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SamplingAccepts {
    temperature: Vec<f64>,
    top_p: Vec<f64>,
}

/// A request parameter the model would answer 400 to.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CapabilityError {
    /// A sampling parameter (`temperature`, `top_p`, `top_k`) with a value the model refuses.
    #[error("{model} does not accept `{parameter}`; remove it ({reason})")]
    SamplingParameter {
        /// The model ID of the request.
        model: String,
        /// `temperature`, `top_p` or `top_k`.
        parameter: String,
        /// The value sent.
        value: String,
        /// Why, from the capability table.
        reason: String,
    },
    /// `temperature` and `top_p` together, on a model that takes at most one.
    #[error("{model} does not accept `temperature` and `top_p` together; remove one ({reason})")]
    SamplingTogether {
        /// The model ID of the request.
        model: String,
        /// Why, from the capability table.
        reason: String,
    },
    /// Manual extended thinking on a model that only thinks adaptively.
    #[error("{model} does not accept `thinking.type = enabled`; use `{{\"type\": \"adaptive\"}}` with `output_config.effort` instead ({reason})")]
    ManualThinking {
        /// The model ID of the request.
        model: String,
        /// Why, from the capability table.
        reason: String,
    },
    /// `thinking.type = disabled` on a model that always thinks.
    #[error("{model} does not accept `thinking.type = disabled`; remove `thinking` ({reason})")]
    ThinkingDisabled {
        /// The model ID of the request.
        model: String,
        /// Why, from the capability table.
        reason: String,
    },
    /// A forced `tool_choice` on a model that refuses it.
    #[error("{model} does not accept `tool_choice` `{tool_choice}`; use `auto` and ask for the tool in the prompt ({reason})")]
    ForcedToolUse {
        /// The model ID of the request.
        model: String,
        /// `any` or `tool`.
        tool_choice: String,
        /// Why, from the capability table.
        reason: String,
    },
    /// A final assistant turn (prefill) on a model that refuses it.
    #[error("{model} does not accept a final assistant turn (prefill); end `messages` with a user turn ({reason})")]
    AssistantPrefill {
        /// The model ID of the request.
        model: String,
        /// Why, from the capability table.
        reason: String,
    },
    /// `inference_geo` on a model that does not support it.
    #[error("{model} does not accept `inference_geo`; remove it ({reason})")]
    InferenceGeo {
        /// The model ID of the request.
        model: String,
        /// Why, from the capability table.
        reason: String,
    },
}

impl CapabilityError {
    /// A stable, machine-readable name for the kind of error
    /// (`"sampling_parameter"`, `"sampling_together"`, `"manual_thinking"`,
    /// `"thinking_disabled"`, `"forced_tool_use"`, `"assistant_prefill"`,
    /// `"inference_geo"`), shared by every binding.
    pub fn kind(&self) -> &'static str {
        match self {
            CapabilityError::SamplingParameter { .. } => "sampling_parameter",
            CapabilityError::SamplingTogether { .. } => "sampling_together",
            CapabilityError::ManualThinking { .. } => "manual_thinking",
            CapabilityError::ThinkingDisabled { .. } => "thinking_disabled",
            CapabilityError::ForcedToolUse { .. } => "forced_tool_use",
            CapabilityError::AssistantPrefill { .. } => "assistant_prefill",
            CapabilityError::InferenceGeo { .. } => "inference_geo",
        }
    }

    /// The model ID the request named.
    pub fn model(&self) -> &str {
        match self {
            CapabilityError::SamplingParameter { model, .. }
            | CapabilityError::SamplingTogether { model, .. }
            | CapabilityError::ManualThinking { model, .. }
            | CapabilityError::ThinkingDisabled { model, .. }
            | CapabilityError::ForcedToolUse { model, .. }
            | CapabilityError::AssistantPrefill { model, .. }
            | CapabilityError::InferenceGeo { model, .. } => model,
        }
    }
}

/// Checks a request against the built-in capability table: `Ok` if the model
/// is expected to accept it (or is not in the table), else the first parameter
/// it would refuse, with a message that says why and what to do.
pub fn check_request(request: &MessageRequest) -> Result<(), CapabilityError> {
    check_request_with(super::table::builtin_ref(), request)
}

/// [`check_request`] against a given table.
pub fn check_request_with(table: &PriceTable, request: &MessageRequest) -> Result<(), CapabilityError> {
    let Some(facts) = table.facts(&request.model) else {
        return Ok(());
    };
    let caps = &facts.capabilities;
    let model = || request.model.clone();
    if let Some(reason) = caps.rejection(Feature::Sampling) {
        let refuse = |parameter: &str, value: String| CapabilityError::SamplingParameter { model: model(), parameter: parameter.into(), value, reason: reason.into() };
        if let Some(t) = request.temperature {
            if !caps.temperature_accepts.contains(&t) {
                return Err(refuse("temperature", t.to_string()));
            }
        }
        if let Some(p) = request.top_p {
            if !caps.top_p_accepts.contains(&p) {
                return Err(refuse("top_p", p.to_string()));
            }
        }
        if let Some(k) = request.top_k {
            return Err(refuse("top_k", k.to_string()));
        }
        if caps.sampling_exclusive && request.temperature.is_some() && request.top_p.is_some() {
            return Err(CapabilityError::SamplingTogether { model: model(), reason: reason.into() });
        }
    }
    match &request.thinking {
        Some(ThinkingConfig::Enabled(_)) => {
            if let Some(reason) = caps.rejection(Feature::ManualThinking) {
                return Err(CapabilityError::ManualThinking { model: model(), reason: reason.into() });
            }
        }
        Some(ThinkingConfig::Disabled(_)) => {
            if let Some(reason) = caps.rejection(Feature::ThinkingDisabled) {
                return Err(CapabilityError::ThinkingDisabled { model: model(), reason: reason.into() });
            }
        }
        _ => {}
    }
    let forced = match &request.tool_choice {
        Some(ToolChoice::Any(_)) => Some("any"),
        Some(ToolChoice::Tool(_)) => Some("tool"),
        _ => None,
    };
    if let (Some(choice), Some(reason)) = (forced, caps.rejection(Feature::ForcedToolUse)) {
        return Err(CapabilityError::ForcedToolUse { model: model(), tool_choice: choice.into(), reason: reason.into() });
    }
    if request.messages.last().is_some_and(|m| m.role == Role::Assistant) {
        if let Some(reason) = caps.rejection(Feature::AssistantPrefill) {
            return Err(CapabilityError::AssistantPrefill { model: model(), reason: reason.into() });
        }
    }
    if request.inference_geo.is_some() {
        if let Some(reason) = caps.rejection(Feature::InferenceGeo) {
            return Err(CapabilityError::InferenceGeo { model: model(), reason: reason.into() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_matches_the_documented_shape() {
        let mut req = MessageRequest::new("claude-sonnet-5", 100, "hi");
        req.temperature = Some(0.2);
        let err = check_request(&req).unwrap_err();
        assert_eq!(err.to_string(), "claude-sonnet-5 does not accept `temperature`; remove it (Sonnet 5 and later sample adaptively)");
        req.temperature = Some(1.0);
        assert_eq!(check_request(&req), Ok(()));
    }

    #[test]
    fn unknown_models_and_old_models_pass() {
        let mut req = MessageRequest::new("claude-unreleased-9", 100, "hi");
        req.temperature = Some(0.0);
        assert_eq!(check_request(&req), Ok(()));
        req.model = "claude-sonnet-4-6".into();
        assert_eq!(check_request(&req), Ok(()));
    }
}
