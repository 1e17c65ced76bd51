// A big file's part hashes are made on a thread of their own (files/part-hash-thread.ts) while the
// check hashes the whole file here: the same hashes as this thread makes, one thread for the run
// that does not keep the process alive, and a file that is not the size it was a clear refusal.
// The built module: its worker is a built file beside it (from the TypeScript sources it makes none).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/images.js';

const ROOT = path.join(import.meta.dirname, '..');
const THREAD = path.join(ROOT, 'dist/src/files/part-hash-thread.js');
const HERE = path.join(ROOT, 'dist/src/files/part-hashes.js');
const MIB = 1024 * 1024;

describe('part hashes on a thread of their own', () => {
  let dir: string;
  const threads: Worker[] = []; // started by the first test
  const file = (n: string) => path.join(dir, n);
  beforeAll(async () => {
    dir = await tempDir('imgpipe-part-hash-thread-');
    await writeFile(file('a.bin'), randomBytes(20 * MIB + 3));
    await writeFile(file('b.bin'), randomBytes(41 * MIB));
    await writeFile(file('small.bin'), randomBytes(MIB));
  });

  it('the same hashes as this thread makes, two files on one thread; a wrong size refused; none for a small file', async () => {
    const { hashPartsAside } = await import(THREAD);
    const { hashParts } = await import(HERE);
    // Threads started, and the answers they gave (a thread that fails leaves its jobs to this one).
    let answers = 0;
    const counted = (worker: Worker) => {
      threads.push(worker);
      worker.on('message', () => answers++);
    };
    process.on('worker', counted);
    try {
      const [a, b] = await Promise.all([hashPartsAside(file('a.bin'), 20 * MIB + 3), hashPartsAside(file('b.bin'), 41 * MIB)]);
      expect(a).toEqual(await hashParts(file('a.bin'), 20 * MIB + 3));
      expect(b).toEqual(await hashParts(file('b.bin'), 41 * MIB));
      expect([a.length, b.length]).toEqual([3, 6]);
      await expect(hashPartsAside(file('b.bin'), 41 * MIB + 1)).rejects.toThrow('file changed while it was being read');
      expect(await hashPartsAside(file('small.bin'), MIB)).toBeUndefined();
      // A name that is not UTF-8 travels as its bytes (FoundFile.fsPath).
      const odd = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x73, 0xff, 0x2e, 0x62])]);
      await copyFile(file('a.bin'), odd);
      expect(await hashPartsAside(odd, 20 * MIB + 3)).toEqual(a);
      expect([threads.length, answers]).toEqual([1, 4]);
    } finally {
      process.off('worker', counted);
    }
  });

  it('a thread that ends mid-job leaves its job to this thread, and the next job gets a thread of its own', async () => {
    const { hashPartsAside } = await import(THREAD);
    const { hashParts } = await import(HERE);
    const made: Worker[] = [];
    const track = (worker: Worker) => made.push(worker);
    process.on('worker', track);
    try {
      const first = hashPartsAside(file('a.bin'), 20 * MIB + 3); // on the thread the test above started
      await threads[0].terminate();
      expect(await first).toEqual(await hashParts(file('a.bin'), 20 * MIB + 3));
      expect(made).toHaveLength(0);
      expect(await hashPartsAside(file('b.bin'), 41 * MIB)).toEqual(await hashParts(file('b.bin'), 41 * MIB));
      expect(made).toHaveLength(1);
    } finally {
      process.off('worker', track);
    }
  });

  it('a process that has its hashes exits by itself: the idle thread holds nothing open', () => {
    // A file, not `-e`: a thread inherits the process's node options, and --input-type fails it.
    const script = file('child.mjs');
    writeFileSync(
      script,
      `let answers = 0; process.on('worker', (w) => w.on('message', () => answers++));
       const { hashPartsAside } = await import(${JSON.stringify(THREAD)});
       console.log((await hashPartsAside(${JSON.stringify(file('a.bin'))}, ${20 * MIB + 3})).length, answers);`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect([r.status, r.signal, r.stdout.trim(), r.stderr]).toEqual([0, null, '3 1', '']);
  });
});
