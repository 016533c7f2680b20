// Numbers and times for people.
export function rate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M/s`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k/s`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k/s`;
  return `${n >= 10 ? n.toFixed(0) : n.toFixed(1)}/s`;
}

export function nanos(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} s`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} ms`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} µs`;
  return `${n.toFixed(0)} ns`;
}

export function seconds(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  if (Math.abs(n) >= 86400 * 365) return `${(n / (86400 * 365)).toFixed(1)} y`;
  if (Math.abs(n) >= 86400) return `${(n / 86400).toFixed(1)} d`;
  if (n >= 3600) return `${(n / 3600).toFixed(1)} h`;
  if (n >= 60) return `${(n / 60).toFixed(1)} min`;
  return `${n.toFixed(n >= 10 ? 0 : 1)} s`;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleTimeString(undefined, { hour12: false });
}
