// A tiny external store: components subscribe to one slice (say one node's
// metrics) and re-render only when that slice changes. With thousands of
// nodes on the canvas, a React context would re-render every node instead.
import { useSyncExternalStore } from "react";

export class Store<T> {
  private listeners = new Set<() => void>();
  constructor(private state: T) {}
  get = () => this.state;
  set(next: T | ((s: T) => T)) {
    this.state = typeof next === "function" ? (next as (s: T) => T)(this.state) : next;
    for (const l of this.listeners) l();
  }
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
}

export function useStore<T, S>(store: Store<T>, select: (s: T) => S): S {
  return useSyncExternalStore(store.subscribe, () => select(store.get()));
}
