// ObjectRemoved events of the embedded local S3 server: a REAL server on loopback, driven by the
// AWS SDK v3. DeleteObject and DeleteObjects queue `ObjectRemoved:Delete` as S3 does, durably in
// the delete's own journal record, across restarts and compaction, for notified buckets only.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3, type ObjectCreatedEvent } from '@imgpipe/local-s3';
import { s3Client } from './helpers/s3.js';

const SRC = 'removed-src';
const OTHER = 'removed-other';
const dirs: string[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-removed-'));
  dirs.push(d);
  return d;
}

const open = (dataDir: string) => startLocalS3({ dataDir, buckets: [SRC, OTHER], notify: [SRC], fsync: false });

/** Every event the server delivers until it is idle, as "name key size eTag". */
async function drain(server: LocalS3): Promise<string[]> {
  const seen: ObjectCreatedEvent[] = [];
  const d = server.consumeEvents(async (ev) => void seen.push(ev));
  await d.idle();
  return seen.map((ev) => `${ev.eventName} ${ev.key} ${ev.size ?? '-'} ${ev.eTag ? 'etag' : '-'}`);
}

describe('ObjectRemoved events', () => {
  it('DeleteObject and DeleteObjects each queue ObjectRemoved:Delete (no size, no ETag), in order, for keys that were there, on notified buckets only', async () => {
    const server = await open(await tempDir());
    const c = s3Client(server);
    const tapped: string[] = [];
    server.onObjectCreated((ev) => tapped.push(`${ev.eventName} ${ev.key}`));
    try {
      for (const k of ['a.jpg', 'b.jpg', 'c.jpg']) await c.send(new PutObjectCommand({ Bucket: SRC, Key: `up/${k}`, Body: k }));
      await c.send(new PutObjectCommand({ Bucket: OTHER, Key: 'up/x.jpg', Body: 'x' }));
      await c.send(new DeleteObjectCommand({ Bucket: SRC, Key: 'up/a.jpg' }));
      await c.send(new DeleteObjectCommand({ Bucket: SRC, Key: 'up/never-there.jpg' }));
      await c.send(new DeleteObjectCommand({ Bucket: OTHER, Key: 'up/x.jpg' }));
      const multi = await c.send(new DeleteObjectsCommand({ Bucket: SRC, Delete: { Objects: [{ Key: 'up/b.jpg' }, { Key: 'up/c.jpg' }, { Key: 'up/gone.jpg' }] } }));
      expect(multi.Deleted?.map((d) => d.Key)).toEqual(['up/b.jpg', 'up/c.jpg', 'up/gone.jpg']);
      expect(await drain(server)).toEqual([
        'ObjectCreated:Put up/a.jpg 5 etag',
        'ObjectCreated:Put up/b.jpg 5 etag',
        'ObjectCreated:Put up/c.jpg 5 etag',
        'ObjectRemoved:Delete up/a.jpg - -',
        'ObjectRemoved:Delete up/b.jpg - -',
        'ObjectRemoved:Delete up/c.jpg - -',
      ]);
      // The in-process tap is for stored objects: a delete is not one.
      expect(tapped.sort()).toEqual(['ObjectCreated:Put up/a.jpg', 'ObjectCreated:Put up/b.jpg', 'ObjectCreated:Put up/c.jpg', 'ObjectCreated:Put up/x.jpg']);
    } finally {
      c.destroy();
      await server.close();
    }
  });

  it('keeps an unacknowledged removal across a restart and across compaction, and forgets it once handled', async () => {
    const dataDir = await tempDir();
    const journal = path.join(dataDir, 'journal.jsonl');
    let server = await open(dataDir);
    let c = s3Client(server);
    await c.send(new PutObjectCommand({ Bucket: SRC, Key: 'up/kept.jpg', Body: 'kept' }));
    await c.send(new DeleteObjectCommand({ Bucket: SRC, Key: 'up/kept.jpg' }));
    // Then dead history well past the compaction threshold (1 MiB of slack): objects with 2 KB of
    // metadata in the bucket that does not notify, each stored and deleted again.
    const padding = 'm'.repeat(2047);
    for (let i = 0; i < 700; i++) {
      await c.send(new PutObjectCommand({ Bucket: OTHER, Key: `dead/${i}`, Body: 'x', Metadata: { a: padding } }));
      await c.send(new DeleteObjectCommand({ Bucket: OTHER, Key: `dead/${i}` }));
    }
    c.destroy();
    await server.close(); // nobody consumed: both events wait in the journal
    // Compacted while running (the history appended is 700 × 2 KB twice over): the events lived through it.
    expect((await stat(journal)).size).toBeLessThan(1024 * 1024);

    server = await open(dataDir);
    expect(await drain(server)).toEqual(['ObjectCreated:Put up/kept.jpg 4 etag', 'ObjectRemoved:Delete up/kept.jpg - -']);
    c = s3Client(server);
    await c.send(new PutObjectCommand({ Bucket: SRC, Key: 'up/kept.jpg', Body: 'again' })); // handled by the consumer still attached
    c.destroy();
    await server.close();

    server = await open(dataDir);
    c = s3Client(server);
    try {
      // Handled events are not delivered again, and the replayed removal removed nothing stored after it.
      expect(await drain(server)).toEqual([]);
      const got = await c.send(new GetObjectCommand({ Bucket: SRC, Key: 'up/kept.jpg' }));
      expect(await got.Body!.transformToString()).toBe('again');
    } finally {
      c.destroy();
      await server.close();
    }
  }, 60_000);
});
