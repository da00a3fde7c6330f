//! Reading a pool configuration the caller wrote, with errors in the caller's
//! words: the field by its path as they wrote it (`agents.researcher.cap`),
//! what was expected in plain words, what they gave, and the closest known
//! name for a misspelled one. Never serde's words (`invalid type: integer 5,
//! expected internally tagged enum Cap at line 1 column 42`), which point into
//! JSON the caller never wrote.
//!
//! Every binding reads a configuration through [`PoolConfig::from_json_value`].

use super::config::PoolConfig;
use super::error::PoolError;
use crate::money::Money;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The fields of [`PoolConfig`].
pub const POOL_FIELDS: &[&str] = &[
    "pool_id",
    "limit",
    "cycle",
    "lease_ms",
    "late_settle_window_ms",
    "max_clock_jump_ms",
    "alerts",
    "agents",
    "default_agent",
    "allow_unknown_agents",
    "fair_share",
    "report_bucket_ms",
    "report_top",
];
/// The fields of an [`AgentPolicy`](super::AgentPolicy).
pub const POLICY_FIELDS: &[&str] = &["cap", "weight", "credits_per_minute", "requests_per_minute"];
const ALERT_FIELDS: &[&str] = &["thresholds_pct", "on_committed", "burn_rate"];
const BURN_FIELDS: &[&str] = &["min_elapsed_ms"];
const FAIR_FIELDS: &[&str] = &["when_committed_pct", "active_window_ms"];
const CAP_KINDS: &[&str] = &["absolute", "share"];
const CYCLE_KINDS: &[&str] = &["monthly", "fixed"];
pub(crate) const CAP_SHAPE: &str = r#"a cap: {"kind": "absolute", "amount": ...} or {"kind": "share", "basis_points": ...}"#;
pub(crate) const CYCLE_SHAPE: &str = r#"a cycle: {"kind": "monthly", "anchor_day": 1} or {"kind": "fixed", "start_ms": ..., "length_ms": ...}"#;

impl PoolConfig {
    /// A configuration from the JSON a caller wrote (every binding reads one
    /// this way). A mistake is [`PoolError::InvalidConfig`] naming the field
    /// by its path (`agents.researcher.cap: expected a cap: {"kind":
    /// "absolute", ...}, got 5`), suggesting the closest known name for an
    /// unknown one. The values' rules are [`PoolConfig::validate`]'s, which
    /// [`Pool::new`](super::Pool::new) applies.
    pub fn from_json_value(value: &Value) -> Result<PoolConfig, PoolError> {
        check_config(value).map_err(|reason| PoolError::InvalidConfig { reason })?;
        serde_json::from_value(value.clone()).map_err(|e| PoolError::InvalidConfig { reason: crate::error::plain_config_words("", &e.to_string()) })
    }
}

impl PoolConfig {
    /// When a persisted pool is restored and the caller passed its settings
    /// again (`given`: configuration JSON naming only the fields they gave):
    /// the words for those that differ from the pool's own, which it keeps
    /// (`None` when all agree). The limit is compared with the pool's current
    /// `limit`; a restart never changes a running pool silently, and the
    /// words say how to change it on purpose (`set_limit`,
    /// `set_agent_policy`). A malformed `given` is
    /// [`PoolError::InvalidConfig`], as for a new pool.
    pub fn ignored_on_restore(&self, limit: Money, given: &Value) -> Result<Option<String>, PoolError> {
        let Some(given) = given.as_object() else {
            return Err(PoolError::InvalidConfig { reason: format!("the pool configuration must be an object, got {}", got(given)) });
        };
        let own = serde_json::to_value(self).map_err(|e| PoolError::InvalidConfig { reason: e.to_string() })?;
        let mut merged = own.clone();
        for (k, v) in given {
            merged[k.as_str()] = v.clone();
        }
        let theirs = PoolConfig::from_json_value(&merged)?;
        let theirs_json = serde_json::to_value(&theirs).map_err(|e| PoolError::InvalidConfig { reason: e.to_string() })?;
        let mut ignored = Vec::new();
        for &field in POOL_FIELDS.iter().filter(|f| given.contains_key(**f)) {
            match field {
                "limit" if theirs.limit != limit => {
                    ignored.push(format!("limit (the pool's is {limit}, given {}: change it with set_limit)", theirs.limit));
                }
                "limit" => {}
                "agents" | "default_agent" if own.get(field) != theirs_json.get(field) => {
                    ignored.push(format!("{field} (change an agent's policy with set_agent_policy)"));
                }
                "allow_unknown_agents" if theirs.allows_unknown_agents() == self.allows_unknown_agents() => {}
                other if own.get(other) != theirs_json.get(other) => ignored.push(format!("{other} (fixed when the pool was made)")),
                _ => {}
            }
        }
        Ok((!ignored.is_empty()).then(|| format!("the restored pool keeps its own configuration; not applied: {}", ignored.join(", "))))
    }
}

