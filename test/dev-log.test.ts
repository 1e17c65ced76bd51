// `imgpipe dev` prints each resize's key for a person: a key is anyone's bytes, so one that
// carries terminal escapes (set the title, clear the screen) is shown escaped, never obeyed.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRunningStack, STATE_FILE } from '../src/local/state.js';
import { createS3Client } from '../src/s3/client.js';
import { devLogLine } from '../src/ui/dev-log.js';
import { BIN, cliEnv } from './helpers/cli.js';
import * as img from './helpers/images.js';

const HOSTILE = 'direct/\x1b]0;pwned\x07\x1b[2Jphoto.jpg';

describe("dev's resize lines", () => {
  it('escape control characters in keys and errors', () => {
    expect(devLogLine({ level: 'info', msg: 'resized', key: HOSTILE, outputs: [1, 2, 3], ms: 12 })).toEqual({ stream: 'stdout', text: 'resized direct/\\x1b]0;pwned\\x07\\x1b[2Jphoto.jpg → 3 variants (12 ms)\n' });
    expect(devLogLine({ level: 'error', key: HOSTILE, error: 'bad\x1b[31m' }).text).toBe('resize failed: direct/\\x1b]0;pwned\\x07\\x1b[2Jphoto.jpg: bad\\x1b[31m\n');
  });

  it('a real dev, a photo PUT under a hostile key: its output holds no escape', async () => {
    const cwd = await img.tempDir('imgpipe-devlog-');
    const child = spawn(process.execPath, [BIN, 'dev', '--s3-port', '0', '--api-port', '0', '--cdn-port', '0'], { cwd, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const until = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const t = setInterval(() => re.test(out) && (clearInterval(t), resolve()), 20);
        child.once('exit', (code) => (clearInterval(t), reject(new Error(`dev exited ${code}: ${out}`))));
      });
    try {
      await until(/imgpipe dev: ready/);
      const state = (await findRunningStack(path.join(cwd, STATE_FILE)))!;
      const s3 = createS3Client({ endpoint: state.s3Endpoint, region: state.region, credentials: state.credentials });
      const { readFile } = await import('node:fs/promises');
      await s3.send(new PutObjectCommand({ Bucket: state.sourceBucket, Key: HOSTILE, Body: await readFile(img.corpusFile('plasma-Grey.jpg')) }));
      await until(/resized direct\//);
      expect(out).toContain('resized direct/\\x1b]0;pwned\\x07\\x1b[2Jphoto.jpg → 3 variants');
      expect(out).not.toContain('\x1b]0;');
      expect(out).not.toContain('\x1b[2J');
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
  }, 60_000);
});
