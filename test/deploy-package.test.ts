// The deployment package: built for both architectures, deterministic, and — unzipped into a
// folder that cannot see this project's node_modules — a handler that resizes a real photo from
// a real-shaped S3 event against the embedded S3 server.
import { spawn } from 'node:child_process';
import { collect } from './helpers/cli.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureKey, outputKeys, recordKey } from '../src/core/keys.js';
import { parseSpec, widthVariants } from '../src/core/spec.js';
import { functionSettings } from '../src/deploy/function-config.js';
import { assertWithinLimits, LIMITS, needsS3Staging } from '../src/deploy/limits.js';
import { buildPackage, type LambdaPackage } from '../src/deploy/package.js';
import { projectRoot } from '../src/deploy/paths.js';
import { stagedFiles, stageSharp } from '../src/deploy/sharp-stage.js';
import { deterministicZip } from '../src/deploy/zip.js';
import { s3EventRecord } from '../src/core/s3-event.js';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { createS3Client } from '../src/s3/client.js';
import { extractZip, readZip, type ZipFileEntry } from './helpers/deploy-zip.js';
import { corpusFile, tempDir } from './helpers/images.js';

const SOURCE = 'imgpipe-source';
const DEST = 'imgpipe-dest';

/** Run `script` with Node in `cwd`, with exactly `env`; resolves with the exit code and output. */
function node(script: string, cwd: string, env: NodeJS.ProcessEnv, args: string[] = []) {
  return collect(spawn(process.execPath, [script, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** e_machine of a little-endian ELF file (both Lambda architectures are), or undefined when it is not one: read here, apart from the package's own check. */
const elfMachineOf = (data: Buffer): number | undefined =>
  data.length >= 20 && data.subarray(0, 4).toString('latin1') === '\x7fELF' && data[5] === 1 ? data.readUInt16LE(18) : undefined;

/** What a Lambda sandbox adds to the function's environment; nothing of this machine's. */
const sandboxEnv = (taskRoot: string, extra: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: '/usr/bin:/bin',
  HOME: taskRoot,
  LAMBDA_TASK_ROOT: taskRoot,
  AWS_REGION: 'us-east-1',
  // These run on this machine's Node 20; Lambda's runtimes are 22 and 24, where the SDK gives no
  // Node-version notice (test/lambda-node22.test.ts runs the zip on a real Node 22).
  ...(Number(process.versions.node.split('.')[0]) < 22 ? { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } : {}),
  ...extra,
});

// Writes its findings to a file: the handler logs JSON lines on stdout, as on Lambda.
const RUNNER = `
import { createRequire } from 'node:module';
import { readFile, writeFile } from 'node:fs/promises';
const [eventFile, resultFile] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const where = (id) => { try { return require.resolve(id); } catch { return null; } };
const probe = { sharp: where('sharp'), sdk: where('@aws-sdk/client-s3'), vitest: where('vitest'), zod: where('zod') };
const { handler } = await import('./index.mjs');
const result = await handler(JSON.parse(await readFile(eventFile, 'utf8')));
await writeFile(resultFile, JSON.stringify({ probe, result }));
`;

describe('deploy-lambda package', () => {
  let x64: LambdaPackage;
  let x64Again: LambdaPackage;
  let arm: LambdaPackage;
  let presign: LambdaPackage;
  let recorder: LambdaPackage;
  let x64Entries: ZipFileEntry[];
  let armEntries: ZipFileEntry[];

  beforeAll(async () => {
    [x64, arm, presign, recorder] = await Promise.all([
      buildPackage({ handler: 'resize', arch: 'x86_64', runtime: 'nodejs22.x' }),
      buildPackage({ handler: 'resize', arch: 'arm64', runtime: 'nodejs22.x' }),
      buildPackage({ handler: 'presign', arch: 'x86_64', runtime: 'nodejs22.x' }),
      buildPackage({ handler: 'failure-recorder', arch: 'x86_64', runtime: 'nodejs22.x' }),
    ]);
    x64Again = await buildPackage({ handler: 'resize', arch: 'x86_64', runtime: 'nodejs22.x' });
    [x64Entries, armEntries] = await Promise.all([readZip(x64.zip), readZip(arm.zip)]);
  }, 180_000);

  describe('the unzipped resize handler, in a fresh Node process', () => {
    let s3server: LocalS3;
    let dir: string;
    let dataDir: string;

    beforeAll(async () => {
      dataDir = await tempDir('imgpipe-deploy-s3-');
      s3server = await startLocalS3({ dataDir, port: 0, buckets: [SOURCE, DEST] });
      dir = await tempDir('imgpipe-lambda-task-');
      await extractZip(x64.zip, dir);
      await writeFile(path.join(dir, 'runner.mjs'), RUNNER);
    });
    afterAll(async () => {
      await s3server?.close();
      for (const d of [dir, dataDir]) if (d) await rm(d, { recursive: true, force: true });
    });

    it('resizes a photo from an S3 ObjectCreated event into every variant of the configured spec', async () => {
      expect(dir.startsWith(projectRoot())).toBe(false); // Node's lookup walks up: keep it away from ours
      const s3 = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, credentials: s3server.credentials });
      const key = 'uploads/2025/01/02/k3y/Holiday ünï (1)+x.jpg';
      const photo = readFileSync(corpusFile('mate-Garden.jpg'));
      const put = await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: photo, ContentType: 'image/jpeg' }));
      const record = s3EventRecord({ bucket: SOURCE, key, size: photo.length, eTag: put.ETag!.replace(/"/g, ''), eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, s3server.region);
      await writeFile(path.join(dir, 'event.json'), JSON.stringify({ Records: [record] }));

      // The environment deploy-lambda gives the function, plus what the Lambda sandbox adds.
      const spec = parseSpec({ variants: widthVariants([200, 640], 'webp', 70) });
      const { variables } = functionSettings({ handler: 'resize', runtime: 'nodejs22.x', arch: 'x86_64', destBucket: DEST, sourceBucket: SOURCE, spec });
      const env = sandboxEnv(dir, {
        ...variables,
        // The SDK's own endpoint setting: the handler's code is exactly what runs on AWS.
        AWS_ENDPOINT_URL_S3: s3server.endpoint,
        AWS_ACCESS_KEY_ID: s3server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3server.credentials.secretAccessKey,
      });
      const run = await node('runner.mjs', dir, env, ['event.json', 'result.json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const { probe, result } = JSON.parse(await readFile(path.join(dir, 'result.json'), 'utf8'));
      // sharp comes from the zip; the SDK and zod are inside index.mjs; the project is out of sight.
      expect(probe.sharp.startsWith(path.join(dir, 'node_modules', 'sharp'))).toBe(true);
      expect([probe.sdk, probe.vitest, probe.zod]).toEqual([null, null, null]);
      expect(result.outcomes).toEqual([expect.objectContaining({ key, status: 'ok' })]);
      expect(run.stdout).toContain('"msg":"resized"');

      const listed = await s3.send(new ListObjectsV2Command({ Bucket: DEST }));
      const expected = outputKeys(key, spec).map((o) => o.key);
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([...expected, recordKey(key)].sort());
      const large = await s3.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: DEST, Key: expected[1] }));
      const meta = await sharp(Buffer.from(await large.Body!.transformToByteArray())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 640, 400]);
      s3.destroy();
    });

    it('the presign handler answers POST /uploads from its own zip, which carries no node_modules', async () => {
      const pdir = await tempDir('imgpipe-lambda-presign-');
      try {
        const entries = await extractZip(presign.zip, pdir);
        expect(entries.map((e) => e.name)).toEqual(['index.mjs']);
        expect(presign.sharp).toBeNull();
        await writeFile(path.join(pdir, 'runner.mjs'), RUNNER);
        const sha256 = createHash('sha256').update('x').digest('base64');
        const event = { version: '2.0', rawPath: '/uploads', requestContext: { http: { method: 'POST', path: '/uploads' } }, headers: {}, body: JSON.stringify({ files: [{ name: 'a.jpg', size: 1, contentType: 'image/jpeg', sha256 }] }) };
        await writeFile(path.join(pdir, 'event.json'), JSON.stringify(event));
        const { variables } = functionSettings({ handler: 'presign', runtime: 'nodejs22.x', arch: 'x86_64', sourceBucket: SOURCE });
        const env = sandboxEnv(pdir, { ...variables, AWS_ENDPOINT_URL_S3: s3server.endpoint, AWS_ACCESS_KEY_ID: s3server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3server.credentials.secretAccessKey });
        const run = await node('runner.mjs', pdir, env, ['event.json', 'result.json']);
        expect(run.stderr).toBe('');
        const { result } = JSON.parse(await readFile(path.join(pdir, 'result.json'), 'utf8'));
        expect(result.statusCode).toBe(200);
        const [upload] = JSON.parse(result.body).uploads;
        expect(upload.url.startsWith(`${s3server.endpoint}/${SOURCE}/uploads/`)).toBe(true);
      } finally {
        await rm(pdir, { recursive: true, force: true });
      }
    });

    it("the failure recorder's zip is one small file without sharp, and turns a dead letter into a failure record", async () => {
      const rdir = await tempDir('imgpipe-lambda-recorder-');
      try {
        const entries = await extractZip(recorder.zip, rdir);
        expect(entries.map((e) => e.name)).toEqual(['index.mjs']);
        expect(recorder.sharp).toBeNull();
        await writeFile(path.join(rdir, 'runner.mjs'), RUNNER);
        const key = 'uploads/2025/01/02/d3ad/never answered.jpg';
        const s3Event = { Records: [s3EventRecord({ seq: 1, bucket: SOURCE, key, size: 10, eTag: 'e', eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, s3server.region)] };
        const event = { Records: [{ eventSource: 'aws:sqs', messageId: 'm-1', body: JSON.stringify(s3Event), attributes: { ApproximateReceiveCount: '4' } }] };
        await writeFile(path.join(rdir, 'event.json'), JSON.stringify(event));
        // The template's environment for it (infra/template.yaml FailureRecorderFunction).
        const env = sandboxEnv(rdir, { DEST_BUCKET: DEST, IMGPIPE_SPEC: '', MAX_RECEIVE_COUNT: '3', AWS_ENDPOINT_URL_S3: s3server.endpoint, AWS_ACCESS_KEY_ID: s3server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3server.credentials.secretAccessKey });
        const run = await node('runner.mjs', rdir, env, ['event.json', 'result.json']);
        expect(run.stderr).toBe('');
        const { probe, result } = JSON.parse(await readFile(path.join(rdir, 'result.json'), 'utf8'));
        expect(probe.sharp).toBeNull();
        expect(result).toEqual({ outcomes: [{ key, status: 'recorded', code: 'crashed', attempts: 3 }], batchItemFailures: [] });
        const s3 = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, credentials: s3server.credentials });
        const got = await s3.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: DEST, Key: failureKey(key) }));
        expect(JSON.parse(await got.Body!.transformToString())).toMatchObject({ status: 'failed', code: 'crashed', attempts: 3 });
        s3.destroy();
      } finally {
        await rm(rdir, { recursive: true, force: true });
      }
    });
  });

  it('each architecture carries its own sharp binaries and no other', () => {
    for (const [pkg, entries, cpu, machine] of [
      [x64, x64Entries, 'x64', 62],
      [arm, armEntries, 'arm64', 183],
    ] as const) {
      const names = entries.map((e) => e.name);
      const img = [...new Set(names.filter((n) => n.startsWith('node_modules/@img/')).map((n) => n.split('/').slice(1, 3).join('/')))].sort();
      expect(img).toEqual(['@img/colour', `@img/sharp-libvips-linux-${cpu}`, `@img/sharp-linux-${cpu}`]);
      const binaries = entries.filter((e) => elfMachineOf(e.data) !== undefined);
      expect(binaries.map((b) => b.name).sort()).toEqual([
        expect.stringMatching(new RegExp(`^node_modules/@img/sharp-libvips-linux-${cpu}/lib/libvips-cpp\\.so\\.`)),
        `node_modules/@img/sharp-linux-${cpu}/lib/sharp-linux-${cpu}-${pkg.sharp!.version}.node`,
      ]);
      expect(binaries.map((b) => elfMachineOf(b.data))).toEqual([machine, machine]);
      expect(pkg.sharp!.packages).toContain(`sharp@${pkg.sharp!.version}`);
      expect(names[0]).toBe('index.mjs');
    }
    // The version is the project's own, from package-lock.json.
    const lock = JSON.parse(readFileSync(path.join(projectRoot(), 'package-lock.json'), 'utf8'));
    expect(x64.sharp!.version).toBe(lock.packages['node_modules/sharp'].version);
    // sharp's dependencies too: what the zip carries is what package-lock.json pins.
    expect(x64.sharp!.packages).toContain(`detect-libc@${lock.packages['node_modules/detect-libc'].version}`);
  });

  it("asks npm for sharp and each of its dependencies at package-lock.json's versions, for the target's CPU", async () => {
    const lock = JSON.parse(readFileSync(path.join(projectRoot(), 'package-lock.json'), 'utf8'));
    const cacheDir = await tempDir('imgpipe-stage-cache-');
    try {
      // `false` as npm: the install fails at once, and its message is the command it was given.
      const failed = await stageSharp('arm64', { cacheDir, npm: 'false' }).then(() => '', (err: Error) => err.message);
      const args = /^false (.*) failed \(exit 1\)/.exec(failed)?.[1].split(' ') ?? [failed];
      const deps = Object.keys(lock.packages['node_modules/sharp'].dependencies).sort();
      expect(deps).toContain('detect-libc');
      const pinned = ['sharp', ...deps].map((d) => `${d}@${lock.packages[`node_modules/${d}`].version}`);
      expect(args.slice(-pinned.length)).toEqual(pinned);
      expect(args).toContain('--cpu=arm64');
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('two builds of the same source give the same bytes and SHA-256; the report matches the zip', async () => {
    expect(x64Again.sha256).toBe(x64.sha256);
    expect(x64Again.zip.equals(x64.zip)).toBe(true);
    expect(arm.sha256).not.toBe(x64.sha256);
    for (const [pkg, entries] of [
      [x64, x64Entries],
      [arm, armEntries],
    ] as const) {
      expect(pkg.sha256).toBe(createHash('sha256').update(pkg.zip).digest('hex'));
      expect(pkg.codeSha256).toBe(createHash('sha256').update(pkg.zip).digest('base64'));
      expect(pkg.bytes).toBe(pkg.zip.length);
      expect(pkg.unzippedBytes).toBe(entries.reduce((n, e) => n + e.data.length, 0));
      expect(pkg.entries).toBe(entries.length);
      const names = entries.map((e) => e.name);
      expect(names).toEqual([...names].sort());
      expect(new Set(entries.map((e) => `${e.mode.toString(8)} ${e.dosDate} ${e.dosTime} ${e.extraFieldLength}`))).toEqual(new Set(['100644 33 0 0']));
      expect(pkg.needsS3Staging).toBe(false);
      expect(pkg.bytes).toBeLessThan(12 * 1024 * 1024);
    }
  });

  it('keeps only what runs: no types, docs, C++ sources or install scripts; licences stay', async () => {
    const names = x64Entries.map((e) => e.name);
    expect(names.filter((n) => /\.d\.[cm]?ts$|\/README[^/]*$|^node_modules\/sharp\/(src|install)\/|\/include\/|\.bin\//i.test(n))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['node_modules/sharp/LICENSE', 'node_modules/sharp/package.json', 'node_modules/sharp/dist/index.mjs', 'node_modules/@img/sharp-libvips-linux-x64/package.json']));
    // The same walk over a planted tree: the arm64 headers and npm's .bin links too.
    const planted = await tempDir('imgpipe-staged-');
    try {
      const files = ['sharp/dist/index.mjs', 'sharp/lib/index.d.ts', 'sharp/LICENSE', 'semver/bin/semver.js', 'semver/index.js', '@img/sharp-libvips-linux-arm64/lib/glib-2.0/include/glibconfig.h', '@img/sharp-libvips-linux-arm64/lib/libvips-cpp.so.42', '.bin/semver'];
      for (const f of files) {
        await mkdir(path.dirname(path.join(planted, f)), { recursive: true });
        await writeFile(path.join(planted, f), 'x');
      }
      expect((await stagedFiles(planted)).map((f) => f.name).sort()).toEqual(
        ['@img/sharp-libvips-linux-arm64/lib/libvips-cpp.so.42', 'semver/index.js', 'sharp/LICENSE', 'sharp/dist/index.mjs'].map((f) => `node_modules/${f}`),
      );
    } finally {
      await rm(planted, { recursive: true, force: true });
    }
  });

  // npm installs sharp's arm64 packages into an empty cache: tens of seconds on a loaded machine;
  // only a hang takes 5 minutes (vitest's 60 s default is not one).
  it('stages sharp with npm into an empty cache once, even with two builds at the same time', async () => {
    const cacheDir = await tempDir('imgpipe-deploy-cache-');
    try {
      const [a, b] = await Promise.all([stageSharp('arm64', { cacheDir }), stageSharp('arm64', { cacheDir })]);
      expect(a.nodeModules).toBe(b.nodeModules);
      expect([a.installed, b.installed]).toEqual([true, true]);
      const again = await stageSharp('arm64', { cacheDir });
      expect(again).toMatchObject({ installed: false, nodeModules: a.nodeModules, packages: a.packages });
      expect(a.packages).toEqual(arm.sharp!.packages);
      // Only the finished install is left: no half-written staging folders.
      expect((await readdir(cacheDir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }, 300_000);

  it('the zip does not depend on the time zone of the machine that builds it', async () => {
    const before = process.env.TZ;
    try {
      const entries = [{ name: 'b.txt', data: Buffer.from('b') }, { name: 'a/x.txt', data: Buffer.from('a') }];
      process.env.TZ = 'UTC';
      const utc = await deterministicZip(entries);
      process.env.TZ = 'Pacific/Kiritimati';
      const kiritimati = await deterministicZip([...entries].reverse());
      expect(kiritimati.sha256).toBe(utc.sha256);
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
    await expect(deterministicZip([{ name: '../evil', data: Buffer.alloc(1) }])).rejects.toThrow(/unsafe/);
  });

  it('refuses a package over Lambda\'s unzipped limit and flags one over the direct-upload limit', async () => {
    expect(() => assertWithinLimits(LIMITS.unzippedBytes + 1)).toThrow(expect.objectContaining({ code: 'PackageTooLarge', message: expect.stringMatching(/unzipped, over Lambda's/) }));
    expect(() => assertWithinLimits(LIMITS.unzippedBytes)).not.toThrow();
    expect(needsS3Staging(LIMITS.directUploadBytes)).toBe(false);
    expect(needsS3Staging(LIMITS.directUploadBytes + 1)).toBe(true);
    await expect(buildPackage({ handler: 'presign', arch: 'arm64', runtime: 'nodejs22.x', unzippedLimit: 1000 })).rejects.toThrow(/unzipped, over Lambda's/);
  });
});
