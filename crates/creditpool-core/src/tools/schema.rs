//! The core's own JSON Schema checker for tool input schemas.
//!
//! [`Schema::compile`] checks a schema (every keyword it knows must have a value
//! of the right shape, as the draft's meta-schema says, patterns must compile,
//! references must resolve inside the document) and turns it into a graph of
//! nodes; [`Schema::check`] validates an input against it and reports every
//! violation with the JSON Pointer of the offending value.
//!
//! Drafts 4, 6, 7, 2019-09 and 2020-12 (the default) are told apart by the root's
//! `$schema`; the keywords are the drafts' validation and applicator
//! vocabularies, `format` is asserted for the formats of [`super::format`], and
//! unknown keywords are ignored. Numbers are compared exactly (a `u64` or `i64`
//! is never rounded through `f64`). Nothing is fetched: a reference resolves to a
//! JSON Pointer or anchor inside the schema, or to a subschema's `$id`.
//!
//! Bounds, so that neither a schema nor an input can exhaust the stack or run
//! without end: the schema document is walked at most [`MAX_WALK_DEPTH`] levels
//! deep (the tool checks refuse more than `MAX_SCHEMA_DEPTH` before this), at
//! most [`MAX_NODES`] subschemas are compiled, a chain of references or
//! in-place applicators (`allOf`, `$ref`, ...) that loops back without descending
//! into the input is refused when compiling, checking descends at most
//! [`MAX_CHECK_DEPTH`] subschema applications deep, and one check takes at most
//! [`MAX_CHECK_STEPS`] subschema applications. Past either of the last two the
//! input is refused with a violation saying so.

use super::format::Format;
use super::input_error::InputViolation;
use super::truncate_chars;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// How deep the schema document is walked while compiling.
pub(crate) const MAX_WALK_DEPTH: usize = 128;
/// The most subschemas one schema may hold.
pub(crate) const MAX_NODES: usize = 100_000;
/// The deepest nesting of subschema applications while checking one input.
pub(crate) const MAX_CHECK_DEPTH: usize = 128;
/// The most subschema applications while checking one input.
pub(crate) const MAX_CHECK_STEPS: u64 = 5_000_000;
/// How much of an offending value a message quotes, in bytes of JSON.
const MAX_QUOTED_BYTES: usize = 400;
/// The largest pattern accepted, in bytes (a compiled pattern's size is bounded too).
const MAX_PATTERN_BYTES: usize = 10_000;

/// JSON Schema drafts, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Draft {
    D4,
    D6,
    D7,
    D2019,
    D2020,
}

impl Draft {
    fn from_uri(uri: &str) -> Option<Draft> {
        let u = uri.trim_end_matches('#');
        let u = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))?;
        Some(match u {
            "json-schema.org/draft-04/schema" => Draft::D4,
            "json-schema.org/draft-06/schema" => Draft::D6,
            "json-schema.org/draft-07/schema" => Draft::D7,
            "json-schema.org/draft/2019-09/schema" => Draft::D2019,
            "json-schema.org/draft/2020-12/schema" => Draft::D2020,
            _ => return None,
        })
    }
}

/// Why a schema does not compile: where (a JSON Pointer into the schema) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SchemaError {
    pub location: String,
    pub detail: String,
}

/// A compiled schema, ready to check many inputs.
#[derive(Clone, Debug)]
pub(crate) struct Schema {
    nodes: Vec<Node>,
}

