// The local S3 server against a second SDK: Debian's python3-boto3, run as /usr/bin/python3
// test/helpers/boto3-s3-check.py on a server this file starts. The script prints what boto3 parsed;
// every expected value here (ETags, SHA-256s, the composite checksum, sizes) is computed from the
// part bytes this file wrote, not taken from the script.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalS3, type LocalS3, type ObjectCreatedEvent } from '@imgpipe/local-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers/images.js';
import { md5Hex, sha256B64 } from './helpers/s3.js';
import { have, TOOLS } from './helpers/tools.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'helpers', 'boto3-s3-check.py');
const HAS_BOTO3 = have(TOOLS.boto3, 'local-s3 boto3');
const BUCKET = 'boto';
const MIB = 1024 * 1024;
const PARTS = [randomBytes(5 * MIB), randomBytes(5 * MIB), randomBytes(1234)];

const sha256Raw = (b: Buffer) => createHash('sha256').update(b).digest();
const md5Raw = (b: Buffer) => createHash('md5').update(b).digest();
const COMPOSITE = `${createHash('sha256').update(Buffer.concat(PARTS.map(sha256Raw))).digest('base64')}-${PARTS.length}`;
const MULTIPART_ETAG = `${createHash('md5').update(Buffer.concat(PARTS.map(md5Raw))).digest('hex')}-${PARTS.length}`;
const SIZE = PARTS.reduce((n, p) => n + p.length, 0);

/** What the script printed: JSON, checked by toEqual against exact values. */
type Json = Record<string, any>;

function runScript(s3: LocalS3, partFiles: string[]): Promise<Json> {
  const env = {
    ...process.env,
    LOCAL_S3_ENDPOINT: s3.endpoint,
    LOCAL_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    LOCAL_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    LOCAL_S3_BUCKET: BUCKET,
    LOCAL_S3_PARTS: partFiles.join(path.delimiter),
  };
  // Asynchronous: the server answers from this same event loop.
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', [SCRIPT], { env, timeout: 120_000, maxBuffer: 16 * MIB, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`boto3-s3-check.py failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Json);
    });
  });
}

/** A section of the script's answer; a section that raised fails here with its traceback. */
function section(out: Json, name: string): Json {
  const s = out[name] as Json;
  if (s?.crashed) throw new Error(`boto3 section ${name} raised:\n${s.crashed}`);
  return s;
}

