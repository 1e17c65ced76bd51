// What a terminal shows after a program's bytes: they are replayed into xterm.js's own parser and
// buffer (@xterm/headless), not into an emulator of ours, so a tab, a wide character, a line
// longer than the terminal or an escape the widgets did not expect lands where a real terminal
// puts it. Tests assert on the resulting rows, as a person would read them.
import xterm from '@xterm/headless';

const { Terminal } = xterm;

export interface Screen {
  /** Every row written (scrolled-off rows too), as shown, trailing blanks trimmed. */
  rows: string[];
  /** Logical lines: rows joined where the terminal soft-wrapped a line too long for it. */
  lines: string[];
  /** The logical lines that took more than one row. */
  wrappedLines: string[];
  /** Rows that were soft-wrapped into the next one. */
  wrapped: number[];
  /** How often the program turned autowrap off (DECRST 7): text past the edge is then lost. */
  autowrapOff: number;
}

/** Rows of the pty the tests run in; what scrolls off is kept (scrollback) and read too. */
const PTY_ROWS = 50;
const SCROLLBACK = 100_000;

function terminal(cols: number): InstanceType<typeof Terminal> {
  // convertEol: the pty's line discipline turns \n into \r\n (onlcr); bytes that did not pass
  // through one (a fake stream in a test) get the same treatment.
  return new Terminal({ cols, rows: PTY_ROWS, scrollback: SCROLLBACK, convertEol: true, allowProposedApi: true });
}

const written = (term: InstanceType<typeof Terminal>, data: string) => new Promise<void>((resolve) => term.write(data, resolve));

/** The screen after `data` is written to a terminal `cols` columns wide. */
export async function renderScreen(data: string, cols: number): Promise<Screen> {
  const term = terminal(cols);
  let autowrapOff = 0;
  term.parser.registerCsiHandler({ prefix: '?', final: 'l' }, (params) => {
    if (params.includes(7)) autowrapOff++;
    return false; // and let the terminal do it
  });
  await written(term, data);
  const buf = term.buffer.active;
  const all: { text: string; full: string; continues: boolean }[] = [];
  for (let i = 0; i < buf.length; i++) {
    const line = buf.getLine(i)!;
    all.push({ text: line.translateToString(true), full: line.translateToString(false), continues: line.isWrapped });
  }
  term.dispose();
  while (all.length && all.at(-1)!.text === '' && !all.at(-1)!.continues) all.pop();
  const rows = all.map((r) => r.text);
  const wrapped: number[] = [];
  const lines: string[] = [];
  const rowsPerLine: number[] = [];
  all.forEach((r, i) => {
    // A row that wraps is full: its trailing blank is text (a space at the wrap).
    const next = all[i + 1];
    const text = next?.continues ? r.full : r.text;
    if (next?.continues) wrapped.push(i);
    if (r.continues && lines.length) {
      lines[lines.length - 1] += text;
      rowsPerLine[rowsPerLine.length - 1]++;
    } else {
      lines.push(text);
      rowsPerLine.push(1);
    }
  });
  return { rows, lines, wrappedLines: lines.filter((_, i) => rowsPerLine[i] > 1), wrapped, autowrapOff };
}

/**
 * How many columns a terminal gives `text` (one line, no escapes needed): where xterm's cursor
 * stands after writing it to a terminal wider than any line of ours.
 */
export class CellMeter {
  private readonly term = terminal(1000);

  async cells(text: string): Promise<number> {
    await written(this.term, `\r\x1b[2K${text}`);
    return this.term.buffer.active.cursorX;
  }

  dispose(): void {
    this.term.dispose();
  }
}
