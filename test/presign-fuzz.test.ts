// Fuzz the presign API over real HTTP: whatever the body, a 4xx with a JSON error (or a 200 with
// per-file answers), never a 500, and never a URL for a key the server did not pick.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

// A small seeded PRNG (mulberry32): failures replay exactly.
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 2 ** 40) * (r() < 0.3 ? -1 : 1) + (r() < 0.2 ? 0.5 : 0);
    case 3: return 'x'.repeat(Math.floor(r() * 2000));
    case 4: return '../'.repeat(Math.floor(r() * 5)) + 'name\u0000\u202e.jpg';
    case 5: return ['image/jpeg', 'image/png', 'text/html', 'image/svg+xml', ''][Math.floor(r() * 5)];
    case 6: return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (const k of ['name', 'size', 'contentType', 'sha256', 'key', 'bucket', '__proto__']) if (r() < 0.6) o[k] = randomValue(r, depth + 1);
      return o;
    }
  }
}

function randomBody(r: () => number): string | Buffer {
  const kind = Math.floor(r() * 8);
  if (kind === 0) return Buffer.from(Array.from({ length: Math.floor(r() * 4000) }, () => Math.floor(r() * 256)));
  if (kind === 1) return '['.repeat(5000 + Math.floor(r() * 50000)); // deep, unterminated nesting
  if (kind === 2) return JSON.stringify({ files: Array.from({ length: 1000 + Math.floor(r() * 5000) }, () => ({ name: 'a.jpg', size: 1, contentType: 'image/jpeg', sha256: 'A'.repeat(43) + '=' })) });
  if (kind === 3) return JSON.stringify({ files: [{ name: 'y'.repeat(600_000), size: 1, contentType: 'image/jpeg', sha256: 'A'.repeat(43) + '=' }] });
  if (kind === 4) return JSON.stringify({ files: Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomValue(r, 1)) });
  if (kind === 5) return JSON.stringify({ files: [{ name: '../../../etc/passwd.jpg', size: 10, contentType: 'image/jpeg', sha256: 'B'.repeat(43) + '=', key: 'evil/override.jpg', bucket: 'imgpipe-dest' }] });
  return JSON.stringify(randomValue(r));
}

describe('presign API under fuzzing (real HTTP)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
  });
  afterAll(async () => stack?.stop());

  it('answers 300 random bodies with JSON, 4xx or per-file answers, never a 500 or a client-chosen key', async () => {
    const r = rng(20261125);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const body = randomBody(r);
      const res = await fetch(`${stack.apiUrl}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `case ${i}: ${text.slice(0, 200)}`).toBeLessThan(500);
      const doc = JSON.parse(text);
      if (res.status >= 400 && !doc.uploads) expect(doc.error.code).toMatch(/^[A-Za-z]+$/);
      for (const u of doc.uploads ?? []) {
        if (!u.url) continue;
        expect(u.key).toMatch(/^uploads\/[a-z2-7]{52}\/[^/]+$/);
        const url = new URL(u.url);
        expect(decodeURIComponent(url.pathname)).toBe(`/${stack.sourceBucket}/${u.key}`);
      }
    }
    // The fuzzer reached both sides: refusals and some presigned answers.
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
  });

  it('refuses an API call without the configured key', async () => {
    const keyed = await startTestStack({ trigger: false, apiKey: 'k-123' });
    try {
      const body = JSON.stringify({ files: [{ name: 'a.jpg', size: 1, contentType: 'image/jpeg', sha256: 'A'.repeat(43) + '=' }] });
      const no = await fetch(`${keyed.apiUrl}/uploads`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect([no.status, (await no.json()).error.code]).toEqual([401, 'Unauthorized']);
      const yes = await fetch(`${keyed.apiUrl}/uploads`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': 'k-123' } });
      expect(yes.status).toBe(200);
    } finally {
      await keyed.stop();
    }
  });

  it('issues URLs that expire', async () => {
    const short = await startTestStack({ trigger: false, urlExpiresIn: 1 });
    try {
      const data = Buffer.from('not checked before expiry');
      const { createHash } = await import('node:crypto');
      const sha256 = createHash('sha256').update(data).digest('base64');
      const res = await fetch(`${short.apiUrl}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [{ name: 'a.png', size: data.length, contentType: 'image/png', sha256 }] }) });
      const [u] = (await res.json()).uploads;
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const put = await fetch(u.url, { method: 'PUT', headers: u.headers, body: data });
      expect(put.status).toBe(403);
      expect(await put.text()).toMatch(/expired/i);
      expect(await short.list(short.sourceBucket)).toEqual([]);
    } finally {
      await short.stop();
    }
  });
});
