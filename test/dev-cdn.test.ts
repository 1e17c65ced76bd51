// The local CDN of `imgpipe dev`, as a browser or a web site reaches it: no credentials, the
// destination bucket's variants at `<cdn>/<variant key>` (the deployed CloudFront URL's shape),
// nothing else. One photo uploaded with `upload --local --wait`; the bytes served are compared with
// the object read through the S3 API (another path to them), and `watch --json`, `--download`'s
// index.json and `--html` name the same URLs. Where no CDN is known (a deployed pipeline whose
// imgpipe.config.json has no `cdn`), no `url` at all; with one, the config's base.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputKeys, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import type { WatchResult } from '../src/jobs/watch.js';
import { CLEAN_ENV } from './helpers/aws-env.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';

type Variants = Array<{ name: string; key: string; url?: string }>;
const variantsOf = (doc: WatchResult): Variants => (doc.records[0] as { variants: Variants }).variants;
/** The URL as a browser writes it: each segment of the key percent-encoded. */
const enc = (key: string) => key.split('/').map(encodeURIComponent).join('/');
const urlOf = (base: string, key: string) => `${base}/${enc(key)}`;

/** One request with the path exactly as given (fetch would resolve `..` before sending it). */
function raw(base: string, method: string, rawPath: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the local CDN of imgpipe dev', () => {
  let cwd: string;
  let dev: DevProcess;
  let key: string;
  let cdn: string;
  const variantKeys = () => outputKeys(key, DEFAULT_SPEC).map((o) => o.key);

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-dev-cdn-');
    await mkdir(path.join(cwd, 'photos'));
    // A space in the name: the URL must encode it, the CDN decode it.
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'photos', 'mate Aqua.jpg'));
    dev = await startDev(cwd);
    const up = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    [key] = (JSON.parse(up.stdout) as { keys: string[] }).keys;
    cdn = dev.state.cdnUrl!;
  }, 180_000);
  afterAll(async () => dev?.stop());

  it("the API's read side (POST /variants, what the upload page shows) answers the CDN's URLs: they fetch without credentials and do not expire", async () => {
    const res = await fetch(`${dev.state.apiUrl}/variants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [key] }) });
    expect(res.status).toBe(200);
    const [answer] = ((await res.json()) as { variants: Array<{ status: string; expiresAt?: string; variants: Array<{ name: string; url: string }> }> }).variants;
    expect(answer.status).toBe('done');
    expect(answer).not.toHaveProperty('expiresAt');
    expect(answer.variants.map((v) => v.url)).toEqual(variantKeys().map((k) => urlOf(cdn, k)));
    for (const [i, v] of answer.variants.entries()) {
      const got = await fetch(v.url);
      expect([v.name, got.status, got.headers.get('content-type')]).toEqual([outputKeys(key, DEFAULT_SPEC)[i].variant, 200, 'image/jpeg']);
      expect(Buffer.from(await got.arrayBuffer()).equals(await dev.get(dev.state.destBucket, variantKeys()[i]))).toBe(true);
    }
  });

  it('is in the state file and the ready line, on loopback', () => {
    expect(cdn).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(cdn).port).not.toBe(new URL(dev.state.apiUrl).port);
    expect(dev.output().stdout).toContain(`"cdn":"${cdn}"`);
  });

  it('serves every variant without credentials: the bucket\'s bytes, its content type and cache control, an ETag, 304 on If-None-Match', async () => {
    expect(variantKeys()).toHaveLength(3);
    for (const k of variantKeys()) {
      const res = await fetch(urlOf(cdn, k));
      expect(res.status, k).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(await dev.get(dev.state.destBucket, k))).toBe(true);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const etag = res.headers.get('etag');
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      const again = await fetch(urlOf(cdn, k), { headers: { 'if-none-match': etag! } });
      expect([again.status, (await again.arrayBuffer()).byteLength]).toEqual([304, 0]);
      const head = await fetch(urlOf(cdn, k), { method: 'HEAD' });
      expect([head.status, head.headers.get('content-length'), head.headers.get('etag')]).toEqual([200, String((await dev.get(dev.state.destBucket, k)).length), etag]);
    }
  });

  it('refuses a record, a source object, any write and hostile paths, and keeps serving', async () => {
    const [variant] = variantKeys();
    const before = await dev.list(dev.state.destBucket);
    expect(before).toContain(recordKey(key)); // the record is there: refused, not missing
    expect((await dev.list(dev.state.sourceBucket))).toEqual([key]);
    const refusals: Array<[string, string, number]> = [
      ['GET', `/${enc(recordKey(key))}`, 403],
      ['GET', `/%5Fimgpipe/done/${enc(key)}.json`, 403],
      ['GET', `/${enc(key)}`, 403], // the source's key: not in this bucket
      ['GET', `/${dev.state.sourceBucket}/${enc(key)}`, 403],
      ['PUT', `/${enc(variant)}`, 403],
      ['DELETE', `/${enc(variant)}`, 403],
      ['POST', `/${enc(variant)}`, 403],
      ['PUT', '/320/new.jpg', 403],
      ['GET', `/320/../${enc(recordKey(key))}`, 400],
      ['GET', `/${variant.split('/')[0]}/%2e%2e/%2e%2e/${enc(recordKey(key))}`, 400],
      ['GET', '/../../etc/passwd', 400],
      ['GET', '//etc/passwd', 400],
      ['GET', '/320/a%00b.jpg', 400],
      ['GET', '/320/a%2F..%2Fb.jpg', 400],
      ['GET', '/320/%E0%A4%A', 400],
      ['GET', '/', 400],
    ];
    for (const [method, p, status] of refusals) {
      const r = await raw(cdn, method, p);
      expect([method, p, r.status]).toEqual([method, p, status]);
      expect(r.body).not.toContain('"status":"done"');
    }
    expect(await dev.list(dev.state.destBucket)).toEqual(before);
    expect(dev.child.exitCode).toBeNull();
    expect((await fetch(urlOf(cdn, variant))).status).toBe(200);
  });

  it('watch --json, --download index.json and --html name each variant by the same URL, and it fetches', async () => {
    const dir = path.join(cwd, 'resized');
    const r = await runCli(['watch', '--local', '--json', '--download', dir, '--html', path.join(cwd, 'batch.html')], { cwd, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const variants = variantsOf(JSON.parse(r.stdout) as WatchResult);
    expect(variants.map((v) => v.url)).toEqual(variants.map((v) => urlOf(cdn, v.key)));
    expect(variants.map((v) => v.key).sort()).toEqual([...variantKeys()].sort());
    for (const v of variants) {
      const res = await fetch(v.url!);
      expect(Buffer.from(await res.arrayBuffer()).equals(await dev.get(dev.state.destBucket, v.key))).toBe(true);
    }
    const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { files: Array<{ variants: Variants }> };
    expect(index.files[0].variants.map((v) => v.url)).toEqual(variants.map((v) => v.url));
    const html = await readFile(path.join(cwd, 'batch.html'), 'utf8');
    // The page's <picture> snippet (escaped, as the page shows it) points at the CDN.
    expect(html).toContain(`&#60;img src=&#34;${urlOf(cdn, variants.find((v) => v.name === '320')!.key)}&#34;`);
  }, 90_000);

  it('through the deployed-pipeline path (--endpoint, keys from the environment): the config\'s `cdn` as the base; no `cdn`, no url', async () => {
    const env = { ...CLEAN_ENV, AWS_ACCESS_KEY_ID: dev.state.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: dev.state.credentials.secretAccessKey };
    const args = ['watch', key, '--dest-bucket', dev.state.destBucket, '--endpoint', dev.state.s3Endpoint, '--region', dev.state.region, '--json'];
    const none = await img.tempDir('imgpipe-no-cdn-');
    const plain = await runCli(args, { cwd: none, env, timeoutMs: 60_000 });
    expect(plain.code, plain.stderr).toBe(0);
    const without = variantsOf(JSON.parse(plain.stdout) as WatchResult);
    expect(without).toHaveLength(3);
    for (const v of without) expect(v).not.toHaveProperty('url');

    const withCdn = await img.tempDir('imgpipe-cdn-config-');
    await writeFile(path.join(withCdn, 'imgpipe.config.json'), JSON.stringify({ cdn: 'https://d111111abcdef8.cloudfront.net' }));
    const deployed = await runCli(args, { cwd: withCdn, env, timeoutMs: 60_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    const variants = variantsOf(JSON.parse(deployed.stdout) as WatchResult);
    expect(variants.map((v) => v.url)).toEqual(variants.map((v) => urlOf('https://d111111abcdef8.cloudfront.net', v.key)));
  }, 90_000);
});
