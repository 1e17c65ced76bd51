#!/usr/bin/env node
// bench/web-page.mjs — the upload page in headless Chromium against a fresh `imgpipe dev`: the
// time from handing it the photos to the last thumbnail, and screenshots mid-upload and done at
// desktop and phone width (written to OUT, default ./web-shots; look at them).
// usage: node bench/web-page.mjs [PHOTO_DIR]   (default ../shared/corpus, else test/fixtures/corpus)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = process.argv[2] ?? [path.join(ROOT, '../shared/corpus'), path.join(ROOT, 'test/fixtures/corpus')].find((d) => fs.existsSync(d));
const photos = fs.readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).map((f) => path.join(dir, f));
const out = path.resolve(process.env.OUT ?? 'web-shots');
fs.mkdirSync(out, { recursive: true });
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-web-bench-'));

const dev = spawn(process.execPath, [path.join(ROOT, 'bin/imgpipe.js'), 'dev', '--s3-port', '0', '--api-port', '0', '--json'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
const page = await new Promise((resolve, reject) => {
  let text = '';
  dev.stdout.on('data', (d) => {
    text += d;
    const ready = text.split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((l) => l.msg === 'ready');
    if (ready) resolve(ready.page);
  });
  dev.on('exit', (code) => reject(new Error(`imgpipe dev exited (${code})`)));
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await tab.goto(page);
  const started = performance.now();
  await tab.setInputFiles('#files', photos);
  await tab.waitForFunction(() => document.querySelectorAll('.row.done').length >= 3, null, { timeout: 300_000 });
  await tab.screenshot({ path: path.join(out, 'mid-desktop.png'), fullPage: true });
  await tab.waitForFunction((n) => document.querySelectorAll('.row.done, .row.failed, .row.refused').length === n, photos.length, { timeout: 600_000 });
  await tab.waitForFunction(() => [...document.querySelectorAll('.row.done img')].every((i) => i.complete && i.naturalWidth > 0));
  const seconds = (performance.now() - started) / 1000;
  await tab.screenshot({ path: path.join(out, 'done-desktop.png'), fullPage: true });
  await tab.setViewportSize({ width: 390, height: 844 });
  await tab.screenshot({ path: path.join(out, 'done-phone.png'), fullPage: true });
  const done = await tab.$$eval('.row.done', (els) => els.length);
  const bytes = photos.reduce((n, p) => n + fs.statSync(p).size, 0);
  console.log(`web page: ${photos.length} photos (${(bytes / 1e6).toFixed(1)} MB) → ${done} thumbnails in ${seconds.toFixed(1)} s; screenshots in ${out}`);
} finally {
  await browser.close();
  dev.kill('SIGINT');
  fs.rmSync(cwd, { recursive: true, force: true });
}
