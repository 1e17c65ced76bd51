// `.imgpipe/last-upload.json` lists the absolute local path of every file of the run: it is
// written mode 0600 (the user's alone), also over an older manifest that was 0644.
import { copyFile, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MANIFEST } from '../src/files/manifest.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

describe('the manifest of the last upload', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
  });
  afterAll(async () => stack?.stop());

  const folder = async () => {
    const cwd = await img.tempDir('imgpipe-manifest-mode-');
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'a.jpg'));
    await stack.adopt(cwd);
    return cwd;
  };
  const mode = async (file: string) => (await stat(file)).mode & 0o777;

  it('is written 0600, and holds the absolute path of the file it uploaded', async () => {
    const cwd = await folder();
    const r = await runCli(['upload', 'a.jpg', '--local', '--json'], { cwd });
    expect(r.code).toBe(0);
    const file = path.join(cwd, DEFAULT_MANIFEST);
    expect(await mode(file)).toBe(0o600);
    expect(await readFile(file, 'utf8')).toContain(JSON.stringify(path.join(cwd, 'a.jpg')));
  });

  it('replaces a 0644 manifest of an earlier version with a 0600 one', async () => {
    const cwd = await folder();
    const file = path.join(cwd, DEFAULT_MANIFEST);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '{"files":[]}\n', { mode: 0o644 });
    expect(await mode(file)).toBe(0o644);
    const r = await runCli(['upload', 'a.jpg', '--local', '--json'], { cwd });
    expect(r.code).toBe(0);
    expect(await mode(file)).toBe(0o600);
  });
});
