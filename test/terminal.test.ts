// What a person sees in a terminal: the built CLI runs in a real pseudo-terminal (util-linux
// `script`) 120 and 40 columns wide, against the local stack with PUTs trickled through a proxy
// (so the bar is drawn for a few seconds); the captured bytes are replayed into xterm.js's
// parser (test/helpers/screen.ts) for the final screen. Then: the summary once and whole, nothing wider than the terminal,
// no number cut, no empty `|  |` field, and on Ctrl-C one notice line, the summary, the hint to resume, nothing else.
import { execFileSync } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BIN } from './helpers/cli.js';
import { startFaultProxy, writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { runInPty, type PtyRun } from './helpers/pty.js';
import { CellMeter, renderScreen, type Screen } from './helpers/screen.js';
import { eventually } from './helpers/s3.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { ProgressBar } from '../src/ui/bar.js';
import { cells, fitName, fitToColumns, formatEta } from '../src/ui/format.js';
import { haltWidgets } from '../src/ui/live.js';
import { Reporter } from '../src/ui/reporter.js';
import { UploadView } from '../src/ui/upload-view.js';
import type { UploadEvent } from '../src/jobs/upload/events.js';

const FILES = 30;
const LONG_NAME = 'a-very-long-holiday-photo-name-from-the-mountains-2024-07-13.jpg';
/** Two columns a character in a terminal: a bar that counts characters overflows with it. */
const WIDE_NAME = '富士山の頂上から見た朝日と雲海の写真.jpg';
const hasScript = (() => {
  try {
    return execFileSync('script', ['--version'], { encoding: 'utf8' }).includes('util-linux');
  } catch {
    return false;
  }
})();

interface Rig {
  stack: TestStack;
  proxy: FaultProxy;
  cwd: string;
}
let rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs) {
    await r.proxy.close();
    await r.stack.stop();
  }
  rigs = [];
});

/** 30 noise JPEGs in a deep folder (one with a long name, one with a Japanese one), PUTs trickled: ~3 s of bar. */
async function rig(): Promise<Rig> {
  let stack: TestStack | undefined;
  const proxy = await startFaultProxy({ target: () => stack!.s3Endpoint, flavor: 's3', match: (q) => q.method === 'PUT', rates: { trickle: 1 }, trickle: { bytes: 4096, everyMs: 40 } });
  stack = await startTestStack({ trigger: false, urlEndpoint: proxy.url });
  const cwd = await tempDir('imgpipe-tty-');
  await stack.adopt(cwd);
  const dir = path.join(cwd, 'photos', 'trips', 'summer-in-the-alps');
  const files = await writeNoiseJpegs(dir, FILES);
  await rename(files[7], path.join(dir, LONG_NAME));
  await rename(files[3], path.join(dir, WIDE_NAME));
  const r = { stack, proxy, cwd };
  rigs.push(r);
  return r;
}

const upload = (r: Rig, cols: number): PtyRun => runInPty(BIN, ['upload', 'photos', '--local', '-c', '4'], { cwd: r.cwd, cols, env: { NO_COLOR: '1' } });

