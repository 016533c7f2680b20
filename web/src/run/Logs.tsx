// The run's stdout and stderr, following the end unless scrolled up.
import { useEffect, useRef } from "react";
import type { LogLine } from "../lib/types";

export function Logs({ lines }: { lines: LogLine[] }) {
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  useEffect(() => {
    const b = box.current;
    if (b && follow.current) b.scrollTop = b.scrollHeight;
  }, [lines]);
  return (
    <div className="logs" ref={box} aria-label="run logs" role="log" tabIndex={0}
      onScroll={(e) => {
        const b = e.currentTarget;
        follow.current = b.scrollTop + b.clientHeight >= b.scrollHeight - 8;
      }}>
      {lines.length === 0 && <p className="muted small empty">No output yet. What the pipeline prints (sinks like StdOutSink, print calls, errors) shows up here.</p>}
      {lines.map((l) => (
        <div key={l.seq} className={`log-line ${l.stream}`}><span className="log-text">{l.text}</span></div>
      ))}
    </div>
  );
}
