// A tiny terminal emulator for tests: replays what a program wrote to a pseudo-terminal and
// gives back the final screen, so tests assert on what a person would see (not on raw bytes).
// It knows what our widgets and ora/cli-progress emit: text, \r, \n, \b, CSI K/J/A/B/C/D/G/H,
// SGR (ignored), DEC save/restore cursor (ESC 7 / ESC 8), autowrap on/off (?7h/?7l).
// The screen has `cols` columns and no height limit (nothing scrolls off).

export interface Screen {
  /** Rows as shown, trailing blanks trimmed. */
  rows: string[];
  /** Logical lines: rows joined where the terminal soft-wrapped a long line. */
  lines: string[];
  /** Characters written past the right edge with autowrap off (the terminal dropped them). */
  dropped: number;
  /** Rows that were soft-wrapped into the next one. */
  wrapped: number[];
}

export function renderScreen(data: string, cols: number): Screen {
  const grid: string[][] = [[]];
  const wrappedRows = new Set<number>();
  let r = 0;
  let c = 0;
  let pendingWrap = false;
  let autowrap = true;
  let saved = { r: 0, c: 0 };
  let dropped = 0;
  const row = (i: number) => (grid[i] ??= []);
  const clamp = () => {
    r = Math.max(0, r);
    c = Math.max(0, Math.min(cols - 1, c));
    pendingWrap = false;
  };
  const put = (ch: string) => {
    if (pendingWrap) {
      if (autowrap) {
        wrappedRows.add(r);
        r++;
        c = 0;
      } else {
        dropped++;
        return;
      }
      pendingWrap = false;
    }
    const line = row(r);
    while (line.length < c) line.push(' ');
    line[c] = ch;
    if (c === cols - 1) pendingWrap = true;
    else c++;
  };
  const csi = (params: string, final: string) => {
    const n = (d: number) => (params === '' || params.startsWith('?') ? d : Number(params.split(';')[0]) || d);
    const line = row(r);
    switch (final) {
      case 'K': {
        const mode = n(0);
        if (mode === 0) line.length = Math.min(line.length, c);
        else if (mode === 1) for (let i = 0; i <= c && i < line.length; i++) line[i] = ' ';
        else line.length = 0;
        pendingWrap = false;
        wrappedRows.delete(r);
        break;
      }
      case 'J':
        if (n(0) === 0) {
          line.length = Math.min(line.length, c);
          grid.length = r + 1;
        }
        break;
      case 'A': r -= n(1); clamp(); break;
      case 'B': r += n(1); clamp(); break;
      case 'C': c += n(1); clamp(); break;
      case 'D': c -= n(1); clamp(); break;
      case 'G': c = n(1) - 1; clamp(); break;
      case 'H': {
        const [y, x] = params.split(';').map((v) => Number(v) || 1);
        r = (y ?? 1) - 1;
        c = (x ?? 1) - 1;
        clamp();
        break;
      }
      case 'h':
      case 'l':
        if (params === '?7') autowrap = final === 'h';
        break;
      default: // SGR colours, cursor show/hide …: no effect on the text
    }
  };
  for (let i = 0; i < data.length; i++) {
    const ch = data[i];
    if (ch === '\x1b') {
      const next = data[i + 1];
      if (next === '[') {
        const m = /^\[([?0-9;]*)([@-~])/.exec(data.slice(i + 1, i + 40));
        if (m) {
          csi(m[1], m[2]);
          i += m[0].length;
        }
      } else if (next === '7') {
        saved = { r, c };
        i++;
      } else if (next === '8') {
        ({ r, c } = saved);
        pendingWrap = false;
        i++;
      } else if (next === ']') {
        const end = data.indexOf('\x07', i);
        i = end < 0 ? data.length : end;
      } else i++;
    } else if (ch === '\r') {
      c = 0;
      pendingWrap = false;
    } else if (ch === '\n') {
      r++;
      row(r);
      pendingWrap = false;
    } else if (ch === '\b') {
      if (c > 0) c--;
      pendingWrap = false;
    } else if (ch >= ' ' || ch === '\t') put(ch);
  }
  // A soft-wrapped row is full: its trailing blank is text (a space at the wrap), kept for `lines`.
  const full = grid.map((l) => Array.from({ length: l.length }, (_, i) => l[i] ?? ' ').join(''));
  const rows = full.map((l) => l.trimEnd());
  while (rows.length && rows[rows.length - 1] === '') rows.pop();
  const lines: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const joinedToPrev = i > 0 && wrappedRows.has(i - 1);
    const text = wrappedRows.has(i) ? full[i] : rows[i];
    if (joinedToPrev) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  return { rows, lines, dropped, wrapped: [...wrappedRows].filter((i) => i < rows.length).sort((a, b) => a - b) };
}