/// One subschema: `false`, or the keywords it asserts.
#[derive(Clone, Debug, Default)]
struct Node {
    /// The boolean schema `false` (also what an always-failing node becomes).
    never: bool,
    types: Option<Vec<JsonType>>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    minimum: Option<Number>,
    maximum: Option<Number>,
    exclusive_minimum: Option<Number>,
    exclusive_maximum: Option<Number>,
    multiple_of: Option<Number>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<(regex_lite::Regex, String)>,
    format: Option<Format>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    prefix_items: Vec<usize>,
    items: Option<usize>,
    contains: Option<usize>,
    min_contains: Option<u64>,
    max_contains: Option<u64>,
    properties: Vec<(String, usize)>,
    pattern_properties: Vec<(regex_lite::Regex, String, usize)>,
    additional_properties: Option<usize>,
    required: Vec<String>,
    dependent_required: Vec<(String, Vec<String>)>,
    dependent_schemas: Vec<(String, usize)>,
    property_names: Option<usize>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    all_of: Vec<usize>,
    any_of: Vec<usize>,
    one_of: Vec<usize>,
    not: Option<usize>,
    if_then_else: Option<(usize, Option<usize>, Option<usize>)>,
    reference: Option<usize>,
    unevaluated_properties: Option<usize>,
    unevaluated_items: Option<usize>,
    /// The `not` schema as written, for the message.
    not_text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonType {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    String,
    Integer,
}

impl JsonType {
    fn parse(s: &str) -> Option<JsonType> {
        Some(match s {
            "null" => JsonType::Null,
            "boolean" => JsonType::Boolean,
            "object" => JsonType::Object,
            "array" => JsonType::Array,
            "number" => JsonType::Number,
            "string" => JsonType::String,
            "integer" => JsonType::Integer,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Integer => "integer",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (JsonType::Null, Value::Null)
            | (JsonType::Boolean, Value::Bool(_))
            | (JsonType::Object, Value::Object(_))
            | (JsonType::Array, Value::Array(_))
            | (JsonType::Number, Value::Number(_))
            | (JsonType::String, Value::String(_)) => true,
            (JsonType::Integer, Value::Number(n)) => is_integer(n),
            _ => false,
        }
    }
}

fn is_integer(n: &Number) -> bool {
    n.is_u64()
        || n.is_i64()
        || n.as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

// ---------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------

/// Keywords whose values are instance data, not subschemas.
const DATA_KEYWORDS: [&str; 4] = ["enum", "const", "default", "examples"];

struct Compiler<'a> {
    root: &'a Value,
    draft: Draft,
    nodes: Vec<Node>,
    /// Node index of each compiled (or queued) schema location.
    by_pointer: HashMap<String, usize>,
    /// Schema locations whose node index is reserved but not compiled yet.
    queue: Vec<(String, usize)>,
    /// `$id` (without fragment) -> pointer of the schema holding it.
    ids: BTreeMap<String, String>,
    /// `$anchor` (and draft 6/7 `$id: "#name"`) -> pointer.
    anchors: BTreeMap<String, String>,
    /// For each node: the pointer of its schema (for messages).
    pointers: Vec<String>,
    /// For each node: whether it is compiled (or being compiled).
    compiled: Vec<bool>,
}

fn err(location: &str, detail: impl Into<String>) -> SchemaError {
    SchemaError {
        location: location.to_owned(),
        detail: detail.into(),
    }
}

fn push_token(pointer: &str, token: &str) -> String {
    let mut p = String::with_capacity(pointer.len() + token.len() + 1);
    p.push_str(pointer);
    p.push('/');
    for c in token.chars() {
        match c {
            '~' => p.push_str("~0"),
            '/' => p.push_str("~1"),
            c => p.push(c),
        }
    }
    p
}

/// A short JSON rendering of a value, for messages (at most [`MAX_QUOTED_BYTES`]).
pub(crate) fn quote(v: &Value) -> String {
    struct Limited(Vec<u8>);
    impl std::io::Write for Limited {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = MAX_QUOTED_BYTES.saturating_sub(self.0.len());
            if room == 0 {
                return Err(std::io::Error::other("full"));
            }
            let n = room.min(buf.len());
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = Limited(Vec::new());
    let complete = serde_json::to_writer(&mut w, v).is_ok();
    let mut s = String::from_utf8_lossy(&w.0).into_owned();
    if !complete {
        // Cut inside a multi-byte character gives a replacement character: drop it.
        while s.ends_with('\u{FFFD}') {
            s.pop();
        }
        s.push('…');
    }
    s
}

fn quote_str(s: &str) -> String {
    quote(&Value::String(truncate_chars(s, MAX_QUOTED_BYTES)))
}

impl Schema {
    /// Compiles `schema` (a JSON object or boolean).
    pub(crate) fn compile(schema: &Value) -> Result<Schema, SchemaError> {
        let draft = match schema.get("$schema") {
            None => Draft::D2020,
            Some(Value::String(uri)) => Draft::from_uri(uri).ok_or_else(|| {
                err(
                    "/$schema",
                    format!(
                        "{} is not a JSON Schema draft this checker knows (draft-04, draft-06, draft-07, 2019-09 or 2020-12)",
                        quote_str(uri)
                    ),
                )
            })?,
            Some(other) => return Err(err("/$schema", format!("{} is not of type \"string\"", quote(other)))),
        };
        let mut c = Compiler {
            root: schema,
            draft,
            nodes: Vec::new(),
            by_pointer: HashMap::new(),
            queue: Vec::new(),
            ids: BTreeMap::new(),
            anchors: BTreeMap::new(),
            pointers: Vec::new(),
            compiled: Vec::new(),
        };
        c.index(schema, &mut String::new(), 0)?;
        let root = c.reserve("")?;
        c.queue.clear();
        c.compile_into(schema, "", root, 0)?;
        while let Some((pointer, idx)) = c.queue.pop() {
            if c.compiled[idx] {
                continue;
            }
            let Some(value) = resolve_pointer(c.root, &pointer) else {
                return Err(err(&pointer, "a reference points to nothing in the schema"));
            };
            c.compile_into(value, &pointer, idx, 0)?;
        }
        c.check_loops()?;
        Ok(Schema { nodes: c.nodes })
    }
}

/// Decodes `%XX` escapes in a URI fragment.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value at a JSON Pointer (`""` is the whole document).
fn resolve_pointer<'v>(root: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut v = root;
    for raw in pointer.strip_prefix('/')?.split('/') {
        let token = raw.replace("~1", "/").replace("~0", "~");
        v = match v {
            Value::Object(m) => m.get(&token)?,
            Value::Array(a) => {
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                a.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(v)
}

/// Normalises a JSON Pointer (decoded) so that one location has one spelling.
fn canonical_pointer(pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return Some(String::new());
    }
    let rest = pointer.strip_prefix('/')?;
    let mut out = String::new();
    for raw in rest.split('/') {
        let token = raw.replace("~1", "/").replace("~0", "~");
        out = push_token(&out, &token);
    }
    Some(out)
}

impl Compiler<'_> {
    /// Collects `$id`s and anchors (walking what can hold subschemas).
    fn index(&mut self, v: &Value, pointer: &mut String, depth: usize) -> Result<(), SchemaError> {
        if depth > MAX_WALK_DEPTH {
            return Err(err(
                pointer,
                format!("the schema is nested more than {MAX_WALK_DEPTH} levels deep"),
            ));
        }
        match v {
            Value::Object(map) => {
                let id_key = if self.draft == Draft::D4 { "id" } else { "$id" };
                if let Some(Value::String(id)) = map.get(id_key) {
                    match id.split_once('#') {
                        Some(("", anchor)) if self.draft <= Draft::D7 && !anchor.is_empty() => {
                            self.anchors
                                .entry(anchor.to_owned())
                                .or_insert_with(|| pointer.clone());
                        }
                        Some((base, _)) => {
                            self.ids
                                .entry(base.to_owned())
                                .or_insert_with(|| pointer.clone());
                        }
                        None => {
                            self.ids
                                .entry(id.clone())
                                .or_insert_with(|| pointer.clone());
                        }
                    }
                }
                for key in ["$anchor", "$dynamicAnchor", "$recursiveAnchor"] {
                    if let Some(Value::String(a)) = map.get(key) {
                        self.anchors
                            .entry(a.clone())
                            .or_insert_with(|| pointer.clone());
                    }
                }
                for (key, value) in map {
                    if DATA_KEYWORDS.contains(&key.as_str()) {
                        continue;
                    }
                    let len = pointer.len();
                    *pointer = push_token(pointer, key);
                    self.index(value, pointer, depth + 1)?;
                    pointer.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    self.index(item, pointer, depth + 1)?;
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The node index for the schema at `pointer`, reserving one (and queueing
    /// the compile) if it has none yet.
    fn reserve(&mut self, pointer: &str) -> Result<usize, SchemaError> {
        if let Some(&i) = self.by_pointer.get(pointer) {
            return Ok(i);
        }
        if self.nodes.len() >= MAX_NODES {
            return Err(err(
                pointer,
                format!("the schema has more than {MAX_NODES} subschemas"),
            ));
        }
        let i = self.nodes.len();
        self.nodes.push(Node::default());
        self.pointers.push(pointer.to_owned());
        self.compiled.push(false);
        self.by_pointer.insert(pointer.to_owned(), i);
        self.queue.push((pointer.to_owned(), i));
        Ok(i)
    }

    /// Compiles the subschema at `pointer` (structurally nested in the one being compiled).
    fn sub(&mut self, v: &Value, pointer: String, depth: usize) -> Result<usize, SchemaError> {
        if let Some(&i) = self.by_pointer.get(&pointer) {
            // Already reserved by a reference: compile it here unless done.
            if !self.compiled[i] {
                self.compile_into(v, &pointer, i, depth)?;
            }
            return Ok(i);
        }
        if self.nodes.len() >= MAX_NODES {
            return Err(err(
                &pointer,
                format!("the schema has more than {MAX_NODES} subschemas"),
            ));
        }
        let i = self.nodes.len();
        self.nodes.push(Node::default());
        self.pointers.push(pointer.clone());
        self.compiled.push(false);
        self.by_pointer.insert(pointer.clone(), i);
        self.compile_into(v, &pointer, i, depth)?;
        Ok(i)
    }

    fn sub_list(
        &mut self,
        v: &Value,
        pointer: &str,
        keyword: &str,
        depth: usize,
        non_empty: bool,
    ) -> Result<Vec<usize>, SchemaError> {
        let at = push_token(pointer, keyword);
        let Value::Array(items) = v else {
            return Err(err(&at, format!("{} is not of type \"array\"", quote(v))));
        };
        if non_empty && items.is_empty() {
            return Err(err(&at, "[] has less than 1 item"));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.sub(item, format!("{at}/{i}"), depth + 1)?);
        }
        Ok(out)
    }

    fn sub_map(
        &mut self,
        v: &Value,
        pointer: &str,
        keyword: &str,
        depth: usize,
    ) -> Result<Vec<(String, usize)>, SchemaError> {
        let at = push_token(pointer, keyword);
        let Value::Object(map) = v else {
            return Err(err(&at, format!("{} is not of type \"object\"", quote(v))));
        };
        let mut out = Vec::with_capacity(map.len());
        for (k, item) in map {
            out.push((k.clone(), self.sub(item, push_token(&at, k), depth + 1)?));
        }
        Ok(out)
    }

    fn compile_into(
        &mut self,
        v: &Value,
        pointer: &str,
        idx: usize,
        depth: usize,
    ) -> Result<(), SchemaError> {
        if depth > MAX_WALK_DEPTH {
            return Err(err(
                pointer,
                format!("the schema is nested more than {MAX_WALK_DEPTH} levels deep"),
            ));
        }
        self.compiled[idx] = true;
        let map = match v {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => {
                self.nodes[idx].never = true;
                return Ok(());
            }
            Value::Object(map) => map,
            other => {
                return Err(err(
                    pointer,
                    format!(
                        "{} is not of types \"boolean\", \"object\" (a schema)",
                        quote(other)
                    ),
                ));
            }
        };
        let mut node = Node::default();
        let draft = self.draft;
        // Up to draft 7, `$ref` overrides every other keyword of its object.
        let only_ref = draft <= Draft::D7 && map.contains_key("$ref");
        for (key, value) in map {
            if only_ref && key != "$ref" {
                continue;
            }
            let at = push_token(pointer, key);
            match key.as_str() {
                "type" => node.types = Some(parse_types(value, &at)?),
                "enum" => match value {
                    Value::Array(a) => node.enumeration = Some(a.clone()),
                    other => {
                        return Err(err(
                            &at,
                            format!("{} is not of type \"array\"", quote(other)),
                        ))
                    }
                },
                "const" if draft >= Draft::D6 => node.constant = Some(value.clone()),
                "minimum" => node.minimum = Some(number(value, &at)?),
                "maximum" => node.maximum = Some(number(value, &at)?),
                "exclusiveMinimum" | "exclusiveMaximum" if draft == Draft::D4 => {
                    boolean(value, &at)?;
                }
                "exclusiveMinimum" => node.exclusive_minimum = Some(number(value, &at)?),
                "exclusiveMaximum" => node.exclusive_maximum = Some(number(value, &at)?),
                "multipleOf" => {
                    let n = number(value, &at)?;
                    if cmp_numbers(&n, &Number::from(0u64)) != Ordering::Greater {
                        return Err(err(
                            &at,
                            format!("{n} is less than or equal to the minimum of 0"),
                        ));
                    }
                    node.multiple_of = Some(n);
                }
                "minLength" => node.min_length = Some(count(value, &at)?),
                "maxLength" => node.max_length = Some(count(value, &at)?),
                "minItems" => node.min_items = Some(count(value, &at)?),
                "maxItems" => node.max_items = Some(count(value, &at)?),
                "minProperties" => node.min_properties = Some(count(value, &at)?),
                "maxProperties" => node.max_properties = Some(count(value, &at)?),
                "minContains" if draft >= Draft::D2019 => {
                    node.min_contains = Some(count(value, &at)?)
                }
                "maxContains" if draft >= Draft::D2019 => {
                    node.max_contains = Some(count(value, &at)?)
                }
                "uniqueItems" => node.unique_items = boolean(value, &at)?,
                "pattern" => {
                    let p = string(value, &at)?;
                    node.pattern =
                        Some((compile_pattern(p).map_err(|e| err(&at, e))?, p.to_owned()));
                }
                "format" => node.format = Format::for_draft(string(value, &at)?, draft),
                "required" => node.required = string_set(value, &at)?,
                "properties" => node.properties = self.sub_map(value, pointer, key, depth)?,
                "patternProperties" => {
                    for (k, i) in self.sub_map(value, pointer, key, depth)? {
                        let re = compile_pattern(&k).map_err(|e| err(&push_token(&at, &k), e))?;
                        node.pattern_properties.push((re, k, i));
                    }
                }
                "additionalProperties" => {
                    node.additional_properties = Some(self.sub(value, at, depth + 1)?)
                }
                "propertyNames" if draft >= Draft::D6 => {
                    node.property_names = Some(self.sub(value, at, depth + 1)?)
                }
                "dependentRequired" if draft >= Draft::D2019 => {
                    let Value::Object(m) = value else {
                        return Err(err(
                            &at,
                            format!("{} is not of type \"object\"", quote(value)),
                        ));
                    };
                    for (k, names) in m {
                        node.dependent_required
                            .push((k.clone(), string_set(names, &push_token(&at, k))?));
                    }
                }
                "dependentSchemas" if draft >= Draft::D2019 => {
                    node.dependent_schemas = self.sub_map(value, pointer, key, depth)?
                }
                "dependencies" if draft <= Draft::D7 => {
                    let Value::Object(m) = value else {
                        return Err(err(
                            &at,
                            format!("{} is not of type \"object\"", quote(value)),
                        ));
                    };
                    for (k, dep) in m {
                        let dep_at = push_token(&at, k);
                        if dep.is_array() {
                            node.dependent_required
                                .push((k.clone(), string_set(dep, &dep_at)?));
                        } else {
                            let i = self.sub(dep, dep_at, depth + 2)?;
                            node.dependent_schemas.push((k.clone(), i));
                        }
                    }
                }
                "items" => {
                    if value.is_array() && draft <= Draft::D2019 {
                        node.prefix_items = self.sub_list(value, pointer, key, depth, false)?;
                    } else {
                        node.items = Some(self.sub(value, at, depth + 1)?);
                    }
                }
                "prefixItems" if draft >= Draft::D2020 => {
                    node.prefix_items = self.sub_list(value, pointer, key, depth, true)?
                }
                "contains" if draft >= Draft::D6 => {
                    node.contains = Some(self.sub(value, at, depth + 1)?)
                }
                "allOf" => node.all_of = self.sub_list(value, pointer, key, depth, true)?,
                "anyOf" => node.any_of = self.sub_list(value, pointer, key, depth, true)?,
                "oneOf" => node.one_of = self.sub_list(value, pointer, key, depth, true)?,
                "not" => {
                    node.not = Some(self.sub(value, at, depth + 1)?);
                    node.not_text = quote(value);
                }
                "unevaluatedProperties" if draft >= Draft::D2019 => {
                    node.unevaluated_properties = Some(self.sub(value, at, depth + 1)?);
                }
                "unevaluatedItems" if draft >= Draft::D2019 => {
                    node.unevaluated_items = Some(self.sub(value, at, depth + 1)?)
                }
                "$ref" => {
                    let r = string(value, &at)?;
                    let target = self.resolve_ref(r).ok_or_else(|| {
                        err(
                            &at,
                            format!(
                                "the reference {} points to nothing in the schema",
                                quote_str(r)
                            ),
                        )
                    })?;
                    node.reference = Some(self.reserve(&target)?);
                }
                "$dynamicRef" if draft >= Draft::D2020 => {
                    let r = string(value, &at)?;
                    let target = self.resolve_ref(r).ok_or_else(|| {
                        err(
                            &at,
                            format!(
                                "the reference {} points to nothing in the schema",
                                quote_str(r)
                            ),
                        )
                    })?;
                    node.all_of.push(self.reserve(&target)?);
                }
                "$recursiveRef" if draft == Draft::D2019 => {
                    let r = string(value, &at)?;
                    let target = self.resolve_ref(r).ok_or_else(|| {
                        err(
                            &at,
                            format!(
                                "the reference {} points to nothing in the schema",
                                quote_str(r)
                            ),
                        )
                    })?;
                    node.all_of.push(self.reserve(&target)?);
                }
                "$defs" | "definitions" => {
                    // Compiled (so checked) even when nothing refers to them.
                    self.sub_map(value, pointer, key, depth)?;
                }
                "$schema" | "$id" | "$anchor" | "$dynamicAnchor" | "$comment" | "title"
                | "description" | "contentMediaType" | "contentEncoding" => {
                    string(value, &at)?;
                }
                "$recursiveAnchor" | "readOnly" | "writeOnly" | "deprecated" => {
                    boolean(value, &at)?;
                }
                "examples" if !value.is_array() => {
                    return Err(err(
                        &at,
                        format!("{} is not of type \"array\"", quote(value)),
                    ));
                }
                _ => {}
            }
        }
        // `if` applies only with `then` or `else` beside it (alone it asserts nothing).
        if draft >= Draft::D7 && !only_ref {
            if let Some(cond) = map.get("if") {
                let i = self.sub(cond, push_token(pointer, "if"), depth + 1)?;
                let then = map
                    .get("then")
                    .map(|t| self.sub(t, push_token(pointer, "then"), depth + 1))
                    .transpose()?;
                let otherwise = map
                    .get("else")
                    .map(|e| self.sub(e, push_token(pointer, "else"), depth + 1))
                    .transpose()?;
                node.if_then_else = Some((i, then, otherwise));
            } else {
                for key in ["then", "else"] {
                    if let Some(s) = map.get(key) {
                        self.sub(s, push_token(pointer, key), depth + 1)?;
                    }
                }
            }
        }
        // Up to 2019-09, `additionalItems` applies past an array-form `items`.
        if draft <= Draft::D2019 && !only_ref && map.get("items").is_some_and(Value::is_array) {
            if let Some(extra) = map.get("additionalItems") {
                node.items =
                    Some(self.sub(extra, push_token(pointer, "additionalItems"), depth + 1)?);
            }
        }
        if draft == Draft::D4 && !only_ref {
            // Draft 4: `exclusiveMinimum: true` makes `minimum` exclusive.
            if map.get("exclusiveMinimum") == Some(&Value::Bool(true)) {
                node.exclusive_minimum = node.minimum.take();
            }
            if map.get("exclusiveMaximum") == Some(&Value::Bool(true)) {
                node.exclusive_maximum = node.maximum.take();
            }
        }
        self.nodes[idx] = node;
        Ok(())
    }

    /// The canonical pointer a reference designates, if it stays in the schema.
    fn resolve_ref(&self, r: &str) -> Option<String> {
        let (resource, fragment) = r.split_once('#').unwrap_or((r, ""));
        let base = if resource.is_empty() {
            String::new()
        } else {
            self.ids.get(resource)?.clone()
        };
        let fragment = percent_decode(fragment)?;
        let target = if fragment.is_empty() {
            base
        } else if fragment.starts_with('/') {
            format!("{base}{}", canonical_pointer(&fragment)?)
        } else {
            self.anchors.get(&fragment)?.clone()
        };
        resolve_pointer(self.root, &target)?;
        Some(target)
    }

    /// Refuses loops of references and in-place applicators: checking one would
    /// apply the same subschema to the same value without end.
    fn check_loops(&self) -> Result<(), SchemaError> {
        let n = self.nodes.len();
        let edges = |node: &Node| -> Vec<usize> {
            let mut e: Vec<usize> = node
                .all_of
                .iter()
                .chain(&node.any_of)
                .chain(&node.one_of)
                .copied()
                .collect();
            e.extend(node.not);
            e.extend(node.reference);
            if let Some((i, t, el)) = node.if_then_else {
                e.push(i);
                e.extend(t);
                e.extend(el);
            }
            e.extend(node.dependent_schemas.iter().map(|(_, s)| *s));
            e
        };
        // 0 = unseen, 1 = on the stack, 2 = done. Iterative DFS.
        let mut state = vec![0u8; n];
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, Vec<usize>, usize)> =
                vec![(start, edges(&self.nodes[start]), 0)];
            state[start] = 1;
            while let Some((node, next, pos)) = stack.last_mut() {
                if let Some(&t) = next.get(*pos) {
                    *pos += 1;
                    match state[t] {
                        0 => {
                            state[t] = 1;
                            let e = edges(&self.nodes[t]);
                            stack.push((t, e, 0));
                        }
                        1 => {
                            let _ = node;
                            return Err(err(
                                &self.pointers[t],
                                "this subschema applies itself again (through $ref or allOf/anyOf/oneOf/not/if) without descending into the input, so checking would never end",
                            ));
                        }
                        _ => {}
                    }
                } else {
                    state[*node] = 2;
                    stack.pop();
                }
            }
        }
        Ok(())
    }
}

fn parse_types(v: &Value, at: &str) -> Result<Vec<JsonType>, SchemaError> {
    let bad = |t: &Value| {
        err(at, format!("{} is not one of the JSON Schema types (\"null\", \"boolean\", \"object\", \"array\", \"number\", \"string\" or \"integer\")", quote(t)))
    };
    match v {
        Value::String(s) => Ok(vec![JsonType::parse(s).ok_or_else(|| bad(v))?]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for t in items {
                let ty = t.as_str().and_then(JsonType::parse).ok_or_else(|| bad(t))?;
                if out.contains(&ty) {
                    return Err(err(at, format!("{} has non-unique elements", quote(v))));
                }
                out.push(ty);
            }
            Ok(out)
        }
        other => Err(bad(other)),
    }
}

fn number(v: &Value, at: &str) -> Result<Number, SchemaError> {
    match v {
        Value::Number(n) => Ok(n.clone()),
        other => Err(err(
            at,
            format!("{} is not of type \"number\"", quote(other)),
        )),
    }
}

/// A non-negative integer (an integral float such as `2.0` counts).
fn count(v: &Value, at: &str) -> Result<u64, SchemaError> {
    if let Value::Number(n) = v {
        if let Some(u) = n.as_u64() {
            return Ok(u);
        }
        if n.is_i64() {
            return Err(err(at, format!("{n} is less than the minimum of 0")));
        }
        if let Some(f) = n.as_f64() {
            if f.fract() == 0.0 && f >= 0.0 {
                return Ok(if f >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    f as u64
                });
            }
            if f < 0.0 {
                return Err(err(at, format!("{n} is less than the minimum of 0")));
            }
        }
    }
    Err(err(at, format!("{} is not of type \"integer\"", quote(v))))
}

fn boolean(v: &Value, at: &str) -> Result<bool, SchemaError> {
    v.as_bool()
        .ok_or_else(|| err(at, format!("{} is not of type \"boolean\"", quote(v))))
}

fn string<'v>(v: &'v Value, at: &str) -> Result<&'v str, SchemaError> {
    v.as_str()
        .ok_or_else(|| err(at, format!("{} is not of type \"string\"", quote(v))))
}

fn string_set(v: &Value, at: &str) -> Result<Vec<String>, SchemaError> {
    let Value::Array(items) = v else {
        return Err(err(at, format!("{} is not of type \"array\"", quote(v))));
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let s = string(item, &format!("{at}/{i}"))?;
        if !seen.insert(s) {
            return Err(err(at, format!("{} has non-unique elements", quote(v))));
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

/// Compiles an ECMA-262 pattern with the small regex engine (`regex-lite`,
/// linear-time matching). Look-around, backreferences and Unicode property
/// classes (`\p{..}`) are not supported and refused with the engine's reason.
pub(crate) fn compile_pattern(pattern: &str) -> Result<regex_lite::Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "the pattern is longer than {MAX_PATTERN_BYTES} bytes"
        ));
    }
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .nest_limit(64)
        .build()
        .map_err(|e| {
            let reason = e.to_string();
            let reason = reason
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .trim_start_matches("error: ");
            format!(
                "{} is not a supported regular expression: {reason}",
                quote_str(pattern)
            )
        })
}

// ---------------------------------------------------------------------------
// Numbers and equality
// ---------------------------------------------------------------------------

enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &Number) -> Num {
    if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Compares an integer with a float exactly.
fn cmp_int_float(i: i128, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    if f >= 1.7e38 {
        return Ordering::Less;
    }
    if f <= -1.7e38 {
        return Ordering::Greater;
    }
    let t = f.trunc();
    // |t| < 2^127, so the conversion is exact.
    match i.cmp(&(t as i128)) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

/// Compares two JSON numbers exactly.
pub(crate) fn cmp_numbers(a: &Number, b: &Number) -> Ordering {
    match (num(a), num(b)) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).reverse(),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// A number as an exact decimal `mantissa * 10^exp`, from its shortest
/// round-trip text (so `0.1` is one tenth, as written, not the binary double).
fn decimal(n: &Number) -> Option<(u128, i32)> {
    if let Num::Int(i) = num(n) {
        return Some((i.unsigned_abs(), 0));
    }
    let f = n.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    let text = format!("{:e}", f.abs());
    let (mant, exp) = text.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    let m: u128 = format!("{int_part}{frac_part}").parse().ok()?;
    Some((m, exp - i32::try_from(frac_part.len()).ok()?))
}

/// `(a * b) % m` without overflow.
fn mul_mod(mut a: u128, mut b: u128, m: u128) -> u128 {
    a %= m;
    let mut r = 0u128;
    while b > 0 {
        if b & 1 == 1 {
            r = if r >= m - a { r - (m - a) } else { r + a };
        }
        a = if a >= m - a { a - (m - a) } else { a + a };
        b >>= 1;
    }
    r
}

/// Whether `x` is an integer multiple of `m` (`m > 0`), exactly, on the
/// decimals as written.
fn is_multiple(x: &Number, m: &Number) -> bool {
    let (Some((a, ea)), Some((b, eb))) = (decimal(x), decimal(m)) else {
        return false;
    };
    if a == 0 {
        return true;
    }
    if b == 0 {
        return false;
    }
    let d = ea - eb;
    if d >= 0 {
        // b divides a * 10^d: (a mod b) * (10^d mod b) mod b == 0.
        let mut pow = 1 % b;
        let mut base = 10 % b;
        let mut e = d.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                pow = mul_mod(pow, base, b);
            }
            base = mul_mod(base, base, b);
            e >>= 1;
        }
        mul_mod(a % b, pow, b) == 0
    } else {
        // b * 10^-d divides a; past u128 it exceeds a, so it cannot.
        match 10u128
            .checked_pow(d.unsigned_abs())
            .and_then(|p| p.checked_mul(b))
        {
            Some(q) => a % q == 0,
            None => false,
        }
    }
}

