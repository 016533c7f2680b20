// Just enough reading and writing of Python expressions for the forms:
// constructor calls such as `TumblingWindower(length=timedelta(minutes=1),
// align_to=datetime(2024, 6, 1, tzinfo=timezone.utc))`. Anything these
// functions can't read is left to the code editor, untouched.

/** Splits `s` at top-level `sep`, ignoring separators inside brackets and strings. */
export function splitTopLevel(s: string, sep = ","): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === "\\") i++;
      else if (s.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = null;
      }
      continue;
    }
    if (c === "'" || c === '"') quote = s.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (c === sep && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p, i, all) => p !== "" || i < all.length - 1);
}

export interface Call { name: string; args: { name: string | null; code: string }[] }

/** `Name(a, b=c)` as its parts, or null when `code` is not one plain call. */
export function parseCall(code: string): Call | null {
  const m = /^\s*([A-Za-z_][\w.]*)\s*\(([\s\S]*)\)\s*$/.exec(code);
  if (!m) return null;
  const inner = m[2];
  // `f(a)(b)` or `f(a) + g(b)` also match the pattern: the first `(` must close at the end.
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c) && --depth < 0) return null;
  }
  if (depth !== 0 || quote) return null;
  const args = splitTopLevel(inner).map((a) => {
    const kw = /^([A-Za-z_]\w*)\s*=(?!=)\s*([\s\S]*)$/.exec(a);
    return kw ? { name: kw[1], code: kw[2].trim() } : { name: null, code: a };
  });
  return { name: m[1], args };
}

export function formatCall(name: string, args: { name: string | null; code: string }[]): string {
  return `${name}(${args.map((a) => (a.name ? `${a.name}=${a.code}` : a.code)).join(", ")})`;
}

export const DURATION_UNITS = ["milliseconds", "seconds", "minutes", "hours", "days"] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];
const UNIT_SECONDS: Record<DurationUnit, number> = { milliseconds: 0.001, seconds: 1, minutes: 60, hours: 3600, days: 86400 };

/** `timedelta(minutes=1)` as {value: 1, unit: "minutes"}; several units add up in seconds. */
export function parseTimedelta(code: string): { value: number; unit: DurationUnit } | null {
  const call = parseCall(code);
  if (!call || !/^(datetime\.)?timedelta$/.test(call.name) || call.args.length === 0) return null;
  let seconds = 0;
  const order = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"];
  for (const [i, a] of call.args.entries()) {
    const unit = a.name ?? order[i];
    const n = Number(a.code);
    if (!Number.isFinite(n) || a.code.trim() === "") return null;
    const per = unit === "weeks" ? 604800 : unit === "microseconds" ? 1e-6 : UNIT_SECONDS[unit as DurationUnit];
    if (per === undefined) return null;
    if (call.args.length === 1 && unit in UNIT_SECONDS) return { value: n, unit: unit as DurationUnit };
    seconds += n * per;
  }
  return { value: seconds, unit: "seconds" };
}

export function formatTimedelta(value: number, unit: DurationUnit): string {
  return `timedelta(${unit}=${value})`;
}

/** `datetime(2024, 6, 1, tzinfo=timezone.utc)` as "2024-06-01T00:00:00" (UTC), or null. */
export function parseDatetime(code: string): string | null {
  const call = parseCall(code);
  if (!call || !/^(datetime\.)?datetime$/.test(call.name)) return null;
  const nums: number[] = [];
  let utc = false;
  for (const a of call.args) {
    if (a.name === "tzinfo") utc = /^(timezone\.utc|datetime\.timezone\.utc|UTC|ZoneInfo\(["']UTC["']\))$/.test(a.code);
    else if (a.name === null && /^\d+$/.test(a.code)) nums.push(Number(a.code));
    else return null;
  }
  if (!utc || nums.length < 3 || nums.length > 6) return null;
  const [y, mo, d, h = 0, mi = 0, s = 0] = nums;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}`;
}

/** "2024-06-01T00:00" from a datetime-local input as a UTC `datetime(...)` call. */
export function formatDatetime(local: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(local);
  if (!m) return null;
  const n = m.slice(1).map((x) => Number(x ?? 0));
  return `datetime(${n.join(", ")}, tzinfo=timezone.utc)`;
}

/** The name a `def` snippet defines, or null when `code` is not a function definition. */
export function defName(code: string): string | null {
  const m = /^(?:@[^\n]*\n\s*)*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(code.trimStart());
  return m ? m[1] : null;
}

/** Adds each of `lines` (import statements) to the prelude unless what it
 * imports is imported there already (`from datetime import timedelta` is
 * covered by `from datetime import datetime, timedelta`). */
export function withImports(prelude: string, lines: string[]): string {
  const have = new Set<string>();
  for (const l of prelude.split("\n")) {
    const t = l.trim();
    have.add(t);
    const m = /^from\s+([\w.]+)\s+import\s+\(?([\w\s,]+?)\)?$/.exec(t);
    if (m) for (const name of m[2].split(",")) have.add(`from ${m[1]} import ${name.trim()}`);
  }
  const covered = (line: string) => {
    const t = line.trim();
    if (have.has(t)) return true;
    const m = /^from\s+([\w.]+)\s+import\s+([\w\s,]+)$/.exec(t);
    return !!m && m[2].split(",").every((n) => have.has(`from ${m[1]} import ${n.trim()}`));
  };
  const missing = [...new Set(lines)].filter((l) => !covered(l));
  if (missing.length === 0) return prelude;
  const body = prelude.replace(/^\n+/, "");
  return missing.join("\n") + (body ? "\n" + body : "\n");
}