describe.skipIf(!HAS_BOTO3)('local-s3 through boto3 (a second SDK)', () => {
  let dir: string;
  let s3: LocalS3;
  let out: Json;
  const created: ObjectCreatedEvent[] = [];
  const log: string[] = [];

  beforeAll(async () => {
    dir = await tempDir('imgpipe-local-s3-boto3-');
    // Its one line per request, kept: no request boto3 or urllib makes may be an internal error.
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (!String(chunk).startsWith('[local-s3] ')) return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
      log.push(String(chunk).trimEnd());
      return true;
    });
    s3 = await startLocalS3({ dataDir: path.join(dir, 'data'), buckets: [BUCKET], silent: false });
    s3.onObjectCreated((ev) => created.push(ev));
    const files = PARTS.map((_, i) => path.join(dir, `part-${i + 1}`));
    for (const [i, f] of files.entries()) await writeFile(f, PARTS[i]);
    out = await runScript(s3, files);
    await new Promise((r) => setImmediate(r)); // listeners run a tick after the commit
  }, 180_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const etags = PARTS.map((p) => `"${md5Hex(p)}"`);
  const shas = PARTS.map((p) => sha256B64(p));

  it('multipart with SHA-256: Create echoes it, a part without it is InvalidRequest, a wrong one BadDigest, ListParts pages by max-parts and part-number-marker', () => {
    const m = section(out, 'multipart');
    expect(m.create).toEqual({ Bucket: BUCKET, Key: 'mpu/big.bin', ChecksumAlgorithm: 'SHA256', UploadId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(m.badDigest).toEqual({ code: 'BadDigest', status: 400 });
    expect(m.noChecksum).toEqual({ code: 'InvalidRequest', status: 400 });
    expect(m.uploaded).toEqual([1, 2, 3].map((n) => ({ PartNumber: n, ETag: etags[n - 1], ChecksumSHA256: shas[n - 1] })));
    expect(m.listParts).toEqual({
      ChecksumAlgorithm: 'SHA256',
      IsTruncated: false,
      // Parts 8 (no checksum) and 9 (the bad digest) were never stored.
      Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: etags[n - 1], Size: PARTS[n - 1].length, ChecksumSHA256: shas[n - 1] })),
    });
    expect(m.listPartsPages).toEqual([
      { PartNumberMarker: 0, NextPartNumberMarker: 1, MaxParts: 1, IsTruncated: true, Parts: [1] },
      { PartNumberMarker: 1, NextPartNumberMarker: 2, MaxParts: 1, IsTruncated: true, Parts: [2] },
      { PartNumberMarker: 2, NextPartNumberMarker: 3, MaxParts: 1, IsTruncated: false, Parts: [3] },
    ]);
  });

  it('ListMultipartUploads: prefix, and max-uploads=1 paged by key-marker and upload-id-marker (one key twice, oldest first)', () => {
    const m = section(out, 'multipart');
    const big = m.create.UploadId as string;
    const [o1, o2] = m.otherUploads as string[];
    expect(m.listUploads).toEqual([['mpu/big.bin', big], ['mpu/other', o1], ['mpu/other', o2]]);
    expect(m.listUploadsPages).toEqual([
      { KeyMarker: '', UploadIdMarker: '', IsTruncated: true, NextKeyMarker: 'mpu/big.bin', NextUploadIdMarker: big, Uploads: [['mpu/big.bin', big, 'SHA256']] },
      { KeyMarker: 'mpu/big.bin', UploadIdMarker: big, IsTruncated: true, NextKeyMarker: 'mpu/other', NextUploadIdMarker: o1, Uploads: [['mpu/other', o1, null]] },
      { KeyMarker: 'mpu/other', UploadIdMarker: o1, IsTruncated: false, NextKeyMarker: null, NextUploadIdMarker: null, Uploads: [['mpu/other', o2, null]] },
    ]);
  });

  it('Complete, then Complete again with the same parts: the same ETag and checksum, one object, one event', () => {
    const m = section(out, 'multipart');
    const answer = { Bucket: BUCKET, Key: 'mpu/big.bin', Location: `/${BUCKET}/mpu/big.bin`, ETag: `"${MULTIPART_ETAG}"`, ChecksumSHA256: COMPOSITE, status: 200 };
    expect(m.complete).toEqual(answer);
    expect(m.completeAgain).toEqual(answer);
    expect(m.listPartsAfter).toEqual({ code: 'NoSuchUpload', status: 404 });
    const events = created.filter((e) => e.key === 'mpu/big.bin');
    expect(events.map((e) => [e.eventName, e.eTag, e.size])).toEqual([['ObjectCreated:CompleteMultipartUpload', MULTIPART_ETAG, SIZE]]);
  });

  it('Head/Get with ChecksumMode=ENABLED: the composite checksum; GetObjectAttributes: ETag, Checksum, ObjectParts, ObjectSize', () => {
    const m = section(out, 'multipart');
    expect(m.head).toEqual({ ETag: `"${MULTIPART_ETAG}"`, ContentLength: SIZE, ChecksumSHA256: COMPOSITE });
    expect(m.headWithoutMode).toEqual({ ChecksumSHA256: null });
    expect(m.get).toEqual({ ETag: `"${MULTIPART_ETAG}"`, ContentLength: SIZE, ChecksumSHA256: COMPOSITE, bodySha256: createHash('sha256').update(Buffer.concat(PARTS)).digest('hex') });
    const parts = [1, 2, 3].map((n) => ({ PartNumber: n, Size: PARTS[n - 1].length, ChecksumSHA256: shas[n - 1] }));
    expect(m.attributes).toEqual({
      ETag: MULTIPART_ETAG,
      Checksum: { ChecksumSHA256: COMPOSITE.replace(/-3$/, '') },
      ObjectParts: { TotalPartsCount: 3, PartNumberMarker: 0, NextPartNumberMarker: 3, MaxParts: 1000, IsTruncated: false, Parts: parts },
      StorageClass: 'STANDARD',
      ObjectSize: SIZE,
    });
    expect(m.attributesPage).toEqual({ ObjectParts: { TotalPartsCount: 3, PartNumberMarker: 1, NextPartNumberMarker: 2, MaxParts: 1, IsTruncated: true, Parts: [parts[1]] } });
  });

  it('conditional PutObject: If-None-Match: * on an existing key and a wrong If-Match are 412; the right If-Match writes; racing writers, one winner', () => {
    const c = section(out, 'conditional');
    expect(c.first).toBe(`"${md5Hex('first')}"`);
    expect(c.ifNoneMatchExisting).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(c.ifMatchWrong).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(c.ifMatchRight).toBe(`"${md5Hex('second')}"`);
    expect(c.stored).toBe('second');
    expect(c.ifMatchMissing).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(c.ifNoneMatchNew).toBe(`"${md5Hex('new')}"`);
    expect(c.race).toHaveLength(8);
    for (const round of c.race as Array<{ results: Array<number | string>; stored: string }>) {
      const winner = round.results.indexOf(200);
      expect(round.results, JSON.stringify(round)).toEqual(winner === 0 ? [200, '412 PreconditionFailed'] : ['412 PreconditionFailed', 200]);
      expect(round.stored).toBe(`writer-${winner}`);
    }
  });

  it('ListObjectsV2: StartAfter is echoed, a continuation token pages, an empty one is 400 InvalidArgument', () => {
    const l = section(out, 'listing');
    expect(l.startAfter).toEqual({ StartAfter: 'list/a', Keys: ['list/b', 'list/c'], KeyCount: 2, IsTruncated: false });
    expect(l.firstPage).toEqual({ Keys: ['list/a'], IsTruncated: true, MaxKeys: 1 });
    expect(l.secondPage).toEqual({ Keys: ['list/b'], ContinuationTokenEchoed: true, IsTruncated: true });
    expect(l.emptyToken).toEqual({ code: 'InvalidArgument', status: 400 });
  });

  it('pre-signed GETs: a week works, a week and a second is 400 AuthorizationQueryParametersError, 0 seconds is expired (403)', () => {
    const p = section(out, 'presigned');
    const ok = { status: 200, body: 'pre-signed bytes', code: null };
    expect(p.good).toEqual(ok);
    expect(p.week).toEqual(ok);
    expect(p.expiresParam).toBe('604801');
    expect(p.weekAndASecond).toEqual({
      status: 400,
      code: 'AuthorizationQueryParametersError',
      message: 'X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds',
    });
    // boto3's CRT signer will not sign ExpiresIn=0; botocore's Python signer does, and the server refuses it.
    expect(p.sdkZero).toBe('AssertionError');
    expect(p.pythonSigner60).toEqual(ok);
    expect(p.zeroParam).toBe('0');
    expect(p.zero).toEqual({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
  });

  it('anonymous (UNSIGNED) requests: 403 AccessDenied for GET, PUT and list, and for a bare URL', () => {
    const a = section(out, 'anonymous');
    const denied = { code: 'AccessDenied', status: 403 };
    expect(a.get).toEqual(denied);
    expect(a.put).toEqual(denied);
    expect(a.list).toEqual(denied);
    expect(a.url).toEqual({ ...denied, message: 'Access Denied' });
  });

  it('the server logged every request, none of them an internal error (a client closing after a whole body is not one)', () => {
    expect(log.length).toBeGreaterThan(60);
    expect(log.filter((l) => / 5\d\d |internal error/.test(l))).toEqual([]);
  });
});
