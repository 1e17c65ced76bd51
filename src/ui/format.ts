// Human-readable figures for summaries and progress lines.
import stringWidth from 'string-width';

/**
 * Columns a terminal gives `s`: a CJK character takes two, a combining accent none. `.length`
 * counts UTF-16 units, so a bar laid out with it overflowed the line by one column per wide
 * character of a file's name and wrapped (a Japanese name made a 119-column frame 135 wide).
 */
export const cells = (s: string): number => stringWidth(s);

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Strip control characters so a hostile file name cannot rewrite the terminal. */
export function printable(s: string): string {
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
 * from the left with "…" when wider than `max` columns, so the extension and the end stay
 * visible. Cut between whole characters as shown (grapheme clusters), never inside one.
 */
export function fitName(pathOrKey: string, max: number): string {
  const name = pathOrKey.split(/[\\/]/).filter(Boolean).at(-1) ?? '';
  if (cells(name) <= max) return name;
  if (max <= 1) return '…'.slice(0, max);
  const graphemes = [...new Intl.Segmenter().segment(name)].map((g) => g.segment);
  let tail = '';
  let width = 0;
  for (let i = graphemes.length - 1; i >= 0 && width + cells(graphemes[i]) <= max - 1; i--) {
    width += cells(graphemes[i]);
    tail = graphemes[i] + tail;
  }
  return `…${tail}`;
}

/**
 * A long line for a terminal `columns` wide: broken between its "; " clauses, a clause kept whole
 * where it fits a row, else between words, never inside one (the terminal itself would cut
 * "last-upload.json" anywhere); rows after the first indented two spaces. The last column is left
 * free, as the bar leaves it. Only a word wider than a row overflows it.
 */
export function fitToColumns(line: string, columns: number): string {
  const max = columns - 1;
  if (cells(line) <= max) return line;
  const indent = '  ';
  const rows: string[] = [];
  let row = '';
  const put = (piece: string) => {
    const joined = row ? `${row} ${piece}` : piece;
    if (cells(joined) <= max || !row.trim()) row = joined;
    else {
      rows.push(row);
      row = indent + piece;
    }
  };
  const clauses = line.split('; ');
  clauses.forEach((c, i) => {
    const clause = i < clauses.length - 1 ? `${c};` : c;
    if (cells(indent + clause) <= max) put(clause);
    else for (const word of clause.split(' ')) put(word);
  });
  return [...rows, row].join('\n');
}
