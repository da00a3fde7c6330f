//! Tool definitions and `tool_use` inputs, checked before anything runs.
//!
//! Two moments matter in an agent's life with tools:
//!
//! 1. **Before the first request**, the definitions are checked: [`check_tool`]
//!    and [`check_tools`] apply the API's rules (name pattern, description,
//!    `input_schema` shape) and compile each `input_schema` as a JSON Schema, so
//!    that a mistake is a typed [`ToolDefinitionError`] on the caller's machine,
//!    not a 400 from the API after credits were reserved.
//! 2. **Before each tool runs**, the model's `tool_use` input is validated against
//!    the tool's schema: [`ToolSet`] compiles every schema once and
//!    [`ToolSet::check_call`] validates many calls against them. A bad input is a
//!    [`ToolInputError`] that [`ToolInputError::into_tool_result`] turns into an
//!    `is_error` `tool_result` block the model can read and correct, never a crash.
//!
//! # Rules for a custom tool
//!
//! * `name` matches `^[a-zA-Z0-9_-]{1,128}$` ([`MAX_TOOL_NAME_LEN`]). The Messages
//!   API reference (platform.claude.com, "Create a Message", `tools[].name`, 2026)
//!   gives `minLength` 1 and `maxLength` 128; the older tool-use guide states the
//!   pattern `^[a-zA-Z0-9_-]{1,64}$`, from which the character set is taken.
//! * `description` is present and not blank. The API itself accepts a tool without
//!   one, but the model reads it to decide when to call the tool, so creditpool
//!   insists.
//! * `input_schema` is a JSON object with `"type": "object"`, and has no `oneOf`,
//!   `anyOf` or `allOf` at its top level (the API refuses those; they may appear
//!   deeper down).
//! * `input_schema` compiles as a JSON Schema (draft 2020-12 unless its `$schema`
//!   names draft-04, draft-06, draft-07 or 2019-09): every keyword the checker
//!   knows has a value of the shape the draft's meta-schema gives it (`"type":
//!   "strng"` or `"minLength": -1` is refused, with the JSON Pointer of the
//!   keyword), `pattern`s and `patternProperties` keys are regular expressions
//!   the checker supports (ECMA-262 syntax without look-around, backreferences
//!   or `\p{..}` classes), and no chain of `$ref`s or in-place applicators loops
//!   back to itself without descending into the input.
//! * Every `$ref` stays inside the schema: a fragment (`#/$defs/point`), or a URI
//!   whose part before `#` is exactly the `$id` of the schema or of one of its
//!   subschemas. Anything else is an [`ToolDefinitionError::ExternalRef`]: the
//!   core never fetches a schema over the network or from a file (it is sans-I/O
//!   and builds for `wasm32-unknown-unknown`), and a reference to a well-known
//!   meta-schema counts as external too. Values of `enum`, `const`, `default` and
//!   `examples` are data, not schemas, and are not searched for references.
//! * A schema nested more than [`MAX_SCHEMA_DEPTH`] levels deep is refused.
//!
//! Server tools (`web_search_20250305`, ...) are defined by the API; only their
//! names take part in the duplicate check of [`check_tools`].
//!
//! # Input validation
//!
//! The checker is the core's own (`schema.rs`, with `format.rs`), so every
//! language gets the same answers and the same words. It asserts the
//! validation and applicator keywords of the drafts: `type` (`integer` accepts
//! an integral float such as `10.0`), `enum`, `const`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf` (numbers compared
//! exactly, decimals as written), `minLength` / `maxLength` (in Unicode scalar
//! values), `pattern`, `format`, `items`, `prefixItems` (or draft-07's array
//! `items` and `additionalItems`), `contains` / `minContains` / `maxContains`,
//! `minItems`, `maxItems`, `uniqueItems`, `properties`, `patternProperties`,
//! `additionalProperties`, `required`, `dependentRequired`, `dependentSchemas`
//! (draft-07's `dependencies`), `propertyNames`, `minProperties`,
//! `maxProperties`, `allOf`, `anyOf`, `oneOf`, `not`, `if` / `then` / `else`,
//! `unevaluatedProperties`, `unevaluatedItems` and `$ref` (a JSON Pointer
//! fragment, an `$anchor`, or a subschema's `$id`; up to draft-07 a `$ref`
//! hides its siblings, as those drafts say). Unknown keywords are ignored.
//!
//! `format` is asserted for the formats the draft defines: `date-time`,
//! `date`, `time`, `duration`, `email`, `hostname`, `ipv4`, `ipv6`, `uri`,
//! `uri-reference`, `iri`, `iri-reference`, `uri-template`, `json-pointer`,
//! `relative-json-pointer`, `regex`, `uuid` (`duration` and `uuid` from
//! 2019-09 on): a schema that says `"format": "email"` means the tool expects
//! an e-mail address, and catching a wrong one before the tool runs is the
//! point of validating. Other formats (`idn-email`, `idn-hostname`, custom
//! ones) are ignored. All violations are reported (up to
//! [`MAX_REPORTED_VIOLATIONS`]), each with the JSON Pointer of the offending
//! value.
//!
//! Bounds: checking one input descends at most 128 subschema applications
//! deep and takes at most 5,000,000 of them; past either, the input is refused
//! with a violation saying it could not be checked (a hostile input can neither
//! exhaust the stack nor run without end). A schema holds at most 100,000
//! subschemas.
//!
//! A `tool_use` block that was cut off because the response hit `max_tokens` is
//! never run, whatever its partial input looks like: see
//! [`ToolSet::check_call_with`].

mod definition;
mod format;
mod input_error;
mod schema;
mod set;

pub use definition::{check_tool, check_tools, ToolDefinitionError, MAX_SCHEMA_DEPTH, MAX_TOOL_NAME_LEN};
pub use input_error::{
    InputViolation, ToolInputError, MAX_REPORTED_VIOLATIONS, MAX_TOOL_RESULT_TEXT_CHARS, MAX_VIOLATION_MESSAGE_CHARS,
};
pub use set::ToolSet;

/// `s`, cut to at most `max` characters (an ellipsis marks a cut).
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => {
            let keep = s.char_indices().nth(max.saturating_sub(1)).map_or(end, |(i, _)| i);
            let mut out = s.get(..keep).unwrap_or_default().to_owned();
            out.push('…');
            out
        }
    }
}

/// A tool name for a message: quoted, and cut if very long.
pub(crate) fn quoted_name(name: &str) -> String {
    format!("\"{}\"", truncate_chars(name, 2 * MAX_TOOL_NAME_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_strings_and_cuts_long_ones_on_char_boundaries() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
        assert_eq!(truncate_chars("", 0), "");
        assert_eq!(truncate_chars("a", 0), "…");
    }
}
