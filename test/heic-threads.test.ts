// resize-local decodes HEICs on threads of their own, one per photo at once (jobs/heif-workers.ts):
// in one thread libheif's decodes queued behind one another, so a folder of HEICs took as long at
// --concurrency 2 as at 1 on two cores. What a thread decodes must be exactly what this thread
// decodes, refusals included; how much faster it is, bench/README.md says (not a test's business).
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { makeMixedSet, type SetImage } from './helpers/heic-set.js';
import { tempDir } from './helpers/images.js';
import { have, TOOLS } from './helpers/tools.js';

const hasHeifEnc = have(TOOLS.heifEnc, 'heic-threads.test');
const ROOT = path.join(import.meta.dirname, '..');
const MODULE_LOG = path.join(import.meta.dirname, 'helpers/module-log.mjs');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  return new Map(await Promise.all(names.sort().map(async (n) => [n, sha(await readFile(path.join(dir, n)))] as [string, string])));
}

describe.skipIf(!hasHeifEnc)('HEIC decodes on threads of their own', () => {
  let dir: string;
  let set: SetImage[];

  beforeAll(async () => {
    dir = await tempDir('imgpipe-heic-threads-');
    set = await makeMixedSet(dir);
  }, 180_000);

  it('resize-local -c 2: two decoder threads, every file as one thread writes it, the corrupt HEIC refused alike', async () => {
    const photos = path.join(dir, 'photos');
    await mkdir(photos);
    for (const s of set) await copyFile(s.file, path.join(photos, s.name));
    const run = async (c: string, out: string) => {
      const log = path.join(dir, `modules-${c}.txt`);
      const r = await runCli(['resize-local', photos, '--out', path.join(dir, out), '--json', '--concurrency', c], {
        env: { IMGPIPE_MODULE_LOG: log, NODE_OPTIONS: `--import=${MODULE_LOG}` },
        timeoutMs: 240_000,
      });
      const loaded = (await readFile(log, 'utf8')).split('\n');
      return { r, doc: JSON.parse(r.stdout), count: (file: string) => loaded.filter((u) => u.endsWith(file)).length };
    };
    const one = await run('1', 'one');
    const two = await run('2', 'two');
    for (const { r } of [one, two]) expect(r.code).toBe(1); // the corrupt HEIC
    expect(two.doc.errors).toEqual(one.doc.errors); // the same refusal, word for word
    expect(one.doc.errors).toHaveLength(1);
    expect(one.doc.errors[0]).toMatchObject({ path: path.join(photos, 'corrupt.heic'), error: expect.stringMatching(/^corrupt or truncated image: HEIC: /) });
    const [a, b] = [await filesUnder(path.join(dir, 'one')), await filesUnder(path.join(dir, 'two'))];
    expect(a.size).toBe(6 * 3); // every good image, every variant
    expect(b).toEqual(a);
    // Two decoder threads at -c 2 (one per photo at once), none at -c 1 (libheif in the main thread).
    expect([one.count('/jobs/heif-worker.js'), two.count('/jobs/heif-worker.js')]).toEqual([0, 2]);
  }, 300_000);

  it("the pool answers each HEIC's header and pixels as the in-thread decoder does, refuses what it refuses, and none once closed", async () => {
    // The built pool: its worker is a built file beside it (from the TypeScript sources it makes none).
    const { heifWorkers } = await import(path.join(ROOT, 'dist/src/jobs/heif-workers.js'));
    const heif = await import(path.join(ROOT, 'dist/src/core/heif.js'));
    const pool = heifWorkers(2);
    expect(pool).toBeDefined();
    const heics = set.filter((s) => s.format === 'heic' && !s.corrupt);
    const pixels = 100_000_000;
    const ours = await Promise.all(heics.map(async (s) => { const data = await readFile(s.file); return { header: await pool.header(data), decoded: await pool.decode(data, pixels) }; }));
    for (const [i, s] of heics.entries()) {
      const data = await readFile(s.file);
      const here = await heif.decodeHeif(data, () => undefined);
      const { pixels: mine, ...rest } = ours[i].decoded;
      expect(Buffer.isBuffer(mine)).toBe(true);
      expect([s.name, sha(mine), rest]).toEqual([s.name, sha(here.pixels), (({ pixels: _, ...r }) => r)(here)]);
      expect(ours[i].header).toEqual(await heif.readHeifHeader(data));
    }
    const corrupt = await readFile(set.find((s) => s.corrupt)!.file);
    await expect(pool.decode(corrupt, pixels)).rejects.toMatchObject({ code: heif.HEIF_ERRORS.decode });
    await expect(pool.decode(await readFile(heics[0].file), 1_000)).rejects.toMatchObject({ name: 'ImageError', code: 'too-large', message: expect.stringMatching(/^image is \d+×\d+ .*decompression bomb guard\)$/) });
    await pool.close();
    await expect(pool.decode(await readFile(heics[0].file), pixels)).rejects.toMatchObject({ code: heif.HEIF_ERRORS.unavailable });
  }, 120_000);
});
