import { test } from "node:test";
import assert from "node:assert/strict";
import { checkConnection, inHandle, opIndex, outHandle, toFlow, toModel, uniqueStepId, type StepEdge, type StepNode } from "../src/editor/graph";
import type { Catalog, OperatorDef } from "../src/lib/types";

const op = (name: string, group: OperatorDef["group"], inputs: OperatorDef["inputs"], outputs: OperatorDef["outputs"]): OperatorDef =>
  ({ name, module: "rillet.operators", group, summary: "", doc: "", params: [], inputs, outputs });

const cat: Catalog = {
  schema_version: 1,
  groups: ["sources", "transforms", "stateful", "windows", "sinks"],
  operators: [
    op("input", "sources", [], [{ name: "down", keyed: false }]),
    op("map", "transforms", [{ name: "up", multi: false, keyed: false }], [{ name: "down", keyed: false }]),
    op("filter", "transforms", [{ name: "up", multi: false, keyed: false }], [{ name: "down", keyed: false, same_as: "up" }]),
    op("key_on", "transforms", [{ name: "up", multi: false, keyed: false }], [{ name: "down", keyed: true }]),
    op("stateful_map", "stateful", [{ name: "up", multi: false, keyed: true }], [{ name: "down", keyed: true }]),
    op("merge", "transforms", [{ name: "ups", multi: true, keyed: false }], [{ name: "down", keyed: false, same_as: "ups" }]),
  ],
  constructors: [
    { name: "FileSource", kind: "source", module: "m", import: "", summary: "", doc: "", params: [], items: "plain" },
    { name: "TestingSource", kind: "source", module: "m", import: "", summary: "", doc: "", params: [], items: "any" },
  ],
  types: {},
};
const ops = opIndex(cat);

const node = (id: string, o: string, params: StepNode["data"]["params"] = {}): StepNode =>
  ({ id, type: "step", position: { x: 0, y: 0 }, data: { op: o, step_id: id, params } });
const edge = (a: string, b: string, port = "up"): StepEdge =>
  ({ id: `${a}-${b}`, source: a, sourceHandle: outHandle("down"), target: b, targetHandle: inHandle(port) });
const can = (nodes: StepNode[], edges: StepEdge[], a: string, b: string, port = "up") =>
  checkConnection(cat, ops, nodes, edges, a, outHandle("down"), b, inHandle(port));

test("a plain source can't feed a keyed input; key_on in between can", () => {
  const nodes = [node("src", "input", { source: { kind: "expr", code: 'FileSource("x")' } }), node("sm", "stateful_map"), node("k", "key_on")];
  const r = can(nodes, [], "src", "sm");
  assert.equal(r.ok, false);
  assert.match(r.reason!, /needs keyed items.*key_on/);
  assert.equal(can(nodes, [], "k", "sm").ok, true);
});

test("keyedness passes through same_as outputs; unknown items are left to validation", () => {
  const nodes = [node("src", "input", { source: { kind: "expr", code: "FileSource('x')" } }), node("f", "filter"), node("sm", "stateful_map"),
    node("t", "input", { source: { kind: "expr", code: "TestingSource([])" } })];
  assert.equal(can(nodes, [edge("src", "f")], "f", "sm").ok, false);
  assert.equal(can(nodes, [], "t", "sm").ok, true);
});

test("an input takes one stream; a multi input numbers its streams", () => {
  const nodes = [node("a", "input"), node("b", "input"), node("m", "map"), node("g", "merge")];
  const r = can(nodes, [edge("a", "m")], "b", "m");
  assert.equal(r.ok, false);
  assert.match(r.reason!, /already takes the stream of "a"/);
  assert.equal(can(nodes, [], "a", "g", "ups").index, 0);
  assert.equal(can(nodes, [edge("a", "g", "ups")], "b", "g", "ups").index, 1);
});

test("cycles and self-loops are refused with a reason", () => {
  const nodes = [node("a", "map"), node("b", "map"), node("c", "map")];
  assert.match(can(nodes, [], "a", "a").reason!, /own output/);
  assert.match(can(nodes, [edge("a", "b"), edge("b", "c")], "c", "a").reason!, /cycle/);
});

test("toFlow and toModel round-trip a pipeline", () => {
  const p = {
    schema_version: 1 as const, flow_id: "f", prelude: "import time",
    nodes: [
      { id: "a", op: "input", step_id: "a", params: { source: { kind: "expr" as const, code: "TestingSource([1])" } }, position: { x: 1, y: 2 } },
      { id: "g", op: "merge", step_id: "g", params: {}, position: { x: 3, y: 4 } },
    ],
    edges: [{ from: { node: "a", port: "down" }, to: { node: "g", port: "ups", index: 0 } }],
  };
  const f = toFlow(p);
  assert.deepEqual(toModel("f", "import time", f.nodes, f.edges), p);
});

test("uniqueStepId avoids taken ids and periods", () => {
  assert.equal(uniqueStepId("map", new Set(["map", "map_2"])), "map_3");
  assert.equal(uniqueStepId("a.b", new Set()), "a_b");
});
