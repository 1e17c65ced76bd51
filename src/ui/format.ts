// Human-readable figures for summaries and progress lines.
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Strip control characters so a hostile file name cannot rewrite the terminal. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Seconds as "42s", "3m05s", "2h07m": whole numbers, never NaN or Infinity ("?" then). */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A file's name for a narrow field: the last segment of a path or key (either separator), cut
 * from the left with "…" when longer than `max`, so the extension and the end stay visible.
 */
export function fitName(pathOrKey: string, max: number): string {
  const name = pathOrKey.split(/[\\/]/).filter(Boolean).at(-1) ?? '';
  const chars = [...name];
  if (chars.length <= max) return name;
  if (max <= 1) return '…'.slice(0, max);
  return `…${chars.slice(chars.length - (max - 1)).join('')}`;
}
