// The local S3 server's error table (packages/local-s3/src/errors.ts): every code the source sends
// has one entry with S3's status and message, and real answers over HTTP carry them.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetBucketAclCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import { S3_ERRORS, startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { s3Client } from './helpers/s3.js';

const SRC = path.resolve(__dirname, '../packages/local-s3/src');
const BUCKET = 'errors';

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}

/** The code and (when given as a literal) message of every `new S3Error(...)` in the server's source. */
async function callSites(): Promise<Array<{ file: string; code: string; message?: string }>> {
  const sites: Array<{ file: string; code: string; message?: string }> = [];
  for (const file of await sourceFiles(SRC)) {
    const text = await readFile(file, 'utf8');
    // sigv4.ts picks its "malformed" code by auth mode; both candidates are codes it sends.
    for (const m of text.matchAll(/const malformed = [^;]*/g)) {
      for (const [, code] of m[0].matchAll(/'([A-Z]\w+)'/g)) sites.push({ file, code });
    }
    for (const m of text.matchAll(/new S3Error\(\s*([^,)]+)(?:,\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))?/g)) {
      if (m[1] === 'malformed') continue;
      const code = /^'(\w+)'$/.exec(m[1])?.[1];
      if (!code) throw new Error(`${file}: an S3Error whose code is not a literal: ${m[0]}`);
      sites.push({ file, code, ...(m[2] ? { message: m[2].slice(1, -1).replace(/\\(['"])/g, '$1') } : {}) });
    }
  }
  return sites;
}

describe('the error table', () => {
  it('has an entry, with an error status and a message, for every code the source sends, and none it does not', async () => {
    const sites = await callSites();
    expect(sites.length).toBeGreaterThan(100);
    const used = new Set(sites.map((s) => s.code));
    for (const code of used) {
      const entry = (S3_ERRORS as Record<string, { status: number; message: string } | undefined>)[code];
      expect(entry, code).toBeDefined();
      expect(entry!.status >= 400 && entry!.status < 600, code).toBe(true);
      expect(entry!.message.length, code).toBeGreaterThan(0);
    }
    expect(Object.keys(S3_ERRORS).sort()).toEqual([...used].sort());
  });

  it('no call site repeats the default message it would get by naming the code alone', async () => {
    const repeats = (await callSites()).filter((s) => s.message === S3_ERRORS[s.code as keyof typeof S3_ERRORS].message);
    expect(repeats.map((s) => `${path.relative(SRC, s.file)}: ${s.code}`)).toEqual([]);
  });

  it("holds S3's own texts for the codes clients see most", () => {
    // As S3 answers them (and as SDKs and the project's tests compare them).
    expect(S3_ERRORS.NoSuchKey).toEqual({ status: 404, message: 'The specified key does not exist.' });
    expect(S3_ERRORS.NoSuchBucket).toEqual({ status: 404, message: 'The specified bucket does not exist' });
    expect(S3_ERRORS.MethodNotAllowed).toEqual({ status: 405, message: 'The specified method is not allowed against this resource.' });
    expect(S3_ERRORS.AccessDenied).toEqual({ status: 403, message: 'Access Denied' });
  });
});

describe('answers over HTTP', () => {
  let dataDir: string;
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-errors-'));
    s3 = await startLocalS3({ dataDir, buckets: [BUCKET], silent: !process.env.S3_DEBUG });
    client = s3Client(s3);
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The status and <Error> fields of a plain fetch of `url`. */
  async function answer(url: string, method = 'GET'): Promise<{ status: number; fields: Record<string, string> }> {
    const res = await fetch(url, { method });
    const xml = await res.text();
    const body = /<Error>(.*)<\/Error>/s.exec(xml)?.[1] ?? '';
    const fields = Object.fromEntries([...body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map(([, k, v]) => [k, v]));
    delete fields.RequestId;
    delete fields.HostId;
    return { status: res.status, fields };
  }

  /** A pre-signed URL for `command`, signed for `method` when given (so the server routes, not refuses, it). */
  function presign(command: GetObjectCommand | ListObjectsV2Command | GetBucketAclCommand, method?: string): Promise<string> {
    if (method) {
      command.middlewareStack.add(
        (next) => (args) => {
          (args.request as { method: string }).method = method;
          return next(args);
        },
        { step: 'build' },
      );
    }
    return getSignedUrl(client, command, { expiresIn: 60 });
  }

  it('GET of a missing key: 404 NoSuchKey, the table message, the key', async () => {
    const url = await presign(new GetObjectCommand({ Bucket: BUCKET, Key: 'not/here.txt' }));
    expect(await answer(url)).toEqual({
      status: S3_ERRORS.NoSuchKey.status,
      fields: { Code: 'NoSuchKey', Message: S3_ERRORS.NoSuchKey.message, Key: 'not/here.txt' },
    });
  });

  it('LIST of a missing bucket: 404 NoSuchBucket, the table message, the bucket', async () => {
    const url = await presign(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }));
    expect(await answer(url)).toEqual({
      status: S3_ERRORS.NoSuchBucket.status,
      fields: { Code: 'NoSuchBucket', Message: S3_ERRORS.NoSuchBucket.message, BucketName: 'no-such-bucket' },
    });
  });

  it('POST on an object: 405 MethodNotAllowed, the table message, method and resource type', async () => {
    const url = await presign(new GetObjectCommand({ Bucket: BUCKET, Key: 'some.txt' }), 'POST');
    expect(await answer(url, 'POST')).toEqual({
      status: S3_ERRORS.MethodNotAllowed.status,
      fields: { Code: 'MethodNotAllowed', Message: S3_ERRORS.MethodNotAllowed.message, Method: 'POST', ResourceType: 'OBJECT' },
    });
  });

  it('what the README says it refuses: anonymous access is 403 AccessDenied, ?acl is 501 NotImplemented', async () => {
    expect(await answer(`${s3.endpoint}/${BUCKET}/some.txt`)).toEqual({
      status: 403,
      fields: { Code: 'AccessDenied', Message: 'Access Denied' },
    });
    expect(await answer(await presign(new GetBucketAclCommand({ Bucket: BUCKET })))).toEqual({
      status: 501,
      fields: { Code: 'NotImplemented', Message: 'The bucket subresource ?acl is not supported by the local S3 server.' },
    });
  });
});
