// What the palette offers: every operator of the catalog, plus a ready-made
// `input` per source class and an `output` per sink class, so "a testing
// source" is one drag instead of an input step and a form to fill.
import type { Catalog, Group, Param } from "../lib/types";

export interface PaletteItem {
  key: string;
  label: string;
  op: string;
  group: Group;
  summary: string;
  stepBase: string;
  params: Record<string, Param>;
  imports: string[];
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/** Starter code for a constructor argument, so a fresh source runs as it is. */
function starter(cat: Catalog, type: string | undefined, name: string): string | null {
  if (type && cat.types[type]) return cat.types[type].example;
  if (name === "ib") return "[1, 2, 3]";
  if (type === "str") return JSON.stringify(name.replace(/_name$/, ""));
  if (type === "int") return "1";
  return null;
}

export function paletteItems(cat: Catalog): PaletteItem[] {
  const items: PaletteItem[] = [];
  for (const o of cat.operators) {
    items.push({ key: o.name, label: o.name, op: o.name, group: o.group, summary: o.summary, stepBase: o.name, params: {}, imports: [] });
    const kind = o.name === "input" ? "source" : o.name === "output" ? "sink" : null;
    if (!kind) continue;
    const slot = o.params.find((p) => p.type === kind);
    if (!slot) continue;
    for (const c of cat.constructors.filter((x) => x.kind === kind)) {
      const args = c.params.filter((p) => p.required).map((p) => [p.name, starter(cat, p.type, p.name)] as const);
      if (args.some(([, code]) => code === null)) continue; // needs a value we can't guess: use the plain operator
      const code = `${c.name}(${args.map(([n, v]) => `${n}=${v}`).join(", ")})`;
      const imports = [c.import, ...c.params.filter((p) => p.required && p.type && cat.types[p.type]).flatMap((p) => cat.types[p.type!].imports)];
      items.push({
        key: `${o.name}:${c.name}`, label: c.name, op: o.name, group: o.group, summary: `${c.summary || c.name} (an ${o.name} step)`,
        stepBase: snake(c.name).replace(/_(source|sink)$/, "") || o.name, params: { [slot.name]: { kind: "expr", code } }, imports,
      });
    }
  }
  return items;
}
