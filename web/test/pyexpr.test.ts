import { test } from "node:test";
import assert from "node:assert/strict";
import {
  defName, formatCall, formatDatetime, parseCall, parseDatetime, parseTimedelta, splitTopLevel, withImports,
} from "../src/lib/pyexpr";
import { prettyRepr } from "../src/lib/pretty";

test("splitTopLevel ignores commas in brackets and strings", () => {
  assert.deepEqual(splitTopLevel('a, f(b, c), "d,e", [1, 2]'), ["a", "f(b, c)", '"d,e"', "[1, 2]"]);
});

test("parseCall reads positional and keyword arguments", () => {
  const c = parseCall('EventClock(lambda r: r["time"], wait_for_system_duration=timedelta(seconds=10))');
  assert.deepEqual(c, {
    name: "EventClock",
    args: [{ name: null, code: 'lambda r: r["time"]' }, { name: "wait_for_system_duration", code: "timedelta(seconds=10)" }],
  });
  assert.equal(parseCall("SystemClock()")?.args.length, 0);
});

test("parseCall refuses what is not one call", () => {
  assert.equal(parseCall("f(a)(b)"), null);
  assert.equal(parseCall("f(a) + g(b)"), null);
  assert.equal(parseCall("WINDOW"), null);
  assert.equal(parseCall("f(a == b)")?.args[0].name, null);
});

test("formatCall writes keyword arguments", () => {
  assert.equal(formatCall("TumblingWindower", [{ name: "length", code: "timedelta(minutes=1)" }]), "TumblingWindower(length=timedelta(minutes=1))");
});

test("timedelta round trip and what is left to the code editor", () => {
  assert.deepEqual(parseTimedelta("timedelta(minutes=1)"), { value: 1, unit: "minutes" });
  assert.deepEqual(parseTimedelta("timedelta(seconds=0.7)"), { value: 0.7, unit: "seconds" });
  assert.deepEqual(parseTimedelta("timedelta(minutes=1, seconds=30)"), { value: 90, unit: "seconds" });
  assert.deepEqual(parseTimedelta("timedelta(1)"), { value: 1, unit: "days" });
  assert.equal(parseTimedelta("WINDOW"), null);
  assert.equal(parseTimedelta("timedelta(seconds=n)"), null);
});

test("datetime alignment is UTC only", () => {
  assert.equal(parseDatetime("datetime(2024, 6, 1, tzinfo=timezone.utc)"), "2024-06-01T00:00:00");
  assert.equal(parseDatetime("datetime(2024, 6, 1, 10, 30, tzinfo=timezone.utc)"), "2024-06-01T10:30:00");
  assert.equal(parseDatetime("datetime(2024, 6, 1)"), null, "a naive datetime is not offered as UTC");
  assert.equal(formatDatetime("2024-06-01T10:30"), "datetime(2024, 6, 1, 10, 30, 0, tzinfo=timezone.utc)");
  assert.equal(parseDatetime(formatDatetime("2024-06-01T10:30:05")!), "2024-06-01T10:30:05");
});

test("defName finds the function a snippet defines", () => {
  assert.equal(defName("def double(x):\n    return x * 2"), "double");
  assert.equal(defName("@cache\ndef f(a):\n    pass"), "f");
  assert.equal(defName("lambda x: x"), null);
});

test("withImports adds only what the prelude lacks", () => {
  const prelude = "from datetime import datetime, timedelta, timezone\nX = 1";
  assert.equal(withImports(prelude, ["from datetime import datetime, timezone", "from datetime import timedelta"]), prelude);
  assert.equal(withImports(prelude, ["import time"]), "import time\n" + prelude);
  assert.equal(withImports("", ["import time", "import time"]), "import time\n");
});

test("prettyRepr breaks long reprs at top-level commas, keeps strings", () => {
  const short = "('a', 1)";
  assert.equal(prettyRepr(short), short);
  const long = `{'sensor': 'a, b', 'values': [${Array.from({ length: 30 }, (_, i) => i).join(", ")}], 'ok': True}`;
  const out = prettyRepr(long);
  assert.ok(out.includes("'sensor': 'a, b',\n"), out);
  assert.equal(out.replace(/\s+/g, ""), long.replace(/\s+/g, ""));
});
