// The studio API client: JSON in and out, the CSRF header on every change,
// and errors turned into messages that say what happened and what to do.
import type { Issue } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-Rillet-CSRF"] = cookie("rillet_csrf");
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "Can't reach the studio server. Check that `rillet studio` is still running, then retry.");
  }
  if (res.status === 204 || res.status === 202) {
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  const type = res.headers.get("Content-Type") ?? "";
  if (res.ok) {
    return (type.includes("json") ? await res.json() : await res.text()) as T;
  }
  let code = "http_" + res.status;
  let message = `The server answered ${res.status} ${res.statusText} to ${method} ${path}.`;
  let issues: Issue[] = [];
  if (type.includes("json")) {
    const data = await res.json().catch(() => null);
    if (data?.error) {
      code = data.error.code ?? code;
      message = data.error.message ?? message;
      issues = data.error.issues ?? data.issues ?? [];
    }
  }
  if (res.status === 401) {
    message = "Your session has ended or was never started. Open the login link that `rillet studio` printed in its terminal.";
  } else if (res.status >= 500 && !message.includes("log")) {
    message += " The server's log has the details; retry, and restart `rillet studio` if it keeps failing.";
  }
  throw new ApiError(res.status, code, message, issues);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return `Something went wrong in the studio: ${e.message}. Reload the page and retry.`;
  return String(e);
}

export const csrfToken = () => cookie("rillet_csrf");