fn check_config(v: &Value) -> Result<(), String> {
    let Some(map) = v.as_object() else {
        return Err(format!("the pool configuration must be an object, got {}", got(v)));
    };
    known_keys(map, "", "pool option", POOL_FIELDS)?;
    if !map.contains_key("limit") {
        return Err("the pool configuration needs a limit".to_owned());
    }
    for (k, v) in map {
        let path = k.as_str();
        match path {
            "pool_id" => leaf::<String>(v, path)?,
            "limit" => leaf::<Money>(v, path)?,
            "cycle" => cycle(v, path)?,
            "alerts" => {
                let m = object(v, path)?;
                known_keys(m, path, "alerts option", ALERT_FIELDS)?;
                for (k, v) in m {
                    let p = format!("alerts.{k}");
                    match k.as_str() {
                        "thresholds_pct" => leaf::<Vec<u32>>(v, &p)?,
                        "on_committed" => leaf::<bool>(v, &p)?,
                        _ if v.is_null() => {}
                        _ => known_keys(object(v, &p)?, &p, "burn_rate option", BURN_FIELDS).and_then(|()| {
                            v.get("min_elapsed_ms").map_or(Ok(()), |x| leaf::<u64>(x, &format!("{p}.min_elapsed_ms")))
                        })?,
                    }
                }
            }
            "agents" => {
                for (name, p) in object(v, path)? {
                    policy(p, &format!("agents.{name}"))?;
                }
            }
            "default_agent" => policy(v, path)?,
            "allow_unknown_agents" => leaf::<Option<bool>>(v, path)?,
            "fair_share" if v.is_null() => {}
            "fair_share" => {
                let m = object(v, path)?;
                known_keys(m, path, "fair_share option", FAIR_FIELDS)?;
                for (k, v) in m {
                    let p = format!("fair_share.{k}");
                    if k == "when_committed_pct" {
                        leaf::<u32>(v, &p)?;
                    } else {
                        leaf::<u64>(v, &p)?;
                    }
                }
            }
            "report_top" => leaf::<usize>(v, path)?,
            _ => leaf::<u64>(v, path)?,
        }
    }
    Ok(())
}

/// An agent's policy at `path`.
fn policy(v: &Value, path: &str) -> Result<(), String> {
    let m = object(v, path)?;
    known_keys(m, path, "agent policy field", POLICY_FIELDS)?;
    for (k, v) in m {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "cap" if v.is_null() => {}
            "cap" => tagged(v, &p, CAP_SHAPE, CAP_KINDS, |kind| match kind {
                "absolute" => &["kind", "amount"],
                _ => &["kind", "basis_points"],
            })?,
            "weight" => leaf::<u32>(v, &p)?,
            "credits_per_minute" => leaf::<Option<Money>>(v, &p)?,
            _ => leaf::<Option<u32>>(v, &p)?,
        }
    }
    if let Some(cap) = m.get("cap").filter(|c| !c.is_null()) {
        if let Some(a) = cap.get("amount") {
            leaf::<Money>(a, &format!("{path}.cap.amount"))?;
        }
        if let Some(b) = cap.get("basis_points") {
            leaf::<u32>(b, &format!("{path}.cap.basis_points"))?;
        }
    }
    Ok(())
}

/// A cycle at `path`.
fn cycle(v: &Value, path: &str) -> Result<(), String> {
    tagged(v, path, CYCLE_SHAPE, CYCLE_KINDS, |kind| match kind {
        "monthly" => &["kind", "anchor_day"],
        _ => &["kind", "start_ms", "length_ms"],
    })?;
    for (k, x) in object(v, path)? {
        if k == "anchor_day" {
            leaf::<u32>(x, &format!("{path}.{k}"))?;
        } else if k != "kind" {
            leaf::<u64>(x, &format!("{path}.{k}"))?;
        }
    }
    Ok(())
}

/// An object tagged by `kind` (one of `kinds`), each kind with its fields.
fn tagged(v: &Value, path: &str, shape: &str, kinds: &[&str], fields: impl Fn(&str) -> &'static [&'static str]) -> Result<(), String> {
    let Some(m) = v.as_object() else {
        return Err(format!("{path}: expected {shape}, got {}", got(v)));
    };
    let kind = match m.get("kind") {
        Some(Value::String(k)) => k.as_str(),
        Some(other) => return Err(format!("{path}.kind: expected a string, got {}", got(other))),
        None => return Err(format!("{path}: expected {shape}; \"kind\" is missing")),
    };
    if !kinds.contains(&kind) {
        return Err(format!("{path}.kind: {}", crate::suggest::unknown_name_message("kind", kind, kinds)));
    }
    known_keys(m, path, &format!("field of a {kind:?} {}", if shape.starts_with("a cap") { "cap" } else { "cycle" }), fields(kind))
}

