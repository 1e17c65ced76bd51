// Every widget (bar, spinner) drawing on the terminal right now, so a signal handler can take
// them all down before it prints: on Ctrl-C the notice gets a clean line of its own and no
// widget is drawn again while the run winds down.

export interface Widgets {
  /** Clear the widget's line for good; nothing more is drawn by its owner. */
  halt(): void;
}

const live = new Set<Widgets>();

export function registerWidgets(w: Widgets): () => void {
  live.add(w);
  return () => live.delete(w);
}

/** Take every widget down (their lines cleared); returns how many owners there were. */
export function haltWidgets(): number {
  const n = live.size;
  for (const w of [...live]) w.halt();
  return n;
}

/**
 * The one rule for "draw widgets here": a terminal, CI unset, and a width; a pty that reports 0
 * columns would make a spinner or bar redraw forever, so it gets plain lines.
 */
export function isLiveTerminal(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const ws = stream as NodeJS.WriteStream;
  return ws.isTTY === true && (ws.columns ?? 0) > 0 && !env.CI;
}
