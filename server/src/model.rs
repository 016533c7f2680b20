//! The pipeline model, schema version 1: serde mirror of
//! engine/python/rillet/pipeline/schema_v1.json. Unknown fields are refused
//! so that a pipeline the server stores is one the engine understands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub schema_version: SchemaVersion,
    pub flow_id: String,
    #[serde(default)]
    pub prelude: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Always 1; anything else is refused when reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct SchemaVersion;

impl TryFrom<u32> for SchemaVersion {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        if v == SCHEMA_VERSION {
            Ok(SchemaVersion)
        } else {
            Err(format!("schema_version {v} is not supported; this server reads schema_version {SCHEMA_VERSION}"))
        }
    }
}

impl From<SchemaVersion> for u32 {
    fn from(_: SchemaVersion) -> u32 {
        SCHEMA_VERSION
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    pub op: String,
    pub step_id: String,
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Param {
    Literal { value: serde_json::Value },
    Expr { code: String },
    Function { code: String, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub node: String,
    pub port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    pub from: Endpoint,
    pub to: Endpoint,
}

impl Pipeline {
    /// An empty pipeline whose `flow_id` is made from `name`.
    pub fn empty(name: &str) -> Pipeline {
        Pipeline {
            schema_version: SchemaVersion,
            flow_id: flow_id_from_name(name),
            prelude: String::new(),
            nodes: Vec::new(),
            edges: Vec::new(),
        }
    }
}

/// A Python-identifier-like flow id: lower case letters, digits and `_`,
/// never starting with a digit, never empty, never containing a period.
pub fn flow_id_from_name(name: &str) -> String {
    let mut id = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('_') && !id.is_empty() {
            id.push('_');
        }
    }
    let id = id.trim_end_matches('_').to_string();
    match id.chars().next() {
        None => "flow".into(),
        Some(c) if c.is_ascii_digit() => format!("flow_{id}"),
        Some(_) => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids() {
        assert_eq!(flow_id_from_name("Word count (v2)"), "word_count_v2");
        assert_eq!(flow_id_from_name("  9 lives"), "flow_9_lives");
        assert_eq!(flow_id_from_name("日本"), "flow");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let ok = r#"{"schema_version":1,"flow_id":"f","nodes":[{"id":"n1","op":"map","step_id":"m",
            "params":{"mapper":{"kind":"function","code":"def f(x):\n    return x","name":"f"},
            "n":{"kind":"literal","value":3}},"position":{"x":1,"y":2}}],
            "edges":[{"from":{"node":"n0","port":"down"},"to":{"node":"n1","port":"up","index":0}}]}"#;
        let p: Pipeline = serde_json::from_str(ok).unwrap();
        let back: Pipeline = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(p, back);
        let bad = ok.replace("\"position\"", "\"extra\":1,\"position\"");
        assert!(serde_json::from_str::<Pipeline>(&bad).unwrap_err().to_string().contains("unknown field"));
        let v2 = ok.replace("\"schema_version\":1", "\"schema_version\":2");
        assert!(serde_json::from_str::<Pipeline>(&v2).unwrap_err().to_string().contains("schema_version 2"));
    }
}