/// Refuses a key not among `known`, naming the closest.
fn known_keys(map: &serde_json::Map<String, Value>, path: &str, what: &str, known: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let words = crate::suggest::unknown_name_message(what, k, known);
            Err(if path.is_empty() { words } else { format!("{path}: {words}") })
        }
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("{path}: expected an object, got {}", got(v)))
}

/// One value read as `T`, its error in plain words.
fn leaf<T: DeserializeOwned>(v: &Value, path: &str) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone()).map(drop).map_err(|e| crate::error::plain_config_words(path, &e.to_string()))
}

/// What the caller gave, in words.
fn got(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("the string {:?}", s.chars().take(64).collect::<String>()),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        match PoolConfig::from_json_value(&v) {
            Err(PoolError::InvalidConfig { reason }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mistake_names_the_field_by_its_path_in_plain_words() {
        let e = err(json!({"limit": 1000, "agents": {"researcher": {"cap": 5}}}));
        assert_eq!(e, r#"agents.researcher.cap: expected a cap: {"kind": "absolute", "amount": ...} or {"kind": "share", "basis_points": ...}, got 5"#);
        assert_eq!(err(json!({"limit": 1000, "lease_ms": "x"})), r#"lease_ms: expected a whole number (0 or more), got the string "x""#);
        assert_eq!(err(json!({"limit": 1000, "leas_ms": 5})), r#"unknown pool option "leas_ms": did you mean "lease_ms"?"#);
        assert_eq!(err(json!({"limit": 1000, "default_agent": {"wieght": 2}})), r#"default_agent: unknown agent policy field "wieght": did you mean "weight"?"#);
        assert_eq!(err(json!({"limit": 1000, "cycle": {"kind": "weekly"}})), r#"cycle.kind: unknown kind "weekly": expected one of "monthly", "fixed""#);
        assert_eq!(err(json!({"limit": 1000, "agents": {"a": {"cap": {"kind": "share", "amount": 5}}}})), r#"agents.a.cap: unknown field of a "share" cap "amount": expected one of "kind", "basis_points""#);
        assert_eq!(err(json!({"limit": 1000, "alerts": {"thresholds_pct": [50, "x"]}})), r#"alerts.thresholds_pct: expected a whole number (0 or more), got the string "x""#);
        for e in [err(json!({"limit": 1000, "agents": {"a": {"cap": 5}}})), err(json!({"limit": 1000, "report_top": -1}))] {
            assert!(!e.contains("line") && !e.contains("internally tagged") && !e.contains("u64") && !e.contains("usize"), "{e}");
        }
    }

    #[test]
    fn a_restart_with_other_settings_says_what_it_did_not_apply() {
        let c = PoolConfig::from_json_value(&json!({"limit": 5_000_000_000u64, "agents": {"a": {"weight": 2}}})).unwrap();
        let limit = Money::from_nanos(5_000_000_000);
        assert_eq!(c.ignored_on_restore(limit, &json!({"limit": 5_000_000_000u64, "agents": {"a": {"weight": 2}}})).unwrap(), None);
        assert_eq!(c.ignored_on_restore(limit, &json!({})).unwrap(), None);
        let words = c.ignored_on_restore(limit, &json!({"limit": 10_000_000_000u64, "agents": {"a": {}}, "lease_ms": 5})).unwrap().unwrap();
        assert_eq!(
            words,
            "the restored pool keeps its own configuration; not applied: limit (the pool's is $5.00, given $10.00: change it with set_limit), \
             lease_ms (fixed when the pool was made), agents (change an agent's policy with set_agent_policy)"
        );
        // The current limit counts (a set_limit since), not the one at creation.
        assert_eq!(c.ignored_on_restore(Money::from_nanos(10_000_000_000), &json!({"limit": 10_000_000_000u64})).unwrap(), None);
        assert!(c.ignored_on_restore(limit, &json!({"lease_ms": "x"})).is_err());
    }

    #[test]
    fn a_good_configuration_reads_as_serde_would() {
        let v = json!({"limit": 1000, "agents": {"a": {"cap": {"kind": "absolute", "amount": 5}, "weight": 2}}, "fair_share": null,
                       "alerts": {"burn_rate": {"min_elapsed_ms": 5}}, "cycle": {"kind": "fixed", "start_ms": 0, "length_ms": 10}});
        assert_eq!(PoolConfig::from_json_value(&v).unwrap(), serde_json::from_value::<PoolConfig>(v).unwrap());
    }
}
