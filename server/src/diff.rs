//! Differences between two versions of a pipeline: nodes and edges by id,
//! and unified diffs of every piece of Python (prelude and code params).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use similar::TextDiff;

use crate::model::{Edge, Node, Param, Pipeline};

#[derive(Debug, Serialize, PartialEq)]
pub struct Diff {
    pub nodes: NodesDiff,
    pub edges: EdgesDiff,
    pub code: Vec<CodeDiff>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct NodesDiff {
    pub added: Vec<Node>,
    pub removed: Vec<Node>,
    pub changed: Vec<ChangedNode>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ChangedNode {
    pub id: String,
    pub step_id: String,
    /// `op`, `step_id`, `position` or `params.<name>`.
    pub fields: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct EdgesDiff {
    pub added: Vec<Edge>,
    pub removed: Vec<Edge>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CodeDiff {
    /// `prelude`, or `<node id>.<param>`.
    #[serde(rename = "where")]
    pub location: String,
    pub diff: String,
}

/// The Python text of a param, if it is code.
fn code_of(p: &Param) -> Option<&str> {
    match p {
        Param::Literal { .. } => None,
        Param::Expr { code } | Param::Function { code, .. } => Some(code),
    }
}

fn unified(old: &str, new: &str, location: &str, from: &str, to: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{from}/{location}"), &format!("{to}/{location}"))
        .to_string()
}

/// Compares `a` (labelled `from`, e.g. `v1`) with `b` (`to`).
pub fn diff(a: &Pipeline, b: &Pipeline, from: &str, to: &str) -> Diff {
    let old: BTreeMap<&str, &Node> = a.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let new: BTreeMap<&str, &Node> = b.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut nodes = NodesDiff { added: vec![], removed: vec![], changed: vec![] };
    let mut code = Vec::new();
    if a.prelude != b.prelude {
        code.push(CodeDiff { location: "prelude".into(), diff: unified(&a.prelude, &b.prelude, "prelude", from, to) });
    }
    let ids: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    for id in ids {
        let (o, n) = (old.get(id).copied(), new.get(id).copied());
        match (o, n) {
            (None, Some(n)) => nodes.added.push(n.clone()),
            (Some(o), None) => nodes.removed.push(o.clone()),
            (Some(o), Some(n)) => {
                let mut fields = Vec::new();
                if o.op != n.op {
                    fields.push("op".to_string());
                }
                if o.step_id != n.step_id {
                    fields.push("step_id".to_string());
                }
                let names: BTreeSet<&String> = o.params.keys().chain(n.params.keys()).collect();
                for name in names {
                    if o.params.get(name) != n.params.get(name) {
                        fields.push(format!("params.{name}"));
                    }
                }
                if o.position != n.position {
                    fields.push("position".to_string());
                }
                if !fields.is_empty() {
                    nodes.changed.push(ChangedNode { id: id.to_string(), step_id: n.step_id.clone(), fields });
                }
            }
            (None, None) => unreachable!("the id came from one of the maps"),
        }
        // Code of added and removed nodes too: against nothing.
        let params: BTreeSet<&String> =
            o.iter().flat_map(|x| x.params.keys()).chain(n.iter().flat_map(|x| x.params.keys())).collect();
        for name in params {
            let before = o.and_then(|x| x.params.get(name)).and_then(code_of);
            let after = n.and_then(|x| x.params.get(name)).and_then(code_of);
            if (before.is_some() || after.is_some()) && before != after {
                let location = format!("{id}.{name}");
                let text = unified(before.unwrap_or(""), after.unwrap_or(""), &location, from, to);
                code.push(CodeDiff { location, diff: text });
            }
        }
    }
    let old_edges: BTreeSet<&Edge> = a.edges.iter().collect();
    let new_edges: BTreeSet<&Edge> = b.edges.iter().collect();
    let edges = EdgesDiff {
        added: new_edges.difference(&old_edges).map(|e| (*e).clone()).collect(),
        removed: old_edges.difference(&new_edges).map(|e| (*e).clone()).collect(),
    };
    Diff { nodes, edges, code }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: serde_json::Value) -> Pipeline {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn finds_every_kind_of_change() {
        let a = p(serde_json::json!({
            "schema_version": 1, "flow_id": "f", "prelude": "import os\n",
            "nodes": [
                {"id": "a", "op": "input", "step_id": "inp", "params": {"source": {"kind": "expr", "code": "S()"}}},
                {"id": "b", "op": "map", "step_id": "m", "params": {"mapper": {"kind": "function", "name": "f", "code": "def f(x):\n    return x\n"}}},
                {"id": "c", "op": "inspect", "step_id": "i"}
            ],
            "edges": [{"from": {"node": "a", "port": "down"}, "to": {"node": "b", "port": "up"}},
                      {"from": {"node": "b", "port": "down"}, "to": {"node": "c", "port": "up"}}]
        }));
        let b = p(serde_json::json!({
            "schema_version": 1, "flow_id": "f", "prelude": "import os\nimport re\n",
            "nodes": [
                {"id": "a", "op": "input", "step_id": "inp", "params": {"source": {"kind": "expr", "code": "S()"}}, "position": {"x": 1, "y": 2}},
                {"id": "b", "op": "map", "step_id": "m2", "params": {"mapper": {"kind": "function", "name": "f", "code": "def f(x):\n    return x + 1\n"}}},
                {"id": "d", "op": "output", "step_id": "o", "params": {"sink": {"kind": "expr", "code": "StdOutSink()"}}}
            ],
            "edges": [{"from": {"node": "a", "port": "down"}, "to": {"node": "b", "port": "up"}},
                      {"from": {"node": "b", "port": "down"}, "to": {"node": "d", "port": "up"}}]
        }));
        let d = diff(&a, &b, "v1", "v2");
        assert_eq!(d.nodes.added.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["d"]);
        assert_eq!(d.nodes.removed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(
            d.nodes.changed,
            [
                ChangedNode { id: "a".into(), step_id: "inp".into(), fields: vec!["position".into()] },
                ChangedNode {
                    id: "b".into(),
                    step_id: "m2".into(),
                    fields: vec!["step_id".into(), "params.mapper".into()]
                },
            ]
        );
        assert_eq!(d.edges.added.len(), 1);
        assert_eq!(d.edges.removed[0].to.node, "c");
        let wheres: Vec<_> = d.code.iter().map(|c| c.location.as_str()).collect();
        assert_eq!(wheres, ["prelude", "b.mapper", "d.sink"]);
        assert!(d.code[1].diff.contains("-    return x\n+    return x + 1\n"), "{}", d.code[1].diff);
        assert!(d.code[1].diff.starts_with("--- v1/b.mapper\n+++ v2/b.mapper\n"), "{}", d.code[1].diff);
        assert!(
            diff(&a, &a, "v1", "v1")
                == Diff {
                    nodes: NodesDiff { added: vec![], removed: vec![], changed: vec![] },
                    edges: EdgesDiff { added: vec![], removed: vec![] },
                    code: vec![],
                }
        );
    }
}
