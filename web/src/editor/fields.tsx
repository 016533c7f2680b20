// One form widget per catalog value type. Every widget reads and writes
// Python source (`code`); the node keeps literals as literals (see
// `paramFromCode`). A widget that can't read the code it is given shows the
// code editor instead, so nothing a user typed is ever lost.
import { useState } from "react";
import type { Catalog, ConstructorDef, Param, ParamDef } from "../lib/types";
import { CodeEditor, type Marker } from "../components/CodeEditor";
import {
  defName, DURATION_UNITS, type DurationUnit, formatCall, formatDatetime, formatTimedelta, parseCall,
  parseDatetime, parseTimedelta,
} from "../lib/pyexpr";

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyRepr(x)}`).join(", ")}}`;
  return String(v);
}

/** The text of a Python string literal, or null if `code` is not one plain literal. */
export function pyString(code: string): string | null {
  const c = code.trim();
  if (/^"(?:[^"\\\n]|\\.)*"$/.test(c)) {
    try { return JSON.parse(c); } catch { return null; }
  }
  if (/^'(?:[^'\\\n]|\\.)*'$/.test(c)) {
    const inner = c.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"');
    try { return JSON.parse(`"${inner}"`); } catch { return null; }
  }
  return null;
}

export function codeOfParam(p: Param | undefined): string {
  if (!p) return "";
  return p.kind === "literal" ? pyRepr(p.value) : p.code;
}

/** The node param for `code` typed into a field of type `type`. */
export function paramFromCode(def: ParamDef, code: string): Param | undefined {
  const c = code.trim();
  if (c === "") return undefined;
  const t = def.type;
  if (t === "callable" && defName(code)) return { kind: "function", code, name: defName(code)! };
  if ((t === "int" && /^-?\d+$/.test(c)) || (t === "float" && /^-?\d+(\.\d*)?([eE][-+]?\d+)?$/.test(c))) {
    return { kind: "literal", value: Number(c) };
  }
  if (t === "bool" && (c === "True" || c === "False")) return { kind: "literal", value: c === "True" };
  if (c === "None" && def.nullable) return { kind: "literal", value: null };
  if ((t === "str" || t === "path" || t === "enum") && pyString(c) !== null) return { kind: "literal", value: pyString(c) };
  if (t === "enum" && def.choices?.some((x) => pyRepr(x) === c)) return { kind: "literal", value: def.choices.find((x) => pyRepr(x) === c) };
  return { kind: "expr", code };
}

export interface FieldProps {
  def: ParamDef;
  code: string;
  onChange: (code: string, imports?: string[]) => void;
  cat: Catalog;
  dark: boolean;
  markers: Marker[];
  label: string;
}

function RawCode({ def, code, onChange, dark, markers, label, lines = 1 }: FieldProps & { lines?: number }) {
  const hint = def.default !== undefined ? `default: ${def.default}` : def.type === "callable" ? callableHint(def) : "Python expression";
  return <CodeEditor value={code} onChange={(v) => onChange(v)} dark={dark} markers={markers} label={label} placeholder={hint} minLines={lines} />;
}

