// Shared bits: toasts, modal dialogs, the theme, the page header.
import { useEffect, useRef, type ReactNode } from "react";
import { Store, useStore } from "../lib/store";

// ---------------------------------------------------------------- toasts --
export interface Toast { id: number; kind: "info" | "error" | "ok"; text: string }
const toasts = new Store<Toast[]>([]);
let toastSeq = 0;

export function toast(text: string, kind: Toast["kind"] = "info", ms = kind === "error" ? 12000 : 4000) {
  const id = ++toastSeq;
  toasts.set((t) => [...t.slice(-4), { id, kind, text }]);
  setTimeout(() => dismiss(id), ms);
}
const dismiss = (id: number) => toasts.set((t) => t.filter((x) => x.id !== id));

export function Toasts() {
  const list = useStore(toasts, (t) => t);
  return (
    <div className="toasts" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} className={`toast ${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          <span>{t.text}</span>
          <button type="button" className="icon small" aria-label="dismiss message" onClick={() => dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

// ----------------------------------------------------------------- modal --
export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, textarea, select, button:not(.close)");
    (first ?? ref.current)?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      prev?.focus?.();
    };
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`modal${wide ? " wide" : ""}`} role="dialog" aria-modal="true" aria-label={title} ref={ref} tabIndex={-1}>
        <header>
          <h2>{title}</h2>
          <button type="button" className="icon close" aria-label="close dialog" onClick={onClose}>×</button>
        </header>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

// ----------------------------------------------------------------- theme --
export type Theme = "dark" | "light";
function initialTheme(): Theme {
  const saved = localStorage.getItem("rillet-theme");
  if (saved === "dark" || saved === "light") return saved;
  return matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
}
export const theme = new Store<Theme>(initialTheme());
const applyTheme = (t: Theme) => document.documentElement.setAttribute("data-theme", t);
applyTheme(theme.get());
theme.subscribe(() => {
  applyTheme(theme.get());
  localStorage.setItem("rillet-theme", theme.get());
});
export const useTheme = () => useStore(theme, (t) => t);

export function ThemeToggle() {
  const t = useTheme();
  return (
    <button type="button" className="icon" onClick={() => theme.set(t === "dark" ? "light" : "dark")}
      aria-label={`switch to ${t === "dark" ? "light" : "dark"} theme`} title="Switch theme">
      {t === "dark" ? "☀" : "☾"}
    </button>
  );
}

// ---------------------------------------------------------------- header --
// Routes live in the URL's fragment (`/#/pipelines/3`), so the server only
// has to serve the shell at `/`.
export function navigate(path: string) {
  location.hash = path;
}

/** Set by a page with unsaved work: returns whether leaving is fine. */
export const leaveGuard: { current: (() => boolean) | null } = { current: null };

export function Link({ to, children, className, label }: { to: string; children: ReactNode; className?: string; label?: string }) {
  return (
    <a href={`#${to}`} className={className} aria-label={label}
      onClick={(e) => { if (leaveGuard.current && !leaveGuard.current()) e.preventDefault(); }}>{children}</a>
  );
}

export function TopBar({ children, onHelp }: { children?: ReactNode; onHelp?: () => void }) {
  return (
    <header className="topbar">
      <Link to="/" className="brand" label="Rillet studio: all pipelines"><span className="logo" aria-hidden>≋</span> Rillet studio</Link>
      <div className="topbar-main">{children}</div>
      {onHelp && <button type="button" className="icon" aria-label="keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={onHelp}>?</button>}
      <ThemeToggle />
    </header>
  );
}

export function StatusBadge({ status, runId }: { status: string | null | undefined; runId?: number }) {
  if (!status) return <span className="status none">no runs</span>;
  return <span className={`status ${status}`} data-status={status} data-run-id={runId}>{status}</span>;
}