/// JSON equality as JSON Schema means it: numbers by value (`1` equals `1.0`),
/// objects regardless of key order.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A hash consistent with [`json_eq`] (bounded in depth; deeper parts hash alike).
fn json_hash(v: &Value, depth: usize) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match v {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, b).hash(&mut h),
        Value::Number(n) => {
            2u8.hash(&mut h);
            match num(n) {
                Num::Int(i) => i.hash(&mut h),
                Num::Float(f) if f.fract() == 0.0 && f.abs() < 1.0e38 => (f as i128).hash(&mut h),
                Num::Float(f) => f.to_bits().hash(&mut h),
            }
        }
        Value::String(s) => (3u8, s).hash(&mut h),
        Value::Array(a) => {
            (4u8, a.len()).hash(&mut h);
            if depth < 8 {
                for x in a {
                    json_hash(x, depth + 1).hash(&mut h);
                }
            }
        }
        Value::Object(m) => {
            (5u8, m.len()).hash(&mut h);
            if depth < 8 {
                // Order-independent: sum of the entries' hashes.
                let mut sum = 0u64;
                for (k, x) in m {
                    let mut e = std::collections::hash_map::DefaultHasher::new();
                    (k, json_hash(x, depth + 1)).hash(&mut e);
                    sum = sum.wrapping_add(e.finish());
                }
                sum.hash(&mut h);
            }
        }
    }
    h.finish()
}

