// HEICs decoded side by side with other images in one process: a JPEG, a small HEIC, a large
// HEIC, a PNG, a still larger HEIC, a corrupt HEIC and a small HEIC again, one at a time and four
// at once, through the shared engine, `resize-local` and the local stack's resize trigger. Every
// image but the corrupt one comes out right, and a HEIC after the set still decodes.
//
// Before heif.ts queued its uses of the one libheif instance, a good HEIC failed as "corrupt or
// truncated image: Cannot perform Construct on a detached ArrayBuffer" when two uses resumed
// together (as when they all wait for the decoder to compile) and one grew the wasm memory while
// the other held a view of it. Once the largest HEIC has been decoded the memory no longer grows,
// so a process that has decoded one is no test of it: hence the engine block first, and the CLI
// (a fresh process per run).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordKey } from '../src/core/keys.js';
import { resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { getVerdict } from '../src/s3/get-record.js';
import { runCli } from './helpers/cli.js';
import { expectResized, expectVariant, localVariantPaths, makeAfterHeic, makeMixedSet, type SetImage } from './helpers/heic-set.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';

const hasHeifEnc = have(TOOLS.heifEnc, 'heic-concurrent.test');

describe.skipIf(!hasHeifEnc)('HEIC among other images, one at a time and four at once', () => {
  let dir: string;
  let set: SetImage[];
  let after: SetImage;

  beforeAll(async () => {
    dir = await tempDir('imgpipe-heic-set-');
    set = await makeMixedSet(dir);
    after = await makeAfterHeic(dir);
  }, 180_000);

  // First: the first HEIC decodes of this test process.
  it('the shared engine, four at once in a fresh process, then one more HEIC', async () => {
    const four = pLimit(4);
    const results = await Promise.allSettled(set.map((image) => four(async () => resizeImage(await readFile(image.file), DEFAULT_SPEC))));
    expect(results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok'))).toEqual(
      set.map((i) => (i.corrupt ? expect.stringMatching(/^corrupt or truncated image: HEIC: \S/) : 'ok')),
    );
    for (const [i, image] of set.entries()) {
      const r = results[i];
      if (r.status === 'rejected') continue;
      expect(r.value.source).toMatchObject({ format: image.format, width: image.width, height: image.height });
      for (const out of r.value.outputs) await expectVariant(out.data, image, DEFAULT_SPEC.variants.find((v) => v.name === out.variant)!);
    }
    const again = await resizeImage(await readFile(after.file), DEFAULT_SPEC);
    for (const out of again.outputs) await expectVariant(out.data, after, DEFAULT_SPEC.variants.find((v) => v.name === out.variant)!);
  }, 300_000);

  describe.each([1, 4])('resize-local -c %i', (c) => {
    it('writes every variant of each good file, one error line for the corrupt HEIC, exit code 1', async () => {
      const out = path.join(dir, `out-c${c}`);
      // The HEIC after the set goes last on the command line: at -c 1 it decodes after all the rest.
      const r = await runCli(['resize-local', ...[...set, after].map((i) => i.file), '-c', String(c), '--out', out], { timeoutMs: 300_000 });
      expect(r.code, r.stderr).toBe(1);
      // One line, naming the corrupt file (toEqual shows every line when there are more).
      expect(r.stderr.split('\n').filter((l) => l.trim())).toEqual([expect.stringMatching(/^error \/.*\/corrupt\.heic: corrupt or truncated image: HEIC: \S/)]);
      for (const image of [...set, after]) {
        for (const { v, key } of localVariantPaths(image, DEFAULT_SPEC)) {
          const file = path.join(out, ...key.split('/'));
          if (image.corrupt) expect(existsSync(file), file).toBe(false);
          else await expectVariant(await readFile(file), image, v);
        }
      }
    }, 300_000);
  });

  describe.each([1, 4])('the local stack in this process, %i resize(s) at once', (c) => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack({ resizeConcurrency: c });
    }, 60_000);
    afterAll(async () => stack?.stop());

    it('records done for each good file and a failure for the corrupt HEIC; a HEIC after the set is done too', async () => {
      const prefix = `uploads/c${c}/`;
      const dest = { list: () => stack.list(stack.destBucket), get: (key: string) => stack.get(stack.destBucket, key) };
      // Staged where no trigger fires, then copied in all at once: seven ObjectCreated:Copy events
      // within milliseconds (PUTs of these sizes would arrive hundreds of ms apart), `c` run at once.
      for (const image of set) await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: `staging/${prefix}${image.name}`, Body: await readFile(image.file) }));
      const copy = (image: SetImage) => new CopyObjectCommand({ Bucket: stack.sourceBucket, Key: prefix + image.name, CopySource: `${stack.destBucket}/staging/${prefix}${image.name}` });
      await Promise.all(set.map((image) => stack.s3.send(copy(image))));
      await stack.idle();
      await expectResized(dest, prefix, set, DEFAULT_SPEC);
      const verdicts = await Promise.all(set.map(async (i) => (await getVerdict(stack.s3, stack.destBucket, prefix + i.name))?.status));
      expect(verdicts).toEqual(set.map((i) => (i.corrupt ? 'failed' : 'done')));

      await stack.s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: prefix + after.name, Body: await readFile(after.file) }));
      await stack.idle();
      expect((await dest.list()).includes(recordKey(prefix + after.name))).toBe(true);
      await expectResized(dest, prefix, [after], DEFAULT_SPEC);
    }, 300_000);
  });
});
