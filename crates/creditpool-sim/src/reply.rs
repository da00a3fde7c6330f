//! The message a successful request gets: content from a script or the rule
//! model, stop sequences applied, cut to `max_tokens`, usage filled in.

use crate::rules;
use crate::scenario::ScriptedMessage;
use crate::tokens::{self, CutToolInput};
use creditpool_core::api::{ContentBlock, Message, MessageRequest, Role, StopReason, Usage};

/// A message ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The message, as the JSON endpoint returns it.
    pub message: Message,
    /// A tool call cut by `max_tokens`: streams send its JSON prefix.
    pub cut_tool_input: Option<CutToolInput>,
}

/// Builds the reply to `request` (whose body was `body_len` bytes), from a
/// scripted message or, with `None`, from the rule model. `seq` numbers the
/// IDs.
pub fn build(request: &MessageRequest, body_len: usize, scripted: Option<ScriptedMessage>, seq: u64) -> Reply {
    let from_rules = scripted.is_none();
    let scripted = scripted.unwrap_or_default();
    let mut content = if from_rules { rules::respond(request, seq) } else { scripted.content };
    for (n, block) in content.iter_mut().enumerate() {
        if let ContentBlock::ToolUse(t) = block {
            if t.id.is_empty() {
                t.id = format!("toolu_sim_{seq:06}_{n}");
            }
        }
    }
    let mut stop_reason = scripted.stop_reason;
    let mut stop_sequence = scripted.stop_sequence;
    if from_rules {
        if let Some(seqs) = apply_stop_sequences(&mut content, &request.stop_sequences) {
            stop_reason = Some(StopReason::StopSequence);
            stop_sequence = Some(seqs);
        }
    }
    let max_tokens = request.max_tokens.max(1);
    let cut = tokens::truncate(content, max_tokens);
    let content = cut.content;
    if cut.cut {
        stop_reason = Some(StopReason::MaxTokens);
        stop_sequence = None;
    }
    let stop_reason = stop_reason.unwrap_or(if content.iter().any(|b| matches!(b, ContentBlock::ToolUse(_))) { StopReason::ToolUse } else { StopReason::EndTurn });

    let estimated_output = cut.bytes.div_ceil(tokens::BYTES_PER_TOKEN).max(1);
    let mut usage = scripted.usage.unwrap_or_default();
    let body_cap = (body_len as u64).max(1);
    let scripted_usage = !from_rules && usage != Usage::default();
    if !scripted_usage {
        usage.input_tokens = tokens::input_tokens(request, body_len);
        usage.output_tokens = estimated_output;
        usage.cache_creation_input_tokens = Some(0);
        usage.cache_read_input_tokens = Some(0);
        usage.service_tier = Some("standard".to_owned());
    }
    // The hard rules, whatever a script says.
    usage.input_tokens = usage.input_tokens.min(body_cap);
    usage.output_tokens = usage.output_tokens.min(u64::from(max_tokens));
    if cut.cut {
        usage.output_tokens = usage.output_tokens.max(estimated_output).min(u64::from(max_tokens));
    }
    let mut extra = scripted.extra;
    extra.remove("type");
    extra.remove("role");
    Reply {
        message: Message {
            id: scripted.id.unwrap_or_else(|| format!("msg_sim_{seq:06}")),
            kind: "message".to_owned(),
            role: Role::Assistant,
            model: scripted.model.unwrap_or_else(|| request.model.clone()),
            content,
            stop_reason: Some(stop_reason),
            stop_sequence,
            usage,
            extra,
        },
        cut_tool_input: cut.cut_tool_input,
    }
}

/// Cuts the text at the first stop sequence, dropping what follows; returns
/// the sequence that matched.
fn apply_stop_sequences(content: &mut Vec<ContentBlock>, stops: &[String]) -> Option<String> {
    for i in 0..content.len() {
        let Some(ContentBlock::Text(t)) = content.get_mut(i) else { continue };
        let hit = stops.iter().filter(|s| !s.is_empty()).filter_map(|s| t.text.find(s.as_str()).map(|at| (at, s))).min_by_key(|(at, _)| *at);
        if let Some((at, stop)) = hit {
            t.text.truncate(at);
            let keep = if t.text.is_empty() { i } else { i + 1 };
            content.truncate(keep);
            return Some(stop.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: serde_json::Value) -> MessageRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rule_reply_has_ids_usage_and_stop_reason() {
        let r = request(json!({"model": "claude-x", "max_tokens": 200, "messages": [{"role": "user", "content": "Hello"}]}));
        let reply = build(&r, 500, None, 3);
        let m = reply.message;
        assert_eq!(m.id, "msg_sim_000003");
        assert_eq!(m.model, "claude-x");
        assert_eq!(m.stop_reason, Some(StopReason::EndTurn));
        assert_eq!(m.usage.input_tokens, 2);
        assert_eq!(m.usage.output_tokens, tokens::output_tokens(&m.content));
    }

    #[test]
    fn small_max_tokens_cuts_and_says_so() {
        let r = request(json!({"model": "m", "max_tokens": 3, "messages": [{"role": "user", "content": "Hello"}]}));
        let m = build(&r, 500, None, 1).message;
        assert_eq!(m.stop_reason, Some(StopReason::MaxTokens));
        assert!(m.usage.output_tokens <= 3);
        assert!(m.text().len() <= 12);
    }

    #[test]
    fn scripted_usage_is_capped_by_the_hard_rules() {
        let r = request(json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Hello"}]}));
        let scripted: ScriptedMessage = serde_json::from_value(json!({"content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 99999, "output_tokens": 99999}})).unwrap();
        let m = build(&r, 80, Some(scripted), 1).message;
        assert_eq!((m.usage.input_tokens, m.usage.output_tokens), (80, 5));
    }

    #[test]
    fn stop_sequences_cut_rule_text() {
        let r = request(json!({"model": "m", "max_tokens": 500, "stop_sequences": ["offline"], "messages": [{"role": "user", "content": "Hello"}]}));
        let m = build(&r, 500, None, 1).message;
        assert_eq!(m.stop_reason, Some(StopReason::StopSequence));
        assert_eq!(m.stop_sequence.as_deref(), Some("offline"));
        assert!(!m.text().contains("offline"));
    }
}