fn has_duplicates(items: &[Value]) -> bool {
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let bucket = buckets.entry(json_hash(item, 0)).or_default();
        if bucket.iter().any(|&j| json_eq(&items[j], item)) {
            return true;
        }
        bucket.push(i);
    }
    false
}

// ---------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

/// Where violations go: collected (up to `window`, the rest counted) or, when
/// only validity matters, not at all (the check stops at the first).
struct Out {
    collect: bool,
    window: usize,
    kept: Vec<InputViolation>,
    total: usize,
    steps: u64,
    /// Set when a bound was hit; the check stops.
    exhausted: bool,
}

struct Run<'s, 'v> {
    schema: &'s Schema,
    path: Vec<Seg<'v>>,
}

fn pointer_of(path: &[Seg<'_>]) -> String {
    let mut p = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => p = push_token(&p, k),
            Seg::Index(i) => {
                let _ = write!(p, "/{i}");
            }
        }
    }
    p
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Schema {
    /// Whether `input` is valid.
    pub(crate) fn is_valid(&self, input: &Value) -> bool {
        let mut out = Out {
            collect: false,
            window: 0,
            kept: Vec::new(),
            total: 0,
            steps: 0,
            exhausted: false,
        };
        let mut run = Run {
            schema: self,
            path: Vec::new(),
        };
        run.check(0, input, 0, &mut out) && !out.exhausted
    }

    /// Every violation of `input`: the first `window` found, and how many in all.
    pub(crate) fn violations(&self, input: &Value, window: usize) -> (Vec<InputViolation>, usize) {
        let mut out = Out {
            collect: true,
            window,
            kept: Vec::new(),
            total: 0,
            steps: 0,
            exhausted: false,
        };
        let mut run = Run {
            schema: self,
            path: Vec::new(),
        };
        run.check(0, input, 0, &mut out);
        (out.kept, out.total)
    }
}

