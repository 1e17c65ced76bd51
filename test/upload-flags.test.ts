// The flags users of `aws s3 cp/sync`, s5cmd and rclone reach for: --dry-run, -q, --no-progress,
// -v, --exclude/--include, quoted globs, --endpoint-url, --profile, and the count of what a folder
// walk skipped. The built CLI against a real local stack; PUTs counted through a proxy.
import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths, type PathFilter } from '../src/files/scan.js';
import { runCli } from './helpers/cli.js';
import { writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { startStackBehindProxy, type TestStack } from './helpers/stack.js';

const lines = (text: string) => text.split('\n').filter(Boolean);
const exists = (p: string) => access(p).then(() => true, () => false);

describe('glob matching', () => {
  /** A fresh folder holding these files (each one byte). */
  async function folderWith(files: string[]): Promise<string> {
    const dir = await img.tempDir('imgpipe-glob-');
    for (const f of files) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), 'x');
    }
    return dir;
  }
  /** What `upload 'DIR/GLOB'` looks at (the scan, the glob expanded): paths under dir, a matched folder walked. */
  async function picked(dir: string, glob: string): Promise<string[]> {
    const scan = await scanPaths([`${dir}/${glob}`], { expandGlobs: true });
    // Taken, or passed over by a matched folder's walk (not an image): `**` matches a/ and a/b both.
    return [...new Set([...scan.files.map((f) => f.path), ...scan.skipped])].map((p) => path.relative(dir, p)).sort();
  }
  /** What `upload DIR --exclude PATTERN` leaves out, by path under dir; `names` named one by one instead of the folder. */
  async function excluded(dir: string, pattern: string, names?: string[]): Promise<string[]> {
    const scan = await scanPaths(names ? names.map((n) => path.join(dir, n)) : [dir], { filters: [{ kind: 'exclude', pattern }] });
    expect(scan.excluded.every((e) => e.pattern === pattern)).toBe(true);
    return scan.excluded.map((e) => e.relPath).sort();
  }

  // A glob argument is picomatch's, but for `[!…]`: these pin that the rewrite changes nothing else.
  const picomatch = createRequire(import.meta.url)('picomatch') as (glob: string) => (p: string) => boolean;
  const paths = ['a.jpg', 'b.JPG', 'sub/a.jpg', 'sub/deep/c.png', 'x?.jpg', 'img-001.jpg', 'img-1x.jpg', 'a/b', 'ab'];
  const globs = ['*.jpg', '**/*.jpg', 'sub/*', 'sub/**', '**', '?.jpg', 'img-00[0-9].jpg', 'sub/**/c.png', 'a*', '*/*'];

  it.each(globs)('%s picks (with the shell\'s rules) what picomatch matches, a matched folder whole', async (glob) => {
    const dir = await folderWith(paths);
    const matches = picomatch(glob);
    // A file is picked when it, or a folder it is in, matches.
    const within = (p: string) => p.split('/').some((_, i, parts) => matches(parts.slice(0, i + 1).join('/')));
    expect(await picked(dir, glob)).toEqual(paths.filter(within).sort());
  });

  it('[!…] is a negated class, as in the shell (picomatch reads it otherwise), and never matches /', async () => {
    const dir = await folderWith(['img-001.jpg', 'img-1x.jpg', 'x-y.jpg', 'x/y.jpg']);
    expect(await picked(dir, 'img-[!0]*.jpg')).toEqual(['img-1x.jpg']);
    expect(await picked(dir, '**/x[!a]y.jpg')).toEqual(['x-y.jpg']);
  });

  it('--exclude/--include follow aws s3: * crosses folders, later filters take precedence', async () => {
    const dir = await folderWith(['sub/deep/a.jpg', 'a.png']);
    expect(await excluded(dir, '*.jpg')).toEqual(['sub/deep/a.jpg']);
    const kept = await folderWith(['keep/x/a.jpg', 'other/a.jpg', 'keep/a.jpg']);
    const filters = [{ kind: 'exclude', pattern: '*' }, { kind: 'include', pattern: 'keep/*' }] as const;
    const left = async (more: PathFilter[] = []) => (await scanPaths([kept], { filters: [...filters, ...more] })).excluded.map((e) => `${e.relPath} by ${e.pattern}`).sort();
    expect(await left()).toEqual(['other/a.jpg by *']);
    expect(await left([{ kind: 'exclude', pattern: 'keep/a*' }])).toEqual(['keep/a.jpg by keep/a*', 'other/a.jpg by *']);
  });

  it('braces, globstars, ranges and classes (picomatch) work in glob arguments', async () => {
    const dir = await folderWith(['img-001.jpg', 'img-002.jpg', 'sub/a.jpg', 'img-2.jpg', 'img-4.jpg', 'a/b.jpg', 'a/x/y/b.jpg', 'x.JpG', '7x.jpg', 'x7.jpg', '.x.jpg']);
    expect(await picked(dir, 'img-00{0,2}.jpg')).toEqual(['img-002.jpg']);
    expect(await picked(dir, '{raw,sub}/*.jpg')).toEqual(['sub/a.jpg']);
    expect(await picked(dir, 'img-{1..3}.jpg')).toEqual(['img-2.jpg']);
    expect(await picked(dir, 'a/**/b.jpg')).toEqual(['a/b.jpg', 'a/x/y/b.jpg']);
    expect(await picked(dir, '[[:digit:]]*.jpg')).toEqual(['7x.jpg']);
    // The shell's dotglob is off: a hidden name only when the pattern spells its dot.
    expect(await picked(dir, '*.[jJ][pP][gG]')).toEqual(['7x.jpg', 'img-001.jpg', 'img-002.jpg', 'img-2.jpg', 'img-4.jpg', 'x.JpG', 'x7.jpg']);
    expect(await picked(dir, '.*.jpg')).toEqual(['.x.jpg']);
  });

  it('braces, globstars, ranges and classes work in --exclude/--include, which see hidden names (as fnmatch does)', async () => {
    const dir = await folderWith(['sub/deep/a.webp', 'sub/a.jpg', 'drafts/2024/05/a.jpg', 'final/drafts.jpg', 'img-3.jpg', 'img-7.jpg', '.x.jpg']);
    expect(await excluded(dir, '*.{webp,png}')).toEqual(['sub/deep/a.webp']);
    expect(await excluded(dir, 'drafts/**')).toEqual(['drafts/2024/05/a.jpg']);
    expect(await excluded(dir, 'img-[5-9].jpg')).toEqual(['img-7.jpg']);
    expect(await excluded(dir, 'img-[!5-9].jpg')).toEqual(['img-3.jpg']);
    expect(await excluded(dir, 'img-{1..3}.jpg')).toEqual(['img-3.jpg']);
    // A folder's walk passes hidden names over; one named on the command line meets the filters.
    expect(await excluded(dir, '*.jpg', ['.x.jpg'])).toEqual(['.x.jpg']);
  });

  it('a glob argument expands on disk from the folder it names, the working folder\'s too, braces across folders', async () => {
    const dir = await folderWith(['a/1.jpg', 'a/2.jpg', 'a/.h.jpg', 'b/c/3.jpg', 'b/4.png']);
    expect(await picked(dir, '{a/1,b/c/3}.jpg')).toEqual(['a/1.jpg', 'b/c/3.jpg']);
    expect(await picked(dir, '**/*.jpg')).toEqual(['a/1.jpg', 'a/2.jpg', 'b/c/3.jpg']);
    expect(await picked(dir, '*/[!1].{jpg,png}')).toEqual(['a/2.jpg', 'b/4.png']);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const taken = async (glob: string) => (await scanPaths([glob], { expandGlobs: true })).files.map((f) => f.path);
      expect(await taken('./a/*.jpg')).toEqual([path.resolve('a/1.jpg'), path.resolve('a/2.jpg')]);
      expect(await taken('a/.*.jpg')).toEqual([path.resolve('a/.h.jpg')]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('upload flags from aws s3 / s5cmd / rclone', () => {
  let stack: TestStack;
  let proxy: FaultProxy;
  let root: string;
  const puts = () => proxy.total(proxy.requests, 'PUT');

  let stopStack: () => Promise<void> = async () => {};
  beforeAll(async () => {
    ({ stack, proxy, stop: stopStack } = await startStackBehindProxy());
    root = await img.tempDir('imgpipe-flags-');
  });
  afterAll(() => stopStack());

  /** A working folder adopting the stack, with photos/: 3 photos, sidecars, a raw, a .DS_Store, sub/ with 2 more. */
  async function workdir(name: string): Promise<string> {
    const cwd = path.join(root, name);
    await mkdir(cwd);
    await stack.adopt(cwd);
    const photos = path.join(cwd, 'photos');
    await writeNoiseJpegs(photos, 3);
    await writeNoiseJpegs(path.join(photos, 'sub'), 2);
    // Different bytes in every work folder: dedupe by content must not hide what a test sends.
    for (const f of ['img-000.jpg', 'img-001.jpg', 'img-002.jpg', 'sub/img-000.jpg', 'sub/img-001.jpg']) {
      await writeFile(path.join(photos, f), Buffer.concat([await import('node:fs/promises').then((fs) => fs.readFile(path.join(photos, f))), Buffer.from(name)]));
    }
    for (const f of ['img-000.xmp', 'img-001.xmp', 'RAW.CR2', '.DS_Store']) await writeFile(path.join(photos, f), 'x');
    return cwd;
  }

  it('--dry-run lists what would be sent and what skipped, sends nothing and writes no manifest or ledger', async () => {
    const cwd = await workdir('dry');
    const before = puts();
    const r = await runCli(['upload', 'photos', '--local', '--dry-run'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([
      '(dryrun) upload img-000.jpg',
      '(dryrun) upload img-001.jpg',
      '(dryrun) upload img-002.jpg',
      '(dryrun) upload sub/img-000.jpg',
      '(dryrun) upload sub/img-001.jpg',
      expect.stringMatching(/^\(dryrun\) 5 to upload \(\d+(\.\d+)? KB\), 0 already there, 0 failed of 5 files; skipped 4: 2 \.xmp, 1 \.CR2, 1 \.DS_Store; nothing sent$/),
    ]);
    expect(r.stderr).toBe('');
    expect(puts() - before).toBe(0);
    expect(await exists(path.join(cwd, '.imgpipe', 'last-upload.json'))).toBe(false);
    expect(await exists(path.join(cwd, '.imgpipe', 'ledger.jsonl'))).toBe(false);

    // After the real upload, the ledger knows them unchanged: skipped, with their keys.
    const up = await runCli(['upload', 'photos', '--local', '--json'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    const keys = Object.fromEntries((JSON.parse(up.stdout).uploads as { relPath: string; key: string }[]).map((u) => [u.relPath, u.key]));
    const again = await runCli(['upload', 'photos', '--local', '--dry-run', '--json'], { cwd });
    const doc = JSON.parse(again.stdout);
    expect(doc).toMatchObject({ dryRun: true, ok: true, files: 5, toUpload: 0, toUploadBytes: 0, exists: 5, failed: 0, bytes: 0, walkSkipped: { total: 4, kinds: { '.xmp': 2, '.CR2': 1, '.DS_Store': 1 } } });
    expect(doc.uploads[0]).toEqual({ path: path.join(cwd, 'photos', 'img-000.jpg'), relPath: 'img-000.jpg', status: 'exists', key: keys['img-000.jpg'], size: expect.any(Number), fromLedger: true });
    const text = await runCli(['upload', 'photos', '--local', '--dry-run'], { cwd });
    expect(lines(text.stdout)[0]).toBe(`(dryrun) skip img-000.jpg: unchanged since its upload as ${keys['img-000.jpg']}`);
  });

  it('--dry-run makes no request at all: an unreachable API is never asked', async () => {
    const cwd = await workdir('dry-remote');
    await writeFile(path.join(cwd, 'photos', 'broken.jpg'), 'not a photo');
    await copyFile(path.join(cwd, 'photos', 'img-000.jpg'), path.join(cwd, 'photos', 'twin.jpg'));
    const r = await runCli(['upload', 'photos', '--api', 'http://127.0.0.1:9/nothing-here', '--dest-bucket', 'b', '--dry-run'], { cwd });
    expect(r.code).toBe(1); // a local check failed
    expect(lines(r.stderr)).toEqual([`error ${path.join(cwd, 'photos', 'broken.jpg')}: a text file, not an image`]);
    // A copy of a file that would be sent would not be sent again: the real run's twins rule.
    expect(lines(r.stdout)).toContain('(dryrun) skip twin.jpg: same bytes as img-000.jpg');
    // In the files' order: the copy's line after the line of the file it copies.
    expect(lines(r.stdout).indexOf('(dryrun) skip twin.jpg: same bytes as img-000.jpg')).toBeGreaterThan(lines(r.stdout).indexOf('(dryrun) upload img-000.jpg'));
    expect(lines(r.stdout).at(-1)).toMatch(/^\(dryrun\) 5 to upload \(.+\), 1 already there, 1 failed of 7 files; skipped 4: .*; nothing sent$/);
    const quiet = await runCli(['upload', 'photos', '--api', 'http://127.0.0.1:9/nothing-here', '--dest-bucket', 'b', '--dry-run', '-q'], { cwd });
    expect(lines(quiet.stdout)).toEqual([lines(r.stdout).at(-1)]);
  });

  it('the upload summary counts what the walk skipped by kind; -v lists them with every request', async () => {
    const cwd = await workdir('verbose');
    const before = puts();
    const r = await runCli(['upload', 'photos', '--local', '-v'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(puts() - before).toBe(5);
    expect(lines(r.stdout).at(-1)).toMatch(/^5 uploaded, 0 already there, 0 failed of 5 files; .*; skipped 4: 2 \.xmp, 1 \.CR2, 1 \.DS_Store; manifest \.imgpipe\/last-upload\.json$/);
    const err = lines(r.stderr);
    const photos = path.join(cwd, 'photos');
    expect(err.filter((l) => l.startsWith('skip '))).toEqual([
      `skip ${photos}/.DS_Store: hidden`,
      `skip ${photos}/RAW.CR2: not an image (by its extension)`,
      `skip ${photos}/img-000.xmp: not an image (by its extension)`,
      `skip ${photos}/img-001.xmp: not an image (by its extension)`,
    ]);
    expect(err.filter((l) => l.startsWith('request POST ')).length).toBeGreaterThanOrEqual(1);
    expect(err.filter((l) => l.startsWith('request PUT ')).sort()).toEqual(
      ['img-000.jpg', 'img-001.jpg', 'img-002.jpg', 'sub/img-000.jpg', 'sub/img-001.jpg'].map((f) => expect.stringMatching(new RegExp(`^request PUT ${f.replace('.', '\\.')} → uploads/\\S+ \\(.+\\)$`))),
    );
  });

  it('-q prints the summary line only; --no-progress is accepted', async () => {
    const cwd = await workdir('quiet');
    const r = await runCli(['upload', 'photos', '--local', '-q', '--no-progress'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual([expect.stringMatching(/^5 uploaded, 0 already there, 0 failed of 5 files/)]);
  });

  it('--exclude/--include in order decide what is sent', async () => {
    const cwd = await workdir('filters');
    const before = puts();
    const r = await runCli(['upload', 'photos', '--local', '--json', '--exclude', 'sub/*', '--include', 'sub/img-001*', '--exclude', 'img-002.jpg'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.uploads.map((u: { relPath: string }) => u.relPath).sort()).toEqual(['img-000.jpg', 'img-001.jpg', 'sub/img-001.jpg']);
    expect(doc).toMatchObject({ uploaded: 3, excluded: 2 });
    expect(puts() - before).toBe(3);
  });

  it('a quoted glob is expanded by imgpipe; one that matches nothing is the usual one-line error', async () => {
    const cwd = await workdir('globs');
    const before = puts();
    const r = await runCli(['upload', 'photos/img-00[02].jpg', 'photos/**/img-001.jpg', '--local', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.uploads.map((u: { path: string }) => path.relative(cwd, u.path)).sort()).toEqual(['photos/img-000.jpg', 'photos/img-001.jpg', 'photos/img-002.jpg', 'photos/sub/img-001.jpg']);
    expect(puts() - before).toBe(4);

    const none = await runCli(['upload', 'photos/nope-*.jpg', '--local'], { cwd });
    expect(none.code).toBe(1);
    expect(lines(none.stderr)).toEqual(['error photos/nope-*.jpg: no such file or directory, and no file matches it as a pattern']);
  });

  it('--endpoint-url is --endpoint (the same pipeline in the ledger); both, differing, is bad usage', async () => {
    const cwd = await workdir('endpoint');
    const remote = ['--api', stack.apiUrl, '--dest-bucket', stack.destBucket];
    const up = await runCli(['upload', 'photos', ...remote, '--endpoint-url', stack.s3Endpoint, '-q'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    const dry = await runCli(['upload', 'photos', ...remote, '--endpoint', stack.s3Endpoint, '--dry-run', '--json'], { cwd });
    expect(JSON.parse(dry.stdout)).toMatchObject({ toUpload: 0, exists: 5 });
    const both = await runCli(['upload', 'photos', ...remote, '--endpoint', 'http://a', '--endpoint-url', 'http://b'], { cwd });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--endpoint and --endpoint-url name different endpoints/);
  });
});
