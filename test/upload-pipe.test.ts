// `imgpipe upload DIR | head -3`: the reader closing its end of stdout ends the lines, not the
// work. The CLI runs as a separate process whose stdout this test closes after three lines, with
// the rest of the PUTs held at a proxy until then, so files are still in flight when it does.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from './helpers/cli.js';
import { adoptVia, spawnCli, startFaultProxy, writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A stack (no resize trigger) whose pre-signed URLs go through a proxy; `n` photos in `cwd/photos`. */
async function rig(n: number): Promise<{ stack: TestStack; s3: FaultProxy; cwd: string; photos: string }> {
  let stack: TestStack | undefined;
  const s3 = await startFaultProxy({ target: () => stack!.s3Endpoint, flavor: 's3' });
  stack = await startTestStack({ trigger: false, urlEndpoint: s3.url });
  cleanups.push(async () => {
    await s3.close();
    await stack!.stop();
  });
  const cwd = await tempDir('imgpipe-pipe-');
  await adoptVia(stack, cwd, stack.apiUrl);
  const photos = path.join(cwd, 'photos');
  await writeNoiseJpegs(photos, n);
  return { stack, s3, cwd, photos };
}

/** Resolves once `count` whole lines have come out of `stream`. */
function lines(stream: Readable, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onData = (d: Buffer) => {
      seen += d.toString().split('\n').length - 1;
      if (seen < count) return;
      stream.off('data', onData);
      resolve();
    };
    stream.on('data', onData);
  });
}

const ledgerPaths = async (cwd: string) =>
  (await readFile(path.join(cwd, '.imgpipe/ledger.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { path: string }).path)
    .sort();

describe('upload with its stdout closed early (`| head -3`)', () => {
  for (const broken of [false, true]) {
    it(`stores every file, writes the ledger and manifest, and exits ${broken ? 1 : 0}${broken ? ' with a file that is no image' : ''}`, async () => {
      const n = 20;
      const { stack, s3, cwd, photos } = await rig(n);
      if (broken) await writeFile(path.join(photos, 'zz-broken.jpg'), 'these bytes are no JPEG');
      const run = spawnCli(BIN, ['upload', 'photos', '--local'], { cwd });
      const threeLines = lines(run.child.stdout!, 3); // "uploading to …" and two "ok" lines
      // Two files stored, then every further PUT waits at the proxy until the reader has gone.
      await s3.waitFor(() => s3.total(s3.upstreamOk, 'PUT') >= 2, 'two PUTs stored');
      await s3.hold();
      await threeLines;
      run.child.stdout!.destroy(); // what `head -3` does after its third line
      expect(s3.total(s3.upstreamOk, 'PUT')).toBeLessThan(n); // files are still to go
      s3.release();
      const r = await run.done;

      expect(r.signal).toBeNull();
      expect(r.code).toBe(broken ? 1 : 0);
      // stderr holds the broken file's line and nothing else: no EPIPE, no stack trace.
      if (broken) expect(r.stderr).toMatch(/^error (\/.*\/)?photos\/zz-broken\.jpg: a text file, not an image\n$/);
      else expect(r.stderr).toBe('');
      const stored = await stack.list(stack.sourceBucket);
      expect(stored).toHaveLength(n);
      const good = Array.from({ length: n }, (_, i) => path.join(photos, `img-${String(i).padStart(3, '0')}.jpg`)).sort();
      expect(await ledgerPaths(cwd)).toEqual(good);
      const manifest = JSON.parse(await readFile(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8')) as { files: { key?: string; status: string; relPath: string }[] };
      const uploaded = manifest.files.filter((f) => f.key);
      expect(uploaded.map((f) => f.status)).toEqual(Array(n).fill('uploaded'));
      expect(uploaded.map((f) => f.key).sort()).toEqual(stored);
      // The refused file is listed too, with no key (watch --html shows it).
      expect(manifest.files.filter((f) => !f.key).map((f) => [f.relPath, f.status])).toEqual(broken ? [['zz-broken.jpg', 'failed']] : []);
      // The next dry run knows every stored file: nothing left to upload.
      const dry = await runCli(['upload', 'photos', '--local', '--dry-run'], { cwd });
      expect(dry.stdout).toContain(`(dryrun) 0 to upload (0 B), ${n} already there, ${broken ? 1 : 0} failed of ${n + (broken ? 1 : 0)} files; nothing sent\n`);
    });
  }
});