/// Records a violation; when only validity matters, returns `false` at once.
macro_rules! fail {
    ($self:ident, $out:ident, $valid:ident, $msg:expr) => {{
        $valid = false;
        if !$out.collect {
            $out.total += 1;
            return false;
        }
        $self.report($out, || $msg);
    }};
}

impl<'v> Run<'_, 'v> {
    fn report(&self, out: &mut Out, message: impl FnOnce() -> String) {
        if out.exhausted {
            // Past a bound, only the bound's own violation is told.
            return;
        }
        out.total += 1;
        if out.collect && out.kept.len() < out.window {
            out.kept.push(InputViolation {
                path: pointer_of(&self.path),
                message: message(),
            });
        }
    }

    /// Checks `inst` against node `n`. Returns whether it is valid. When not
    /// collecting, returns at the first failure. This is the recursive path:
    /// it keeps its frame small (the keywords that only look at `inst` and
    /// build messages are out of line), so that [`MAX_CHECK_DEPTH`] levels fit
    /// in a 1 MiB stack (wasm32's).
    fn check(&mut self, n: usize, inst: &'v Value, depth: usize, out: &mut Out) -> bool {
        if out.exhausted {
            return false;
        }
        out.steps += 1;
        if out.steps > MAX_CHECK_STEPS || depth > MAX_CHECK_DEPTH {
            return self.exhaust(out, depth);
        }
        let schema = self.schema;
        let node = &schema.nodes[n];
        let mut valid = true;
        macro_rules! sub {
            ($ok:expr) => {
                if !$ok {
                    valid = false;
                    if !out.collect {
                        return false;
                    }
                }
            };
        }
        if node.never {
            return self.check_local(node, inst, out);
        }
        if let Some(r) = node.reference {
            sub!(self.check(r, inst, depth + 1, out));
        }
        sub!(self.check_local(node, inst, out));
        match inst {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let sub = match node.prefix_items.get(i) {
                        Some(&s) => Some(s),
                        None => node.items,
                    };
                    if let Some(s) = sub {
                        self.path.push(Seg::Index(i));
                        let ok = self.check(s, item, depth + 1, out);
                        self.path.pop();
                        sub!(ok);
                    }
                }
                if node.contains.is_some() {
                    sub!(self.check_contains(node, items, inst, depth, out));
                }
            }
            Value::Object(map) => {
                sub!(self.check_properties(node, map, depth, out));
                if node.property_names.is_some() {
                    sub!(self.check_property_names(node, map, depth, out));
                }
                for (key, s) in &node.dependent_schemas {
                    if map.contains_key(key) {
                        sub!(self.check(*s, inst, depth + 1, out));
                    }
                }
            }
            _ => {}
        }
        for &s in &node.all_of {
            sub!(self.check(s, inst, depth + 1, out));
        }
        if !node.any_of.is_empty() || !node.one_of.is_empty() || node.not.is_some() {
            sub!(self.check_alternatives(node, inst, depth, out));
        }
        if let Some((cond, then, otherwise)) = node.if_then_else {
            let branch = if self.is_valid_here(cond, inst, depth, out) {
                then
            } else {
                otherwise
            };
            if let Some(b) = branch {
                sub!(self.check(b, inst, depth + 1, out));
            }
        }
        if node.unevaluated_properties.is_some() || node.unevaluated_items.is_some() {
            sub!(self.check_unevaluated(n, node, inst, depth, out));
        }
        valid
    }

    /// Reports that a bound was reached, and stops the check.
    #[inline(never)]
    fn exhaust(&mut self, out: &mut Out, depth: usize) -> bool {
        if depth > MAX_CHECK_DEPTH {
            self.report(out, || {
                format!("the input could not be checked: it is nested more than {MAX_CHECK_DEPTH} schema applications deep")
            });
        } else {
            self.report(out, || {
                format!("the input could not be checked: it takes more than {MAX_CHECK_STEPS} schema applications")
            });
        }
        out.exhausted = true;
        false
    }

    /// The keywords that look at `inst` alone (no subschema).
    #[inline(never)]
    fn check_local(&self, node: &Node, inst: &Value, out: &mut Out) -> bool {
        let mut valid = true;
        if node.never {
            fail!(
                self,
                out,
                valid,
                format!("False schema does not allow {}", quote(inst))
            );
            return valid;
        }
        if let Some(types) = &node.types {
            if !types.iter().any(|t| t.matches(inst)) {
                if let [t] = types.as_slice() {
                    fail!(
                        self,
                        out,
                        valid,
                        format!("{} is not of type \"{}\"", quote(inst), t.name())
                    );
                } else {
                    fail!(
                        self,
                        out,
                        valid,
                        format!(
                            "{} is not of types {}",
                            quote(inst),
                            types
                                .iter()
                                .map(|t| format!("\"{}\"", t.name()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    );
                }
            }
        }
        if let Some(options) = &node.enumeration {
            if !options.iter().any(|o| json_eq(o, inst)) {
                fail!(self, out, valid, enum_message(inst, options));
            }
        }
        if let Some(c) = &node.constant {
            if !json_eq(c, inst) {
                fail!(self, out, valid, format!("{} was expected", quote(c)));
            }
        }
        match inst {
            Value::Number(x) => {
                if let Some(m) = &node.minimum {
                    if cmp_numbers(x, m) == Ordering::Less {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{x} is less than the minimum of {m}")
                        );
                    }
                }
                if let Some(m) = &node.maximum {
                    if cmp_numbers(x, m) == Ordering::Greater {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{x} is greater than the maximum of {m}")
                        );
                    }
                }
                if let Some(m) = &node.exclusive_minimum {
                    if cmp_numbers(x, m) != Ordering::Greater {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{x} is less than or equal to the minimum of {m}")
                        );
                    }
                }
                if let Some(m) = &node.exclusive_maximum {
                    if cmp_numbers(x, m) != Ordering::Less {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{x} is greater than or equal to the maximum of {m}")
                        );
                    }
                }
                if let Some(m) = &node.multiple_of {
                    if !is_multiple(x, m) {
                        fail!(self, out, valid, format!("{x} is not a multiple of {m}"));
                    }
                }
            }
            Value::String(s) => {
                if node.min_length.is_some() || node.max_length.is_some() {
                    let len = s.chars().count() as u64;
                    if let Some(min) = node.min_length {
                        if len < min {
                            fail!(
                                self,
                                out,
                                valid,
                                format!(
                                    "{} is shorter than {}",
                                    quote(inst),
                                    plural(min, "character", "characters")
                                )
                            );
                        }
                    }
                    if let Some(max) = node.max_length {
                        if len > max {
                            fail!(
                                self,
                                out,
                                valid,
                                format!(
                                    "{} is longer than {}",
                                    quote(inst),
                                    plural(max, "character", "characters")
                                )
                            );
                        }
                    }
                }
                if let Some((re, text)) = &node.pattern {
                    if !re.is_match(s) {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{} does not match {}", quote(inst), quote_str(text))
                        );
                    }
                }
                if let Some(f) = node.format {
                    if !f.is_valid(s) {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{} is not a \"{}\"", quote(inst), f.name())
                        );
                    }
                }
            }
            Value::Array(items) => {
                let len = items.len() as u64;
                if let Some(min) = node.min_items {
                    if len < min {
                        fail!(
                            self,
                            out,
                            valid,
                            format!(
                                "{} has less than {}",
                                quote(inst),
                                plural(min, "item", "items")
                            )
                        );
                    }
                }
                if let Some(max) = node.max_items {
                    if len > max {
                        fail!(
                            self,
                            out,
                            valid,
                            format!(
                                "{} has more than {}",
                                quote(inst),
                                plural(max, "item", "items")
                            )
                        );
                    }
                }
                if node.unique_items && has_duplicates(items) {
                    fail!(
                        self,
                        out,
                        valid,
                        format!("{} has non-unique elements", quote(inst))
                    );
                }
            }
            Value::Object(map) => {
                let len = map.len() as u64;
                if let Some(min) = node.min_properties {
                    if len < min {
                        fail!(
                            self,
                            out,
                            valid,
                            format!(
                                "{} has less than {}",
                                quote(inst),
                                plural(min, "property", "properties")
                            )
                        );
                    }
                }
                if let Some(max) = node.max_properties {
                    if len > max {
                        fail!(
                            self,
                            out,
                            valid,
                            format!(
                                "{} has more than {}",
                                quote(inst),
                                plural(max, "property", "properties")
                            )
                        );
                    }
                }
                for name in &node.required {
                    if !map.contains_key(name) {
                        fail!(
                            self,
                            out,
                            valid,
                            format!("{} is a required property", quote_str(name))
                        );
                    }
                }
                for (key, names) in &node.dependent_required {
                    if map.contains_key(key) {
                        for name in names {
                            if !map.contains_key(name) {
                                fail!(
                                    self,
                                    out,
                                    valid,
                                    format!("{} is a required property", quote_str(name))
                                );
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        valid
    }

    /// `contains`, `minContains` and `maxContains`.
    #[inline(never)]
    fn check_contains(
        &mut self,
        node: &Node,
        items: &'v [Value],
        inst: &Value,
        depth: usize,
        out: &mut Out,
    ) -> bool {
        let mut valid = true;
        if let Some(c) = node.contains {
            let mut matched = 0u64;
            for item in items {
                if self.is_valid_here(c, item, depth, out) {
                    matched += 1;
                }
            }
            let min = node.min_contains.unwrap_or(1);
            if matched < min {
                if node.min_contains.is_none() {
                    fail!(
                        self,
                        out,
                        valid,
                        format!("None of {} are valid under the given schema", quote(inst))
                    );
                } else {
                    fail!(
                        self,
                        out,
                        valid,
                        format!(
                            "{} has less than {} valid under the given schema",
                            quote(inst),
                            plural(min, "item", "items")
                        )
                    );
                }
            }
            if let Some(max) = node.max_contains {
                if matched > max {
                    fail!(
                        self,
                        out,
                        valid,
                        format!(
                            "{} has more than {} valid under the given schema",
                            quote(inst),
                            plural(max, "item", "items")
                        )
                    );
                }
            }
        }
        valid
    }

    /// `propertyNames`.
    #[inline(never)]
    fn check_property_names(
        &mut self,
        node: &Node,
        map: &Map<String, Value>,
        depth: usize,
        out: &mut Out,
    ) -> bool {
        let mut valid = true;
        let schema = self.schema;
        if let Some(names) = node.property_names {
            for key in map.keys() {
                let key_value = Value::String(key.clone());
                let saved = begin_probe(out);
                let ok = Run {
                    schema,
                    path: Vec::new(),
                }
                .check(names, &key_value, depth + 1, out);
                if !self.end_probe(out, saved, ok) {
                    fail!(
                        self,
                        out,
                        valid,
                        format!("{} does not match the propertyNames schema", quote_str(key))
                    );
                }
            }
        }
        valid
    }

    /// `anyOf`, `oneOf` and `not`.
    #[inline(never)]
    fn check_alternatives(
        &mut self,
        node: &Node,
        inst: &'v Value,
        depth: usize,
        out: &mut Out,
    ) -> bool {
        let mut valid = true;
        if !node.any_of.is_empty()
            && !node
                .any_of
                .iter()
                .any(|&s| self.is_valid_here(s, inst, depth, out))
        {
            fail!(
                self,
                out,
                valid,
                format!(
                    "{} is not valid under any of the schemas listed in the 'anyOf' keyword",
                    quote(inst)
                )
            );
        }
        if !node.one_of.is_empty() {
            let mut matched = 0;
            for &s in &node.one_of {
                if self.is_valid_here(s, inst, depth, out) {
                    matched += 1;
                    if matched > 1 {
                        break;
                    }
                }
            }
            if matched == 0 {
                fail!(
                    self,
                    out,
                    valid,
                    format!(
                        "{} is not valid under any of the schemas listed in the 'oneOf' keyword",
                        quote(inst)
                    )
                );
            } else if matched > 1 {
                fail!(self, out, valid, format!("{} is valid under more than one of the schemas listed in the 'oneOf' keyword", quote(inst)));
            }
        }
        if let Some(s) = node.not {
            if self.is_valid_here(s, inst, depth, out) {
                fail!(
                    self,
                    out,
                    valid,
                    format!("{} is not allowed for {}", node.not_text, quote(inst))
                );
            }
        }
        valid
    }

    /// `unevaluatedProperties` and `unevaluatedItems`.
    #[inline(never)]
    fn check_unevaluated(
        &mut self,
        n: usize,
        node: &Node,
        inst: &'v Value,
        depth: usize,
        out: &mut Out,
    ) -> bool {
        let mut valid = true;
        if let Some(u) = node.unevaluated_properties {
            if let Value::Object(map) = inst {
                let mut seen = Evaluated::default();
                self.evaluated(n, inst, depth, out, &mut seen, true);
                if !seen.all_props {
                    let mut unexpected = Vec::new();
                    for (key, value) in map {
                        if seen.props.contains(key.as_str()) {
                            continue;
                        }
                        if !self.is_valid_here(u, value, depth, out) {
                            unexpected.push(key.as_str());
                        }
                    }
                    if !unexpected.is_empty() {
                        fail!(
                            self,
                            out,
                            valid,
                            format!(
                                "Unevaluated properties are not allowed ({})",
                                unexpected_list(&unexpected)
                            )
                        );
                    }
                }
            }
        }
        if let Some(u) = node.unevaluated_items {
            if let Value::Array(items) = inst {
                let mut seen = Evaluated::default();
                self.evaluated(n, inst, depth, out, &mut seen, true);
                if !seen.all_items {
                    let mut unexpected = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        if i < seen.prefix || seen.items.contains(&i) {
                            continue;
                        }
                        if !self.is_valid_here(u, item, depth, out) {
                            unexpected.push(quote(item));
                        }
                    }
                    if !unexpected.is_empty() {
                        let refs: Vec<&str> = unexpected.iter().map(String::as_str).collect();
                        fail!(
                            self,
                            out,
                            valid,
                            format!(
                                "Unevaluated items are not allowed ({})",
                                unexpected_list(&refs)
                            )
                        );
                    }
                }
            }
        }
        valid
    }

    /// `properties`, `patternProperties` and `additionalProperties`.
    fn check_properties(
        &mut self,
        node: &Node,
        map: &'v Map<String, Value>,
        depth: usize,
        out: &mut Out,
    ) -> bool {
        let mut valid = true;
        if node.properties.is_empty()
            && node.pattern_properties.is_empty()
            && node.additional_properties.is_none()
        {
            return true;
        }
        let mut unexpected: Vec<&str> = Vec::new();
        for (key, value) in map {
            let mut covered = false;
            for (name, s) in &node.properties {
                if name == key {
                    covered = true;
                    self.path.push(Seg::Key(key));
                    let ok = self.check(*s, value, depth + 1, out);
                    self.path.pop();
                    if !ok {
                        valid = false;
                        if !out.collect {
                            return false;
                        }
                    }
                }
            }
            for (re, _, s) in &node.pattern_properties {
                if re.is_match(key) {
                    covered = true;
                    self.path.push(Seg::Key(key));
                    let ok = self.check(*s, value, depth + 1, out);
                    self.path.pop();
                    if !ok {
                        valid = false;
                        if !out.collect {
                            return false;
                        }
                    }
                }
            }
            if covered {
                continue;
            }
            if let Some(a) = node.additional_properties {
                if self.schema.nodes[a].never {
                    unexpected.push(key);
                    continue;
                }
                self.path.push(Seg::Key(key));
                let ok = self.check(a, value, depth + 1, out);
                self.path.pop();
                if !ok {
                    valid = false;
                    if !out.collect {
                        return false;
                    }
                }
            }
        }
        if !unexpected.is_empty() {
            valid = false;
            if !out.collect {
                out.total += 1;
                return false;
            }
            self.report(out, || {
                format!(
                    "Additional properties are not allowed ({})",
                    unexpected_list(&unexpected)
                )
            });
        }
        valid
    }

    /// Whether `inst` is valid against node `s`, collecting nothing.
    fn is_valid_here(&mut self, s: usize, inst: &'v Value, depth: usize, out: &mut Out) -> bool {
        let saved = begin_probe(out);
        let ok = self.check(s, inst, depth + 1, out);
        self.end_probe(out, saved, ok)
    }

    /// Ends a probe begun with [`begin_probe`]: restores collecting, and if a
    /// bound was hit, reports that (once) here.
    fn end_probe(
        &self,
        out: &mut Out,
        (collect, total, was_exhausted): (bool, usize, bool),
        ok: bool,
    ) -> bool {
        out.collect = collect;
        if was_exhausted {
            return false;
        }
        if out.exhausted {
            out.total = total + 1;
            if collect && out.kept.len() < out.window {
                out.kept.push(InputViolation {
                    path: pointer_of(&self.path),
                    message: format!(
                        "the input could not be checked: it takes more than {MAX_CHECK_STEPS} schema applications or is nested more than {MAX_CHECK_DEPTH} deep"
                    ),
                });
            }
            return false;
        }
        out.total = total;
        ok
    }

    /// What node `n` and the subschemas it applies in place evaluate of `inst`
    /// (for `unevaluatedProperties` / `unevaluatedItems`).
    fn evaluated(
        &mut self,
        n: usize,
        inst: &'v Value,
        depth: usize,
        out: &mut Out,
        seen: &mut Evaluated,
        top: bool,
    ) {
        out.steps += 1;
        if depth > MAX_CHECK_DEPTH || out.steps > MAX_CHECK_STEPS {
            out.exhausted = true;
            return;
        }
        let schema = self.schema;
        let node = &schema.nodes[n];
        match inst {
            Value::Object(map) => {
                if node.additional_properties.is_some()
                    || (!top && node.unevaluated_properties.is_some())
                {
                    seen.all_props = true;
                }
                for key in map.keys() {
                    if node.properties.iter().any(|(p, _)| p == key)
                        || node
                            .pattern_properties
                            .iter()
                            .any(|(re, _, _)| re.is_match(key))
                    {
                        seen.props.insert(key.clone());
                    }
                }
            }
            Value::Array(items) => {
                if node.items.is_some() || (!top && node.unevaluated_items.is_some()) {
                    seen.all_items = true;
                }
                seen.prefix = seen.prefix.max(node.prefix_items.len().min(items.len()));
                if let Some(c) = node.contains {
                    for (i, item) in items.iter().enumerate() {
                        if self.is_valid_here(c, item, depth, out) {
                            seen.items.insert(i);
                        }
                    }
                }
            }
            _ => {}
        }
        let mut inplace: Vec<usize> = node.all_of.clone();
        inplace.extend(node.reference);
        for &s in node.any_of.iter().chain(&node.one_of) {
            if self.is_valid_here(s, inst, depth, out) {
                inplace.push(s);
            }
        }
        if let Some((cond, then, otherwise)) = node.if_then_else {
            if self.is_valid_here(cond, inst, depth, out) {
                inplace.push(cond);
                inplace.extend(then);
            } else {
                inplace.extend(otherwise);
            }
        }
        if let Value::Object(map) = inst {
            for (key, s) in &node.dependent_schemas {
                if map.contains_key(key) {
                    inplace.push(*s);
                }
            }
        }
        for s in inplace {
            self.evaluated(s, inst, depth + 1, out, seen, false);
        }
    }
}

/// Starts checking without collecting; returns what [`Run::end_probe`] restores.
fn begin_probe(out: &mut Out) -> (bool, usize, bool) {
    let saved = (out.collect, out.total, out.exhausted);
    out.collect = false;
    saved
}

#[derive(Default)]
struct Evaluated {
    props: BTreeSet<String>,
    all_props: bool,
    prefix: usize,
    items: BTreeSet<usize>,
    all_items: bool,
}

fn unexpected_list(names: &[&str]) -> String {
    let mut s = names
        .iter()
        .map(|n| format!("'{}'", truncate_chars(n, 100)))
        .collect::<Vec<_>>()
        .join(", ");
    s.push_str(if names.len() == 1 {
        " was unexpected"
    } else {
        " were unexpected"
    });
    s
}

fn enum_message(inst: &Value, options: &[Value]) -> String {
    let mut s = format!("{} is not one of ", quote(inst));
    let shown: Vec<String> = options
        .iter()
        .take(if options.len() <= 3 { 3 } else { 2 })
        .map(quote)
        .collect();
    match (options.len(), shown.as_slice()) {
        (0, _) => s.push_str("[] (no value is allowed)"),
        (1, [a]) => s.push_str(a),
        (2, [a, b]) => {
            let _ = write!(s, "{a} or {b}");
        }
        (3, [a, b, c]) => {
            let _ = write!(s, "{a}, {b} or {c}");
        }
        (n, [a, b, ..]) => {
            let _ = write!(s, "{a}, {b} or {} other candidates", n - 2);
        }
        _ => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: Value, input: Value) -> Vec<(String, String)> {
        let s = Schema::compile(&schema).unwrap();
        let (v, total) = s.violations(&input, 100);
        assert_eq!(v.len(), total);
        assert_eq!(
            s.is_valid(&input),
            v.is_empty(),
            "is_valid disagrees with violations for {input}"
        );
        v.into_iter().map(|v| (v.path, v.message)).collect()
    }

    #[test]
    fn numbers_compare_exactly_beyond_f64() {
        let big = json!({"maximum": 9007199254740993u64});
        assert!(messages(big.clone(), json!(9007199254740993u64)).is_empty());
        assert_eq!(messages(big, json!(9007199254740994u64)).len(), 1);
        let neg = json!({"minimum": -9007199254740993i64});
        assert_eq!(messages(neg, json!(-9007199254740994i64)).len(), 1);
        assert!(messages(json!({"exclusiveMaximum": 1}), json!(0.9999999999999999)).is_empty());
        assert_eq!(
            cmp_numbers(
                &Number::from(u64::MAX),
                &Number::from_f64(1.8446744073709552e19).unwrap()
            ),
            Ordering::Less
        );
        assert!(messages(json!({"multipleOf": 3}), json!(18446744073709551615u64)).is_empty());
        assert!(messages(json!({"multipleOf": 0.1}), json!(0.3)).is_empty());
        // 1e300 is 10^300 as written: not a multiple of 3 or 7, a multiple of 2.5.
        assert_eq!(messages(json!({"multipleOf": 3}), json!(1e300)).len(), 1);
        assert_eq!(messages(json!({"multipleOf": 7}), json!(1e300)).len(), 1);
        assert!(messages(json!({"multipleOf": 2.5}), json!(1e300)).is_empty());
        assert_eq!(messages(json!({"multipleOf": 1e-300}), json!(1)).len(), 0);
        assert_eq!(messages(json!({"multipleOf": 0.01}), json!(0.125)).len(), 1);
        assert!(messages(json!({"enum": [1]}), json!(1.0)).is_empty());
        assert!(messages(json!({"uniqueItems": true}), json!([1, 1.0])).len() == 1);
        assert!(messages(
            json!({"uniqueItems": true}),
            json!([{"a": 1, "b": 2}, {"b": 2, "a": 1.5}])
        )
        .is_empty());
    }

    #[test]
    fn deep_input_is_refused_with_a_violation_not_a_stack_overflow() {
        let schema = json!({"$defs": {"t": {"type": "array", "items": {"$ref": "#/$defs/t"}}}, "$ref": "#/$defs/t"});
        let s = Schema::compile(&schema).unwrap();
        let mut v = json!([]);
        for _ in 0..2_000 {
            v = Value::Array(vec![v]);
        }
        let (found, total) = s.violations(&v, 10);
        assert_eq!(total, 1);
        assert!(
            found[0].message.contains("nested more than 128"),
            "{:?}",
            found
        );
        assert!(!s.is_valid(&v));
        // Dropping a 2,000-deep value is fine; serde_json's own limits are not involved here.
    }

    #[test]
    fn the_depth_bound_fits_a_one_megabyte_stack() {
        // wasm32's stack is 1 MiB: checking up to the depth bound must fit in
        // half of it in an optimised build (x86-64 frames, larger than wasm32's;
        // this input reaches the bound with every keyword that recurses).
        // Unoptimised frames are several times larger: a debug build gets 4 MiB.
        let stack = if cfg!(debug_assertions) {
            4 << 20
        } else {
            1 << 19
        };
        let handle = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(|| {
                let schema = json!({"$defs": {"t": {"type": "object", "properties": {"a": {"$ref": "#/$defs/t"}}, "patternProperties": {"^b": {"$ref": "#/$defs/t"}}, "unevaluatedProperties": false}}, "$ref": "#/$defs/t"});
                let s = Schema::compile(&schema).unwrap();
                let mut v = json!({});
                for i in 0..1_000 {
                    v = if i % 2 == 0 { json!({"a": v}) } else { json!({"b": v}) };
                }
                let (found, _) = s.violations(&v, 10);
                let deepest = found.iter().any(|f| f.message.contains("nested more than"));
                std::mem::forget(v); // dropping is not what this measures
                deepest
            })
            .unwrap();
        assert!(handle.join().unwrap(), "the depth bound was not reached");
    }

    #[test]
    fn ref_loops_that_never_descend_are_refused_at_compile() {
        for schema in [
            json!({"$ref": "#"}),
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "properties": {"x": {"$ref": "#/$defs/a"}}}),
            json!({"$defs": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}}, "properties": {"x": {"$ref": "#/$defs/a"}}}),
            json!({"$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}, "properties": {"x": {"$ref": "#/$defs/a"}}}),
        ] {
            let e = Schema::compile(&schema).unwrap_err();
            assert!(e.detail.contains("without descending"), "{e:?}");
        }
        // A loop through `properties` or `items` descends and is fine.
        let tree = json!({"$defs": {"n": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}}, "$ref": "#/$defs/n"});
        let s = Schema::compile(&tree).unwrap();
        assert!(s.is_valid(&json!({"kids": [{"kids": []}, {}]})));
        assert!(!s.is_valid(&json!({"kids": [{"kids": 1}]})));
    }

    #[test]
    fn a_long_chain_of_references_compiles_without_deep_recursion() {
        let mut defs = Map::new();
        for i in 0..20_000 {
            defs.insert(format!("d{i}"), json!({"type": "object", "properties": {"n": {"$ref": format!("#/$defs/d{}", i + 1)}}}));
        }
        defs.insert("d20000".into(), json!({"type": "integer"}));
        let schema = json!({"$defs": defs, "$ref": "#/$defs/d0"});
        let s = Schema::compile(&schema).unwrap();
        assert!(s.is_valid(&json!({"n": {"n": {}}})));
    }

    #[test]
    fn too_many_subschemas_are_refused() {
        let props: Map<String, Value> = (0..MAX_NODES + 1)
            .map(|i| (format!("p{i}"), json!({})))
            .collect();
        let e = Schema::compile(&json!({"properties": props})).unwrap_err();
        assert!(e.detail.contains("more than 100000 subschemas"), "{e:?}");
    }

    #[test]
    fn branching_blow_up_is_cut_by_the_step_bound() {
        // 40 levels of anyOf with two failing branches that both refer to the
        // level below: 2^40 paths without a bound (the schema itself is small).
        let mut defs = Map::new();
        defs.insert("l0".into(), json!({"type": "string"}));
        for i in 1..=40 {
            let below = format!("#/$defs/l{}", i - 1);
            defs.insert(
                format!("l{i}"),
                json!({"anyOf": [{"allOf": [{"$ref": below}, {"type": "null"}]}, {"$ref": below}]}),
            );
        }
        let s = json!({"$defs": defs, "$ref": "#/$defs/l40"});
        let schema = Schema::compile(&s).unwrap();
        let (found, total) = schema.violations(&json!(1), 10);
        assert!(total >= 1);
        assert!(
            found
                .iter()
                .any(|v| v.message.contains("could not be checked")),
            "{found:?}"
        );
        assert!(!schema.is_valid(&json!(1)));
    }

    #[test]
    fn quoting_is_bounded_and_cuts_on_characters() {
        let long = Value::String("é".repeat(10_000));
        let q = quote(&long);
        assert!(q.len() <= MAX_QUOTED_BYTES + 3);
        assert!(q.ends_with('…'));
        assert_eq!(quote(&json!({"a": [1, null]})), r#"{"a":[1,null]}"#);
    }

    #[test]
    fn draft_specific_forms() {
        // draft-07: items as an array is a tuple, additionalItems applies past it.
        let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}, {"type": "integer"}]});
        assert!(messages(d7.clone(), json!(["a", 1, null])).is_empty());
        assert_eq!(messages(d7.clone(), json!([1, 1]))[0].0, "/0");
        let mut closed = d7;
        closed["additionalItems"] = json!(false);
        assert_eq!(messages(closed, json!(["a", 1, null]))[0].0, "/2");
        // draft-07: $ref siblings are ignored.
        let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s", "maxLength": 1}}});
        assert!(messages(d7, json!({"a": "long"})).is_empty());
        // 2020-12: they apply.
        let d20 = json!({"$defs": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/s", "maxLength": 1}}});
        assert_eq!(messages(d20, json!({"a": "long"})).len(), 1);
        // draft-04: boolean exclusiveMaximum.
        let d4 = json!({"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 5, "exclusiveMaximum": true});
        assert_eq!(
            messages(d4, json!(5)),
            [(
                "".to_owned(),
                "5 is greater than or equal to the maximum of 5".to_owned()
            )]
        );
    }

    #[test]
    fn unevaluated_properties_sees_through_applicators() {
        let s = json!({
            "type": "object",
            "properties": {"a": {}},
            "allOf": [{"properties": {"b": {}}}],
            "anyOf": [{"properties": {"c": {"type": "string"}}, "required": ["c"]}, {"required": ["d"]}],
            "unevaluatedProperties": false
        });
        assert!(messages(s.clone(), json!({"a": 1, "b": 2, "c": "x"})).is_empty());
        assert_eq!(
            messages(s, json!({"a": 1, "d": 2, "e": 3})),
            [(
                "".to_owned(),
                "Unevaluated properties are not allowed ('d', 'e' were unexpected)".to_owned()
            )]
        );
    }
}
