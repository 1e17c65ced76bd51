// The local S3 server's journal as it grows: one that has outgrown the longest string V8 can make
// (what a single-string read hits, ~512 MiB) still opens with every live object, and compaction
// while running keeps it proportional to the live objects however often a key is overwritten.
// A REAL server on loopback, driven by the AWS SDK; the big journal repeats, in large chunks, a
// line the journal's own writer made, as thousands of overwrites of one key would have left it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:buffer';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3 } from '@imgpipe/local-s3';
import { Journal } from '../packages/local-s3/src/storage/journal.js';
import type { JournalRecord } from '../packages/local-s3/src/storage/records.js';
import { tempDir } from './helpers/images.js';
import { s3Client, type S3Target } from './helpers/s3.js';

const BUCKET = 'growth';
const DIST = path.resolve(import.meta.dirname, '../packages/local-s3/dist/index.js');

async function getText(c: ReturnType<typeof s3Client>, key: string): Promise<{ body: string; meta: Record<string, string> | undefined }> {
  const out = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { body: await out.Body!.transformToString(), meta: out.Metadata };
}

describe('local-s3 journal growth', () => {
  it('a journal longer than the longest V8 string opens; objects before and after the flood are intact; it is compacted on open', async () => {
    const dir = await tempDir('imgpipe-s3-bigjournal-');
    const dataDir = path.join(dir, 'data');
    const journalFile = path.join(dataDir, 'journal.jsonl');
    try {
      const first = await startLocalS3({ dataDir, buckets: [BUCKET] });
      const c1 = s3Client(first);
      for (let i = 0; i < 20; i++) await c1.send(new PutObjectCommand({ Bucket: BUCKET, Key: `live/${i}`, Body: `body ${i}`, Metadata: { n: String(i) } }));
      await c1.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'late', Body: 'written after the flood' }));
      c1.destroy();
      await first.close();

      // The journal as the server wrote it; its last record (the 'late' object) goes after the flood.
      const lines = (await readFile(journalFile, 'utf8')).split('\n').filter(Boolean);
      const late = JSON.parse(lines.pop()!) as JournalRecord;
      expect(late).toMatchObject({ t: 'put', k: 'late' });
      await writeFile(journalFile, lines.map((l) => l + '\n').join(''));
      // The flood: overwrites of one key with 15 KB of metadata (what was accepted before the 2 KB
      // cap), then its deletion and the 'late' object. Each line is written once by the journal's
      // own writer (into a scratch file), then the overwrite is repeated 16 MiB at a time until
      // the file passes V8's string limit.
      const template = JSON.parse(lines.at(-1)!) as Extract<JournalRecord, { t: 'put' }>;
      const scratchFile = path.join(dir, 'scratch.jsonl');
      const { journal: scratch } = await Journal.open<JournalRecord>(scratchFile, false);
      await scratch.append({ t: 'put', b: BUCKET, k: 'flooded', o: { ...template.o, userMeta: { a: 'x'.repeat(15 * 1024) } } });
      await scratch.append({ t: 'del', b: BUCKET, k: 'flooded' });
      await scratch.append(late);
      await scratch.close();
      const [overwrite, ...ending] = (await readFile(scratchFile, 'utf8')).split(/(?<=\n)/);
      const block = Buffer.from(overwrite.repeat(Math.ceil((16 * 1024 * 1024) / overwrite.length)));
      const fh = await open(journalFile, 'a');
      try {
        while ((await fh.stat()).size <= constants.MAX_STRING_LENGTH) await fh.write(block);
        await fh.write(ending.join(''));
      } finally {
        await fh.close();
      }
      const floodSize = (await stat(journalFile)).size;
      expect(floodSize).toBeGreaterThan(constants.MAX_STRING_LENGTH);

      const second = await startLocalS3({ dataDir, buckets: [BUCKET] });
      const c2 = s3Client(second);
      try {
        for (let i = 0; i < 20; i++) expect(await getText(c2, `live/${i}`)).toEqual({ body: `body ${i}`, meta: { n: String(i) } });
        expect((await getText(c2, 'late')).body).toBe('written after the flood');
        expect(await c2.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'flooded' })).catch((e: { name: string }) => e.name)).toBe('NotFound');
      } finally {
        c2.destroy();
        await second.close();
      }
      const compacted = (await stat(journalFile)).size;
      expect(compacted).toBeLessThan(64 * 1024);
      console.log(`[journal] ${floodSize}-byte journal (V8 string limit ${constants.MAX_STRING_LENGTH} characters) opened; compacted to ${compacted} bytes`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('3,000 overwrites of one key with 2 KB of metadata (6.5 MiB of records) leave a journal of about a megabyte; the last version survives a restart', async () => {
    const dir = await tempDir('imgpipe-s3-overwrites-');
    const dataDir = path.join(dir, 'data');
    const journalFile = path.join(dataDir, 'journal.jsonl');
    try {
      // Without fsync: seconds instead of a minute, and the journal grows the same way.
      const s3 = await startLocalS3({ dataDir, buckets: [BUCKET], fsync: false });
      // As `imgpipe dev` runs it: a consumer acknowledges each ObjectCreated event.
      s3.consumeEvents(async () => undefined);
      const c = s3Client(s3);
      const N = 3000;
      const padding = 'm'.repeat(2047); // name "a" + 2047 bytes: S3's 2 KB exactly
      let next = 0;
      let largest = 0;
      let lastAcked = -1;
      const worker = async () => {
        for (let i = next++; i < N; i = next++) {
          await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: `version ${i}`, Metadata: { a: padding } }));
          lastAcked = Math.max(lastAcked, i);
          largest = Math.max(largest, (await stat(journalFile)).size);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      c.destroy();
      await s3.close();
      const final = (await stat(journalFile)).size;
      const line = Buffer.byteLength((await readFile(journalFile, 'utf8')).split('\n').find((l) => l.includes(padding))!) + 1;
      // Twice the live state (the object, events not yet acknowledged) plus 1 MiB of slack, where
      // without compaction it would be every version's record.
      expect(N * line).toBeGreaterThan(6 * 1024 * 1024);
      expect(largest).toBeLessThan(2 * 1024 * 1024);
      console.log(`[journal] ${N} overwrites of one key (${line}-byte lines, ${((N * line) / 2 ** 20).toFixed(1)} MiB appended): journal at most ${largest} bytes, ${final} at the end`);

      const again = await startLocalS3({ dataDir, buckets: [BUCKET] });
      const c2 = s3Client(again);
      try {
        const got = await getText(c2, 'hot');
        expect(got.meta).toEqual({ a: padding });
        // The last one acknowledged, or one that was in flight with it (same workers, same key).
        expect(Number(/^version (\d+)$/.exec(got.body)?.[1])).toBeGreaterThanOrEqual(lastAcked - 8);
      } finally {
        c2.destroy();
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('kill -9 at random points of compactions while running never loses or tears an object', async () => {
    const dir = await tempDir('imgpipe-s3-compact-crash-');
    const dataDir = path.join(dir, 'data');
    const journalFile = path.join(dataDir, 'journal.jsonl');
    const script = path.join(dir, 'server.mjs');
    await writeFile(
      script,
      `import { startLocalS3 } from ${JSON.stringify(DIST)};\n` +
        `const s3 = await startLocalS3({ dataDir: process.argv[2], buckets: [${JSON.stringify(BUCKET)}] });\n` +
        `s3.consumeEvents(async () => undefined);\n` +
        `process.stdout.write(JSON.stringify({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials }) + '\\n');\n`,
    );
    let child: ChildProcess | undefined;
    try {
      // A live state of half a megabyte, so that each compaction has something to write: 200
      // empty objects with 2 KB of metadata, written through the journal's own writer.
      const stable = new Map<string, string>();
      const { journal } = await Journal.open<JournalRecord>(journalFile, false);
      await journal.append({ t: 'bucket', b: BUCKET, at: Date.now() });
      for (let i = 0; i < 200; i++) {
        const key = `stable/${i}`;
        stable.set(key, randomBytes(1000).toString('hex'));
        const o = { blob: randomBytes(16).toString('hex'), size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'binary/octet-stream', headers: {}, userMeta: { a: stable.get(key)! }, lastModified: Date.now() };
        await journal.append({ t: 'put', b: BUCKET, k: key, o });
      }
      await journal.close();
      const bodies = new Map<string, Buffer>();
      const padding = 'p'.repeat(2000);
      // A kept header makes each overwrite's record 7 KB: fewer requests reach the next compaction.
      const disposition = `attachment; filename="${'d'.repeat(5000)}"`;
      /** Per hot key: the highest version acknowledged. */
      const acked = new Map<string, number>();
      let beforeRename = 0;
      const ROUNDS = 3;
      for (let round = 0; round <= ROUNDS; round++) {
        const started = spawn(process.execPath, [script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
        child = started;
        const exited = new Promise<number | null>((resolve) => started.once('exit', resolve));
        const target = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: started.stdout! }).once('line', resolve))) as S3Target;
        const c = s3Client(target);
        try {
          // Everything acknowledged so far is there, whole, and no compaction's temp file is left.
          expect((await readdir(dataDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
          for (const [key, meta] of stable) expect(await getText(c, key).then((g) => g.meta?.a === meta)).toBe(true);
          for (const [key, body] of bodies) expect(Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray()).equals(body)).toBe(true);
          for (const [key, version] of acked) {
            const got = await getText(c, key);
            const v = Number(got.meta?.v);
            // The version acknowledged last, or one in flight at the kill; its body and metadata agree.
            expect({ key, atLeast: v >= version, body: got.body }).toEqual({ key, atLeast: true, body: `${key} version ${v}` });
          }
          if (round === ROUNDS) break;
          if (round === 0) {
            for (let i = 0; i < 20; i++) {
              const body = randomBytes(50_000 + i);
              await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `blob/${i}`, Body: body }));
              bodies.set(`blob/${i}`, body);
            }
          }
          // Overwrite until a compaction starts (its temp file appears, or the journal shrinks),
          // then kill -9 a few milliseconds into it, at a random point.
          let killed = false;
          let largest = 0;
          const killSoon = () => {
            killed = true;
            setTimeout(() => {
              started.kill('SIGKILL');
              void readdir(dataDir).then((names) => (beforeRename += names.some((n) => n.endsWith('.compact.tmp')) ? 1 : 0));
            }, Math.random() * 20);
          };
          const watcher = watch(dataDir, (_event, name) => {
            if (killed) return;
            if (name?.endsWith('.compact.tmp')) return killSoon();
            if (name !== 'journal.jsonl') return;
            void stat(journalFile).then(
              ({ size }) => {
                if (!killed && size < largest) killSoon();
                largest = Math.max(largest, size);
              },
              () => undefined,
            );
          });
          const worker = async (w: number) => {
            const key = `hot/${w}`;
            for (let v = (acked.get(key) ?? 0) + 1; !killed; v++) {
              try {
                await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `${key} version ${v}`, Metadata: { v: String(v), a: padding }, ContentDisposition: disposition }));
              } catch {
                return; // the kill
              }
              acked.set(key, Math.max(acked.get(key) ?? 0, v));
            }
          };
          await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
          watcher.close();
          expect(await exited).toBe(null);
        } finally {
          c.destroy();
        }
      }
      await readdir(dataDir); // the last kill's count is in
      console.log(`[journal] ${ROUNDS} kill -9s during compactions (${beforeRename} before its rename); ${stable.size + bodies.size + acked.size} objects intact`);
    } finally {
      child?.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
