// CodeMirror 6 with Python highlighting; validation issues become lint
// diagnostics (underline + gutter marker on the line).
import { useEffect, useRef } from "react";
import { basicSetup, EditorView } from "codemirror";
import { python } from "@codemirror/lang-python";
import { Compartment, EditorState } from "@codemirror/state";
import { keymap, placeholder as cmPlaceholder } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";

export interface Marker { line: number | null; column: number | null; message: string; severity: "error" | "warning" }

interface Props {
  value: string;
  onChange?: (v: string) => void;
  markers?: Marker[];
  readOnly?: boolean;
  label: string;
  placeholder?: string;
  minLines?: number;
  dark: boolean;
}

const darkTheme = EditorView.theme({
  "&": { color: "#e6e8ee", backgroundColor: "#11141b" },
  ".cm-gutters": { backgroundColor: "#161a22", color: "#7d8597", border: "none" },
  ".cm-activeLine": { backgroundColor: "#1b2030" },
  ".cm-activeLineGutter": { backgroundColor: "#1b2030" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "#fff" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": { backgroundColor: "#2d3b5c !important" },
  ".cm-tooltip": { backgroundColor: "#1d2230", color: "#e6e8ee", border: "1px solid #394055" },
}, { dark: true });

const lightTheme = EditorView.theme({
  "&": { color: "#1b1f27", backgroundColor: "#ffffff" },
  ".cm-gutters": { backgroundColor: "#f3f4f7", color: "#6b7280", border: "none" },
}, { dark: false });

/** Offset in `doc` of a 1-based line and column, clamped into the document. */
function offsetOf(state: EditorState, line: number | null, column: number | null): number {
  const n = Math.min(Math.max(line ?? 1, 1), state.doc.lines);
  const l = state.doc.line(n);
  return Math.min(l.from + Math.max((column ?? 1) - 1, 0), l.to);
}

export function toDiagnostics(state: EditorState, markers: Marker[]): Diagnostic[] {
  return markers.map((m) => {
    const from = offsetOf(state, m.line, m.column);
    const lineEnd = state.doc.lineAt(from).to;
    return { from, to: Math.max(from, lineEnd), severity: m.severity, message: m.message };
  });
}

export function CodeEditor({ value, onChange, markers = [], readOnly, label, placeholder, minLines = 3, dark }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const themeSlot = useRef(new Compartment());

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          python(),
          lintGutter(),
          themeSlot.current.of(dark ? darkTheme : lightTheme),
          EditorState.readOnly.of(!!readOnly),
          EditorView.editable.of(!readOnly),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.theme({ ".cm-content, .cm-gutter": { minHeight: `${minLines * 1.4}em` } }),
          cmPlaceholder(placeholder ?? ""),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // The view is made once; value, markers and theme are pushed in below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readOnly, label]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: themeSlot.current.reconfigure(dark ? darkTheme : lightTheme) });
  }, [dark]);

  const markerKey = JSON.stringify(markers);
  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state, markers)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [markerKey, value]);

  return <div className="code-editor" ref={host} data-label={label} />;
}
