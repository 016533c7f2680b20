// The operator catalog, grouped and searchable. Drag an item onto the
// canvas, or click it (Enter in the search box adds the first match) to add
// it in the middle of the view.
import { forwardRef, useMemo, useState } from "react";
import type { Group } from "../lib/types";
import type { PaletteItem } from "./palette-items";

export const DRAG_TYPE = "application/x-rillet-op";

const GROUP_TITLES: Record<string, string> = {
  sources: "Sources", transforms: "Transforms", stateful: "Stateful", windows: "Windows", sinks: "Sinks",
};

interface Props { groups: Group[]; items: PaletteItem[]; onAdd: (item: PaletteItem) => void }

export const Palette = forwardRef<HTMLInputElement, Props>(function Palette({ groups, items, onAdd }, searchRef) {
  const [q, setQ] = useState("");
  const shown = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const match = (o: PaletteItem) => !needle || o.label.toLowerCase().includes(needle) || o.op.includes(needle) || o.summary.toLowerCase().includes(needle);
    return groups.map((g) => ({ g, items: items.filter((o) => o.group === g && match(o)) }));
  }, [groups, items, q]);
  const total = shown.reduce((n, g) => n + g.items.length, 0);
  return (
    <aside className="palette" aria-label="operator palette">
      <input ref={searchRef} type="search" placeholder="Search  ( / )" value={q} aria-label="search operators"
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && total > 0) onAdd(shown.find((g) => g.items.length)!.items[0]);
          if (e.key === "Escape") (e.target as HTMLInputElement).blur();
        }} />
      <div className="palette-list">
        {total === 0 && <p className="muted small empty">No operator matches "{q}". Clear the search to see all {items.length}.</p>}
        {shown.filter((g) => g.items.length).map(({ g, items: list }) => (
          <section key={g} aria-label={`${GROUP_TITLES[g] ?? g} operators`}>
            <h3 className={`group-title group-${g}`}>{GROUP_TITLES[g] ?? g}</h3>
            <ul>
              {list.map((o) => (
                <li key={o.key}>
                  <button type="button" className={`palette-item group-${g}${o.label !== o.op ? " preset" : ""}`} draggable title={o.summary}
                    aria-label={`add ${o.label}`} data-item={o.key}
                    onDragStart={(e) => {
                      e.dataTransfer.setData(DRAG_TYPE, o.key);
                      e.dataTransfer.setData("text/plain", o.key);
                      e.dataTransfer.effectAllowed = "copy";
                    }}
                    onClick={() => onAdd(o)}>
                    <span className="name">{o.label}{o.label !== o.op && <span className="muted"> · {o.op}</span>}</span>
                    <span className="summary">{o.summary}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </aside>
  );
});
