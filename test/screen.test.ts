// The terminal tests' oracle (test/helpers/screen.ts) is xterm.js's parser, not ours: these are
// the cases where the emulator it replaced took the widgets' own assumptions (a tab one cell,
// every character one column) and so could not disagree with them.
import { describe, expect, it } from 'vitest';
import { CellMeter, renderScreen } from './helpers/screen.js';

describe('the screen a test reads is what a terminal shows', () => {
  it('a tab moves to the next tab stop (the old emulator drew it as one cell)', async () => {
    const s = await renderScreen('a\tb\r\n', 40);
    expect(s.rows).toEqual(['a       b']);
  });

  it('a wide character takes two columns, so a line of them wraps at half the width', async () => {
    const s = await renderScreen(`${'日'.repeat(25)}\r\nend\r\n`, 40);
    expect(s.rows).toEqual(['日'.repeat(20), '日'.repeat(5), 'end']);
    expect(s.wrapped).toEqual([0]);
    expect(s.lines).toEqual(['日'.repeat(25), 'end']);
    expect(s.wrappedLines).toEqual(['日'.repeat(25)]);
  });

  it('measures what the bar draws: "…", "█" and "░" one column each, a CJK name two a character', async () => {
    const meter = new CellMeter();
    try {
      expect(await meter.cells('…█░')).toBe(3);
      expect(await meter.cells('日本.jpg')).toBe(8);
      expect(await meter.cells('a\tb')).toBe(9);
    } finally {
      meter.dispose();
    }
  });

  it('a bar redrawn in place with \\r and erase-line leaves only its last frame; 40 columns wrap the 41st', async () => {
    const s = await renderScreen(`\x1b[?25luploading 10%\r\x1b[2Kuploading 20%\r\x1b[2K\x1b[?25hdone\n${'x'.repeat(41)}\n`, 40);
    expect(s.rows).toEqual(['done', 'x'.repeat(40), 'x']);
    expect(s.wrappedLines).toEqual(['x'.repeat(41)]);
    expect(s.autowrapOff).toBe(0);
  });

  it('notices a program that turns autowrap off (what it writes past the edge is then lost)', async () => {
    const s = await renderScreen(`\x1b[?7l${'y'.repeat(45)}\x1b[?7h\n`, 40);
    expect(s.autowrapOff).toBe(1);
    expect(s.rows).toEqual(['y'.repeat(40)]);
  });
});
