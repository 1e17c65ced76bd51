// The local stack's maxFileBytes (what the WAN bench raises, trigger off, to send a 1 GiB file):
// the API grants a plan up to it and refuses one byte more, naming the limit; by default the
// resize's 256 MiB.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadAnswer } from '../src/api/contract.js';
import { partsOf } from '../src/api/parts.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const GIB = 1024 * 1024 * 1024;
const fakeHash = (s: string) => createHash('sha256').update(s).digest('base64');
const request = (size: number) => ({ name: 'scan.tif', size, contentType: 'image/tiff', sha256: fakeHash(`file ${size}`), parts: partsOf(size).map((p) => fakeHash(`part ${p.partNumber}`)) });

describe('local stack maxFileBytes', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ trigger: false, maxFileBytes: GIB });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const ask = async (size: number) => {
    const res = await fetch(`${stack.apiUrl}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [request(size)] }) });
    return ((await res.json()) as { uploads: UploadAnswer[] }).uploads[0];
  };

  it('grants a plan for a file of exactly the limit, in 8 MiB parts, and refuses one byte more', async () => {
    const plan = await ask(GIB);
    expect(plan).toMatchObject({ partSize: 8 * 1024 * 1024, uploadId: expect.any(String) });
    expect('parts' in plan && plan.parts).toHaveLength(128);
    expect(await ask(GIB + 1)).toEqual({ name: 'scan.tif', error: { code: 'EntityTooLarge', message: `size ${GIB + 1} bytes is over the 1024 MiB limit (the most the resize reads)` } });
  });
});
