// The local API answers only requests that name it in `Host` (a DNS-rebinding page sends its own
// name) and takes POST bodies only as application/json (a cross-origin page can send text/plain
// without a preflight). Real HTTP against a real local stack; `Host` forged with http.request.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestUploads } from '../src/api/client.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** One request to `url`'s server with exactly these headers (Host among them, as given). */
function send(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, setHost: !(opts.headers && 'host' in opts.headers) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('the local API port', () => {
  let stack: TestStack;
  let port: string;
  let photo: { name: string; size: number; contentType: string; sha256: string };

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    port = new URL(stack.apiUrl).port;
    const bytes = await readFile(img.corpusFile('mate-Aqua.jpg'));
    photo = { name: 'a.jpg', size: bytes.length, contentType: 'image/jpeg', sha256: createHash('sha256').update(bytes).digest('base64') };
  });
  afterAll(async () => stack?.stop());

  const uploadsBody = () => JSON.stringify({ files: [photo] });

  it('refuses every route to a Host that does not name it: 403 with a JSON error, nothing of the route', async () => {
    const forged = ['evil.example:' + port, 'evil.example', `127.0.0.1:${Number(port) + 1}`, `localhost`, `127.0.0.2:${port}`, ''];
    const routes = [
      { path: '/' },
      { path: '/spec' },
      { path: '/health?challenge=abcdefghijklmnopqrstuvwxyz' },
      { method: 'POST', path: '/uploads', body: uploadsBody() },
      { method: 'POST', path: '/variants', body: '{"keys":[]}' },
    ];
    for (const host of forged) {
      for (const r of routes) {
        const a = await send(stack.apiUrl, { ...r, headers: { host, 'content-type': 'application/json' } });
        expect({ host, path: r.path, status: a.status, type: a.type }).toEqual({ host, path: r.path, status: 403, type: 'application/json' });
        expect(JSON.parse(a.body)).toEqual({ error: { code: 'ForbiddenHost', message: `Host "${host}" is not this server's address; requests must name it (a guard against DNS rebinding)` } });
      }
    }
  });

  it('answers the names of loopback with its own port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const spec = await send(stack.apiUrl, { path: '/spec', headers: { host } });
      expect({ host, status: spec.status }).toEqual({ host, status: 200 });
      expect(JSON.parse(spec.body)).toHaveProperty('specHash');
    }
  });

  it('takes a POST body only as application/json: 415 otherwise, with the type it got', async () => {
    const host = `127.0.0.1:${port}`;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', undefined]) {
      const a = await send(stack.apiUrl, { method: 'POST', path: '/uploads', headers: { host, ...(type ? { 'content-type': type } : {}) }, body: uploadsBody() });
      const seen = type?.split(';')[0];
      expect({ type, status: a.status }).toEqual({ type, status: 415 });
      expect(JSON.parse(a.body)).toEqual({ error: { code: 'UnsupportedMediaType', message: `a POST body must be sent as content-type: application/json${seen ? `, not ${seen}` : ''}` } });
    }
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8']) {
      const a = await send(stack.apiUrl, { method: 'POST', path: '/uploads', headers: { host, 'content-type': type }, body: uploadsBody() });
      expect({ type, status: a.status }).toEqual({ type, status: 200 });
      expect(JSON.parse(a.body).uploads[0]).toMatchObject({ name: 'a.jpg', method: 'PUT' });
    }
  });

  it("the CLI's own presign client still gets its URLs", async () => {
    const [answer] = await requestUploads([photo], { api: stack.apiUrl });
    expect(answer).toMatchObject({ name: 'a.jpg', method: 'PUT' });
  });
});