const SUMMARY_DONE = new RegExp(`^${FILES} uploaded, 0 already there, 0 failed of ${FILES} files; [\\d.]+ [KM]B in [\\d.]+ s \\([\\d.]+ files/s, [\\d.]+ MB/s\\); manifest \\.imgpipe/last-upload\\.json$`);
const SUMMARY_INTERRUPTED = new RegExp(`^\\d+ uploaded, 0 already there, 0 failed, \\d+ not done \\(interrupted\\) of ${FILES} files; [\\d.]+ (B|KB|MB) in [\\d.]+ s( \\([\\d.]+ files/s, [\\d.]+ MB/s\\))?; manifest \\.imgpipe/last-upload\\.json$`);
const BAR_CHARS = /[█░]|\beta\b|uploading \[/;

/** Drawn frames of the bar: the text after the last \r of each write, as the program meant it. */
function barFrames(raw: string): string[] {
  return raw
    // eslint-disable-next-line no-control-regex
    .split(/\r|\n|\x1b\[\d*G/)
    // eslint-disable-next-line no-control-regex
    .map((s) => s.replace(/\x1b\[[?0-9;]*[@-~]|\x1b[78]/g, ''))
    .filter((s) => s.startsWith('uploading'));
}

/** Only a hang takes this long (the whole upload is ~3 s of trickled PUTs). */
const HANG_MS = 60_000;

/** Wait until 6 PUTs were delivered and the bar has since been drawn with a file count. */
async function midUpload(r: Rig, run: PtyRun): Promise<void> {
  await r.proxy.waitFor(() => r.proxy.total(r.proxy.delivered, 'PUT') >= 6, '6 PUTs delivered', HANG_MS);
  await eventually(() => expect(barFrames(run.output()).at(-1)).toMatch(/files/), HANG_MS);
}

function expectFits(screen: Screen, plainLines: RegExp[]): void {
  expect(screen.autowrapOff, 'autowrap turned off: text past the edge would be lost unseen').toBe(0);
  // A line may only wrap if it is plain text (the summary, the info line), never the bar.
  for (const line of screen.wrappedLines) expect(plainLines.some((re) => re.test(line)), line).toBe(true);
}

/** A frame as the terminal measures it: one column short of the edge (no pending wrap). */
async function expectBarFrame(meter: CellMeter, frame: string, cols: number): Promise<void> {
  expect(await meter.cells(frame), frame).toBeLessThanOrEqual(cols - 1);
  expect(frame).not.toMatch(/\|\s*\|/);
  expect(frame).toMatch(/\d{1,3}%/);
  // Any count shown is whole: "12/30 files", "1.2 MB/3.4 MB".
  expect(frame).not.toMatch(/\d+\/(\s|$)|\/\d*$/);
  for (const f of frame.split(' | ').slice(1)) if (/files$/.test(f) && !/^presigning /.test(f)) expect(f).toMatch(/^\d+\/\d+ files$/);
}

const INFO = /^imgpipe: uploading to /;

/**
 * The summary as printed: its first row (`first` matches it) and the rows after it indented two
 * spaces, joined back with the single space each break took. Rows, to check each fits.
 */
function summaryOf(screen: Screen, first: RegExp): { text: string; rows: string[]; at: number } {
  const at = screen.lines.findIndex((l) => first.test(l));
  expect(at, screen.lines.join('\n')).toBeGreaterThanOrEqual(0);
  let end = at + 1;
  while (end < screen.lines.length && /^  \S/.test(screen.lines[end])) end++;
  const rows = screen.lines.slice(at, end);
  return { text: [rows[0], ...rows.slice(1).map((r) => r.slice(2))].join(' '), rows, at };
}

/** Each summary row fits (no soft wrap) and ends at a word's end, not inside one. */
function expectSummaryFits(screen: Screen, summary: { rows: string[] }, cols: number): void {
  for (const row of summary.rows) {
    expect(row.length, row).toBeLessThanOrEqual(cols - 1);
    expect(screen.wrappedLines).not.toContain(row);
  }
}

describe.skipIf(!hasScript)('the upload screen in a real terminal', () => {
  it.each([120, 40])('at %i columns: a bar that fits, then the summary once and whole', async (cols) => {
    const r = await rig();
    const run = upload(r, cols);
    await midUpload(r, run);
    const frames = barFrames(run.output());
    const { code, output } = await run.done;
    console.log(`last bar frame at ${cols} columns:\n|${frames.at(-1)}`);
    const screen = await renderScreen(output, cols);
    console.log(`final ${cols}-column screen:\n${screen.rows.map((l) => `|${l}`).join('\n')}`);
    expect(code).toBe(0);
    expect(frames.length).toBeGreaterThan(0);
    const meter = new CellMeter();
    for (const f of barFrames(output)) await expectBarFrame(meter, f, cols);
    meter.dispose();
    const last = frames.at(-1)!;
    expect(last).toMatch(/\d{1,3}%/);
    if (cols >= 100) {
      // Wide: every field, the file's own name (no folder, no key) at the end.
      expect(last).toMatch(/^uploading \[[█░]+\] \d{1,3}% \| \d+\/30 files \| [\d.]+ (B|KB|MB)\/[\d.]+ (KB|MB)( \| eta \d+s)? \| \S+$/);
      // A name shown is the file's own (no folder, no key), cut from the left if at all.
      const names = barFrames(output).flatMap((f) => f.split(' | ').filter((x) => /jpg/.test(x)));
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(n).toMatch(/^(img-\d{3}\.jpg|…?[\w.-]*2024-07-13\.jpg|…?\p{Script=Han}?[\p{Script=Han}\p{Script=Hiragana}]*写真\.jpg)$/u);
    } else {
      expect(last).toMatch(/\d+\/30 files/);
    }
    expectFits(screen, [INFO]);
    const summary = summaryOf(screen, /^\d+ uploaded, /);
    expect(summary.text).toMatch(SUMMARY_DONE);
    expectSummaryFits(screen, summary, cols);
    expect(summary.at + summary.rows.length).toBe(screen.lines.length); // once, and last
    // 120 columns hold it on two rows at most, broken between clauses; 40 need more, between words.
    if (cols >= 100) expect(summary.rows.length).toBeLessThanOrEqual(2);
    expect(screen.lines.join('\n')).not.toMatch(BAR_CHARS);
    expect(screen.lines.join('\n')).not.toMatch(/\|\s*\|/);
  });

  it('at 40 columns, drawn by cli-progress: every frame fits and counts files; an error line printed under the bar stays', async () => {
    const cols = 40;
    const r = await rig();
    await writeFile(path.join(r.cwd, 'photos', 'notes.jpg'), 'shopping list\nmilk\n');
    const { code, output } = await upload(r, cols).done;
    const screen = await renderScreen(output, cols);
    console.log(`final ${cols}-column screen with a bad file:\n${screen.rows.map((l) => `|${l}`).join('\n')}`);
    expect(code).toBe(1);
    // cli-progress's redraw (GenericBar.render through its terminal): to column 1, the line, clear to its right.
    // eslint-disable-next-line no-control-regex
    const drawn = [...output.matchAll(/\x1b\[1G(uploading [^\x1b]*)\x1b\[0K/g)].map((m) => m[1]);
    expect(drawn.length).toBeGreaterThan(0);
    const meter = new CellMeter();
    for (const f of drawn) await expectBarFrame(meter, f, cols);
    meter.dispose();
    expect(drawn.filter((f) => /^uploading \[[█░]+\] \d{1,3}% \| \d+\/31 files$/.test(f)).length).toBeGreaterThan(0);
    expect(drawn.at(-1)).toMatch(/^uploading \[█+\] 100% \| 31\/31 files$/);
    // The error line keeps its place when the bar stops (no cursor jump back to where the bar began).
    const error = /^error \S*photos\/notes\.jpg: a text file, not an image$/;
    const summaryLine = /^30 uploaded, 0 already there, 1 failed of 31 files; .*; manifest \.imgpipe\/last-upload\.json$/;
    expectFits(screen, [error, INFO]);
    expect(screen.lines.filter((l) => error.test(l)), screen.lines.join('\n')).toHaveLength(1);
    const summary = summaryOf(screen, /^30 uploaded, /);
    expect(summary.text).toMatch(summaryLine);
    expectSummaryFits(screen, summary, cols);
    expect(summary.at + summary.rows.length).toBe(screen.lines.length);
    expect(screen.lines.join('\n')).not.toMatch(BAR_CHARS);
  });

  it('Ctrl-C at 40 columns: the bar goes, one notice line, the summary, the hint to resume, nothing after', async () => {
    const cols = 40;
    const r = await rig();
    const run = upload(r, cols);
    await midUpload(r, run);
    console.log(`screen at ${cols} columns just before SIGINT:\n${(await renderScreen(run.output(), cols)).rows.map((l) => `|${l}`).join('\n')}`);
    process.kill(await run.pid(), 'SIGINT');
    const { code, output } = await run.done;
    const screen = await renderScreen(output, cols);
    console.log(`final ${cols}-column screen after SIGINT:\n${screen.rows.map((l) => `|${l}`).join('\n')}`);
    expect(code).toBe(130);
    const notice = 'imgpipe: SIGINT: stopping, saving the manifest (again to quit at once)';
    const hint = 'imgpipe: interrupted: run the same command again to resume (files already stored are not sent again)';
    const whole = (line: string) => new RegExp(`^${line.replace(/[()]/g, '\\$&')}$`);
    expectFits(screen, [INFO, whole(notice), whole(hint)]);
    const at = screen.lines.indexOf(notice);
    expect(at, screen.lines.join('\n')).toBeGreaterThan(0);
    const summary = summaryOf(screen, /^\d+ uploaded, /);
    expect(summary.at).toBe(at + 1);
    expect(summary.text).toMatch(SUMMARY_INTERRUPTED);
    expectSummaryFits(screen, summary, cols);
    expect(screen.lines.slice(summary.at + summary.rows.length)).toEqual([hint]);
    expect(screen.lines.filter((l) => /\(interrupted\)/.test(l))).toHaveLength(1); // the summary says it once
    expect(screen.lines.join('\n')).not.toMatch(BAR_CHARS);
    // Nothing of the bar was drawn once the notice was out.
    const afterNotice = output.slice(output.indexOf('imgpipe: SIGINT'));
    expect(afterNotice).not.toMatch(BAR_CHARS);
  });
});

describe('the bar layout', () => {
  /** The fields of an upload's bar, as UploadView fills them: ProgressBar.add's payload. */
  const FIELDS = { files: '12/30 files', item: 'trips/summer-in-the-alps/img-012.jpg' };

  /**
   * The last frame a ProgressBar draws on a terminal `width` + 1 columns wide (it leaves the last
   * one free), moved to `value` `elapsedMs` after it started. The clock is faked: the eta is the
   * bar's own, from that one step (it shows after a second), and no frame waits on a real timer.
   */
  function drawn(width: number, value: number, o: { files?: string; item?: string; elapsedMs?: number; label?: string; total?: number; unit?: 'bytes' | 'items' } = FIELDS): string {
    vi.useFakeTimers();
    const stream = fakeTty(width + 1);
    const bar = new ProgressBar({ label: o.label ?? 'uploading', total: o.total ?? 1_019_904, unit: o.unit ?? 'bytes', stream });
    try {
      bar.start();
      vi.advanceTimersByTime(o.elapsedMs ?? 7000);
      bar.add(value, { files: o.files, item: o.item });
      vi.advanceTimersByTime(BAR_PERIOD_MS);
      // eslint-disable-next-line no-control-regex
      return [...stream.text.matchAll(/\x1b\[1G([^\x1b]*)\x1b\[0K/g)].at(-1)![1];
    } finally {
      bar.stop();
      vi.useRealTimers();
    }
  }

  const meter = new CellMeter();
  afterAll(() => meter.dispose());

  it.each([200, 120, 80, 60, 50, 40, 30, 20, 12, 4])('at %i columns: fits (as the terminal measures it), no empty field, numbers whole', async (width) => {
    for (const value of [0, 1, 512_000, 1_019_904, 2_000_000]) {
      for (const more of [{}, { files: undefined }, { item: undefined }, { elapsedMs: 500 }, { item: LONG_NAME }, { item: `photos/${WIDE_NAME}` }]) {
        const line = drawn(width, value, { ...FIELDS, ...more });
        expect(await meter.cells(line), line).toBeLessThanOrEqual(width);
        expect(line).not.toMatch(/\|\s*\||\|\s*$|^\s*\|/);
        expect(line).toMatch(/\b\d{1,3}%/);
        for (const f of line.split(' | ').slice(1)) {
          if (/files/.test(f)) expect(f).toMatch(/^\d+\/\d+ files$/);
          if (/B\//.test(f)) expect(f).toMatch(/^[\d.]+ (B|KB|MB)\/996 KB$/);
        }
      }
    }
  });

  it('drops the name first, then the eta, then the bytes; the percentage and counts stay', () => {
    expect(drawn(119, 512_000)).toMatch(/\] 50% \| 12\/30 files \| 500 KB\/996 KB \| eta \ds \| img-012\.jpg$/);
    expect(drawn(70, 512_000)).toMatch(/\] 50% \| 12\/30 files \| 500 KB\/996 KB \| eta \ds$/);
    expect(drawn(60, 512_000)).toMatch(/\] 50% \| 12\/30 files \| 500 KB\/996 KB$/);
    expect(drawn(39, 512_000)).toMatch(/^uploading \[[█░]{8,}\] 50% \| 12\/30 files$/);
    expect(drawn(30, 512_000)).toBe('uploading 50% | 12/30 files');
    expect(drawn(18, 512_000)).toBe('50% | 12/30 files');
    expect(drawn(5, 512_000)).toBe('50%');
    expect(drawn(39, 3, { label: 'downloading', total: 40, unit: 'items', elapsedMs: 500 })).toMatch(/^downloading \[[█░]+\] 7% \| 3\/40$/);
  });

  it('no eta in the first second, nor at 0 (a rate from nothing is noise)', () => {
    expect(drawn(119, 512_000, { ...FIELDS, elapsedMs: 500 })).toMatch(/\] 50% \| 12\/30 files \| 500 KB\/996 KB \| img-012\.jpg$/);
    expect(drawn(119, 0)).toMatch(/\] 0% \| 12\/30 files \| 0 B\/996 KB \| img-012\.jpg$/);
  });

  it('shows the last path segment, cut from the left with …; never an empty field', () => {
    expect(drawn(119, 0, { item: `photos/${LONG_NAME}` })).toMatch(/ \| …[\w-]*-2024-07-13\.jpg$/);
    expect(drawn(119, 0, { item: 'a/b/key-abc/img.jpg' })).toMatch(/ \| img\.jpg$/);
    expect(drawn(119, 0, {})).toMatch(/\] 0% \| 0 B\/996 KB$/);
    expect(fitName('x/y/abcdefghij.jpg', 8)).toBe('…hij.jpg');
    // Cut by columns, between whole characters: 1 for "…", 2 for each of 写真, 4 for .jpg.
    expect(fitName(`x/${WIDE_NAME}`, 10)).toBe('…写真.jpg');
    expect(fitName(`x/${WIDE_NAME}`, 8)).toBe('…真.jpg');
    expect(fitName('x/cafe\u0301-e\u0301te\u0301.jpg', 8)).toBe('…e\u0301te\u0301.jpg'); // an accent stays on its letter
    expect(fitName('C:\\photos\\img.jpg', 20)).toBe('img.jpg');
    expect(formatEta(Infinity)).toBe('?');
    expect(formatEta(185)).toBe('3m05s');
  });
});

/** A fake terminal stream: collects what is written. */
function fakeTty(columns: number): NodeJS.WriteStream & { text: string } {
  const s = {
    isTTY: true,
    columns,
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
    cursorTo: () => s.write('\r'),
    clearLine: () => s.write('\x1b[2K'),
    moveCursor: () => true,
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

/** The bar's redraw period (ProgressBar's default everyMs). */
const BAR_PERIOD_MS = 100;

/**
 * Two ticks of an interval of the bar's period, started after the bar's own: timers of one
 * period fire in the order they were set, so by then a bar timer still alive has fired too.
 */
function twoBarPeriods(): Promise<void> {
  return new Promise((resolve) => {
    let ticks = 0;
    const t = setInterval(() => {
      if (++ticks < 2) return;
      clearInterval(t);
      resolve();
    }, BAR_PERIOD_MS);
  });
}

describe('the reporter on a terminal', () => {
  it('a spinner always has a label', async () => {
    const err = fakeTty(40);
    const r = new Reporter({ json: false, interactive: true, stdout: fakeTty(40), stderr: err });
    const stop = r.spin('   ');
    await eventually(() => expect(err.text).toMatch(/working/), HANG_MS);
    stop();
  });

  it("a name in decomposed form (as macOS writes it) is drawn whole: the frame fits by columns, not cut by UTF-16 units", async () => {
    const err = fakeTty(120);
    const r = new Reporter({ json: false, interactive: true, stdout: fakeTty(120), stderr: err });
    // 32 columns, 60 UTF-16 units: the frame is 118 columns and 150 units.
    const name = `${'e\u0301'.repeat(28)}.jpg`;
    r.start(1000, 'uploading', 'bytes');
    r.advance(300, { files: '1/3 files', item: `photos/${name}` });
    await eventually(() => expect(err.text).toMatch(new RegExp(`\\] 30% \\| 1/3 files \\| 300 B/1000 B \\| ${name}\\x1b\\[0K`)), HANG_MS);
    r.stop();
  });

  it('a spinner\'s text shown on the bar goes when the spinner stops, not a file name shown since', async () => {
    const err = fakeTty(120);
    const r = new Reporter({ json: false, interactive: true, stdout: fakeTty(120), stderr: err });
    // eslint-disable-next-line no-control-regex
    const lastFrame = () => [...err.text.matchAll(/\x1b\[1G([^\x1b]*)\x1b\[0K/g)].at(-1)?.[1];
    r.start(1000, 'uploading', 'bytes');
    const stop = r.spin('presigning 3 files');
    await eventually(() => expect(lastFrame()).toMatch(/ \| presigning 3 files$/), HANG_MS);
    stop();
    await eventually(() => expect(lastFrame()).toMatch(/\] 0% \| 0 B\/1000 B$/), HANG_MS);
    const again = r.spin('presigning 2 files');
    r.step('', 'photos/a.jpg', 0); // a file ended meanwhile: its name is what the bar shows
    again();
    await eventually(() => expect(lastFrame()).toMatch(/ \| a\.jpg$/), HANG_MS);
    r.stop();
  });

  it('the presign spinner counts its files in words that agree: 1 file, 2 files', async () => {
    const err = fakeTty(120);
    const r = new Reporter({ json: false, interactive: true, stdout: fakeTty(120), stderr: err });
    const lastFrame = () => [...err.text.matchAll(/\x1b\[1G([^\x1b]*)\x1b\[0K/g)].at(-1)?.[1];
    const view = new UploadView(r);
    view.onEvent({ type: 'scan-done', files: 3, bytes: 3000 });
    for (const [files, said] of [[1, 'presigning 1 file'], [2, 'presigning 2 files']] as const) {
      view.onEvent({ type: 'batch-presigning', url: 'http://127.0.0.1:1/uploads', files });
      await eventually(() => expect(lastFrame()).toMatch(new RegExp(` \\| ${said}$`)), HANG_MS);
    }
    r.stop();
  });

  it('a big file still being sent while small ones end: the bar keeps the big one\'s name', async () => {
    const err = fakeTty(120);
    const r = new Reporter({ json: false, interactive: true, stdout: fakeTty(120), stderr: err });
    const lastFrame = () => [...err.text.matchAll(/\x1b\[1G([^\x1b]*)\x1b\[0K/g)].at(-1)?.[1];
    const view = new UploadView(r);
    const file = (relPath: string, size: number) => ({ path: relPath, relPath, size, key: `uploads/k/${relPath}`, status: 'uploaded' as const });
    view.onEvent({ type: 'scan-done', files: 3, bytes: 240_000_000 + 2_000_000 });
    view.onEvent({ type: 'put-start', relPath: 'scan.tif', key: 'uploads/k/scan.tif', size: 240_000_000 });
    view.onEvent({ type: 'put-start', relPath: 'small-1.jpg', key: 'uploads/k/small-1.jpg', size: 1_000_000 });
    view.onEvent({ type: 'put-start', relPath: 'small-2.jpg', key: 'uploads/k/small-2.jpg', size: 1_000_000 });
    view.onEvent({ type: 'file-uploaded', file: file('small-1.jpg', 1_000_000) } as UploadEvent);
    view.onEvent({ type: 'file-uploaded', file: file('small-2.jpg', 1_000_000) } as UploadEvent);
    await eventually(() => expect(lastFrame()).toMatch(/ \| 2\/3 files \| .* \| scan\.tif$/), HANG_MS);
    view.onEvent({ type: 'file-uploaded', file: file('scan.tif', 240_000_000) } as UploadEvent);
    await eventually(() => expect(lastFrame()).toMatch(/ \| 3\/3 files \| .* \| scan\.tif$/), HANG_MS);
    r.stop();
  });

  it('halted (Ctrl-C): the bar line is cleared, nothing is drawn after, the summary still prints', async () => {
    const err = fakeTty(40);
    const out = fakeTty(40);
    const r = new Reporter({ json: false, interactive: true, stdout: out, stderr: err });
    r.start(1000, 'uploading', 'bytes');
    r.advance(300, { files: '1/3 files' });
    // The bar redraws on its timer: wait for the frame with the new count.
    await eventually(async () => expect((await renderScreen(err.text, 40)).rows.at(-1)).toMatch(/^uploading \[[█░]+\] 30% \| 1\/3 files$/), HANG_MS);
    haltWidgets();
    const mark = err.text.length;
    r.advance(300, { files: '2/3 files' });
    r.step('ok b.jpg', 'b.jpg', 0);
    r.spin('presigning 3 files')();
    r.start(5, 'waiting for records');
    // Long enough for a bar timer still running to have drawn.
    await twoBarPeriods();
    r.summary('1 uploaded of 3 files');
    expect(err.text.slice(mark)).toBe('');
    expect((await renderScreen(err.text, 40)).rows.join('')).toBe('');
    expect(out.text).toBe('1 uploaded of 3 files\n');
  });
});

describe('a summary fitted to the terminal', () => {
  const line = `30 uploaded, 0 already there, 1 failed of 31 files; 996 KB in 2.79 s (10.8 files/s, 0.4 MB/s); 3 excluded by filters; manifest photos/${WIDE_NAME}.json`;
  it.each([200, 120, 80, 40, 20])('at %i columns: every row fits by columns, breaks only at spaces, clauses whole where they fit', (cols) => {
    const rows = fitToColumns(line, cols).split('\n');
    // Only one word wider than a row (the wide name: 48 columns) may overflow it, alone on its row.
    for (const row of rows) if (cells(row) > cols - 1) expect(row.trim(), row).not.toContain(' ');
    expect(rows.slice(1).every((r) => r.startsWith('  ') && r[2] !== ' ')).toBe(true);
    expect([rows[0], ...rows.slice(1).map((r) => r.slice(2))].join(' ')).toBe(line);
    if (cols >= 80) for (const clause of ['3 excluded by filters;', `manifest photos/${WIDE_NAME}.json`]) expect(rows.some((r) => r.includes(clause))).toBe(true);
    if (cols === 200) expect(rows).toEqual([line]);
    if (cols >= 80) for (const row of rows) expect(cells(row), row).toBeLessThanOrEqual(cols - 1);
  });
  it('a word wider than the row stays whole, on a row of its own', () => {
    expect(fitToColumns('done; manifest /a/very/long/path/to/the/manifest.json', 20).split('\n')).toEqual(['done; manifest', '  /a/very/long/path/to/the/manifest.json']);
  });
});