function callableHint(def: ParamDef): string {
  const m = /Callable\[\[(.*?)\]/.exec(def.annotation);
  const n = m ? m[1].split(",").filter((s) => s.trim()).length : 1;
  const args = ["x", "y", "z"].slice(0, n).join(", ") || "x";
  const names = n === 2 && /stateful|state/i.test(def.annotation + def.doc) ? "state, value" : args;
  return `lambda ${names}: ...   or a def`;
}

function Duration(props: FieldProps) {
  const parsed = parseTimedelta(props.code);
  const [forceRaw, setRaw] = useState(false);
  const raw = forceRaw || (props.code !== "" && !parsed);
  const imports = props.cat.types.timedelta?.imports ?? ["from datetime import timedelta"];
  if (raw) return <WithToggle raw onToggle={() => setRaw(false)} canForm={!!parsed || props.code === ""}>{RawCode(props)}</WithToggle>;
  const value = parsed?.value ?? "";
  const unit = parsed?.unit ?? "seconds";
  const set = (v: string, u: DurationUnit) => props.onChange(v === "" ? "" : formatTimedelta(Number(v), u), imports);
  return (
    <WithToggle onToggle={() => setRaw(true)}>
      <div className="row">
        <input type="number" min={0} step="any" value={value} aria-label={`${props.label} amount`}
          placeholder={props.def.default ?? ""} onChange={(e) => set(e.target.value, unit)} />
        <select aria-label={`${props.label} unit`} value={unit} onChange={(e) => value !== "" && set(String(value), e.target.value as DurationUnit)}>
          {DURATION_UNITS.map((u) => <option key={u} value={u}>{u}</option>)}
        </select>
      </div>
    </WithToggle>
  );
}

function DateTime(props: FieldProps) {
  const parsed = parseDatetime(props.code);
  const [forceRaw, setRaw] = useState(false);
  const raw = forceRaw || (props.code !== "" && !parsed);
  const imports = props.cat.types.datetime?.imports ?? ["from datetime import datetime, timezone"];
  if (raw) return <WithToggle raw onToggle={() => setRaw(false)} canForm={!!parsed || props.code === ""}>{RawCode(props)}</WithToggle>;
  return (
    <WithToggle onToggle={() => setRaw(true)}>
      <div className="row">
        <input type="datetime-local" step={1} value={parsed ?? ""} aria-label={`${props.label} (UTC)`}
          onChange={(e) => props.onChange(formatDatetime(e.target.value) ?? "", [...imports, "from datetime import timezone"])} />
        <span className="muted">UTC</span>
      </div>
    </WithToggle>
  );
}

/** A str or path: a plain input. A path is written `Path("...")` (a plain
 * string literal is read too). */
function Text(props: FieldProps) {
  const isPath = props.def.type === "path";
  const inner = isPath ? /^\s*(?:pathlib\.)?Path\(([\s\S]*)\)\s*$/.exec(props.code)?.[1] ?? props.code : props.code;
  const s = pyString(inner);
  const [forceRaw, setRaw] = useState(false);
  const raw = forceRaw || (props.code !== "" && s === null);
  if (raw) return <WithToggle raw onToggle={() => setRaw(false)} canForm={s !== null || props.code === ""}>{RawCode(props)}</WithToggle>;
  const write = (v: string) => {
    if (v === "") return props.onChange("");
    if (!isPath) return props.onChange(JSON.stringify(v));
    props.onChange(`Path(${JSON.stringify(v)})`, props.cat.types.path?.imports ?? ["from pathlib import Path"]);
  };
  return (
    <WithToggle onToggle={() => setRaw(true)}>
      <input type="text" value={s ?? ""} aria-label={props.label} placeholder={props.def.default ?? (isPath ? "data/input.txt" : "")}
        onChange={(e) => write(e.target.value)} />
    </WithToggle>
  );
}

function NumberField(props: FieldProps) {
  return (
    <input type="text" inputMode="decimal" value={props.code} aria-label={props.label} placeholder={props.def.default ?? ""}
      onChange={(e) => props.onChange(e.target.value)} />
  );
}

function Choice(props: FieldProps & { choices: string[] }) {
  return (
    <select value={props.code} aria-label={props.label} onChange={(e) => props.onChange(e.target.value)}>
      <option value="">{props.def.default !== undefined ? `default (${props.def.default})` : "choose…"}</option>
      {props.choices.map((c) => <option key={c} value={c}>{c}</option>)}
      {props.code !== "" && !props.choices.includes(props.code) && <option value={props.code}>{props.code}</option>}
    </select>
  );
}

function Constructor(props: FieldProps) {
  const kind = props.def.type as ConstructorDef["kind"];
  const ctors = props.cat.constructors.filter((c) => c.kind === kind);
  const call = parseCall(props.code);
  const ctor = call && ctors.find((c) => c.name === call.name || call.name.endsWith("." + c.name));
  const [forceRaw, setRaw] = useState(false);
  if (forceRaw || (props.code !== "" && !ctor)) {
    return <WithToggle raw onToggle={() => setRaw(false)} canForm={!!ctor || props.code === ""}>{RawCode({ ...props })}</WithToggle>;
  }
  const argCode = (p: ParamDef, i: number): string => {
    if (!call) return "";
    const kw = call.args.find((a) => a.name === p.name);
    if (kw) return kw.code;
    const positional = call.args.filter((a) => a.name === null);
    return positional[i]?.code ?? "";
  };
  const choose = (name: string) => {
    const c = ctors.find((x) => x.name === name);
    if (!c) return props.onChange("");
    const args = c.params.filter((p) => p.required).map((p) => ({ name: p.name, code: starterCode(p, props.cat) }));
    props.onChange(formatCall(c.name, args), [c.import, ...importsFor(c.params, props.cat)]);
  };
  const setArg = (p: ParamDef, code: string, imports: string[] = []) => {
    if (!ctor) return;
    const args = ctor.params
      .map((q, i) => ({ name: q.name, code: q.name === p.name ? code : argCode(q, i) }))
      .filter((a) => a.code.trim() !== "");
    props.onChange(formatCall(ctor.name, args), [ctor.import, ...imports]);
  };
  return (
    <WithToggle onToggle={() => setRaw(true)}>
      <select value={ctor?.name ?? ""} aria-label={props.label} onChange={(e) => choose(e.target.value)}>
        <option value="">{props.def.required ? `choose a ${kind}…` : `default (${props.def.default ?? "None"})`}</option>
        {ctors.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
      </select>
      {ctor && <p className="muted small">{ctor.summary}</p>}
      {ctor && (
        <div className="ctor-args">
          {ctor.params.map((p, i) => (
            <Field key={`${ctor.name}.${p.name}`} def={p} code={argCode(p, i)} cat={props.cat} dark={props.dark} markers={[]}
              label={`${props.label} ${p.name}`} onChange={(c, imp) => setArg(p, c, imp)} />
          ))}
        </div>
      )}
    </WithToggle>
  );
}

function importsFor(params: ParamDef[], cat: Catalog): string[] {
  return params.filter((p) => p.required && p.type && cat.types[p.type]).flatMap((p) => cat.types[p.type!].imports);
}

/** Code a new required argument starts with, so a fresh constructor is close to valid. */
function starterCode(p: ParamDef, cat: Catalog): string {
  if (p.type && cat.types[p.type]) return cat.types[p.type].example;
  if (p.type === "callable") return "lambda item: item";
  if (p.type === "str") return '""';
  if (p.type === "int") return "1";
  return "";
}

function WithToggle({ children, raw, onToggle, canForm = true }: { children: React.ReactNode; raw?: boolean; onToggle: () => void; canForm?: boolean }) {
  return (
    <div className="with-toggle">
      <div className="grow">{children}</div>
      {(!raw || canForm) && (
        <button type="button" className="icon small" onClick={onToggle} title={raw ? "Edit with the form" : "Edit as Python code"}
          aria-label={raw ? "edit with the form" : "edit as Python code"}>{raw ? "form" : "</>"}</button>
      )}
    </div>
  );
}

export function Field(props: FieldProps) {
  const t = props.def.type;
  let widget: React.ReactNode;
  switch (t) {
    case "callable":
      widget = <RawCode {...props} lines={2} />;
      break;
    case "timedelta":
      widget = <Duration {...props} />;
      break;
    case "datetime":
      widget = <DateTime {...props} />;
      break;
    case "str":
    case "path":
      widget = <Text {...props} />;
      break;
    case "int":
    case "float":
      widget = <NumberField {...props} />;
      break;
    case "bool":
      widget = <Choice {...props} choices={["True", "False"]} />;
      break;
    case "enum":
      widget = <Choice {...props} choices={(props.def.choices ?? []).map(pyRepr)} />;
      break;
    case "source":
    case "sink":
    case "clock":
    case "windower":
      widget = <Constructor {...props} />;
      break;
    default:
      widget = <RawCode {...props} />;
  }
  return (
    <div className={`field type-${t ?? "any"}`}>
      <label className="field-label" title={props.def.annotation}>
        {props.def.name}
        {props.def.required && <span className="req" aria-hidden> *</span>}
        <span className="muted small"> {t}{props.def.nullable ? " | None" : ""}</span>
      </label>
      {widget}
      {props.def.doc && <p className="muted small field-doc">{props.def.doc}</p>}
      {props.markers.filter((m) => m.severity === "error").map((m, i) => (
        <p key={i} className="field-error" role="alert">{m.line ? `line ${m.line}: ` : ""}{m.message}</p>
      ))}
    </div>
  );
}
