// Same bytes twice in one run: a copy waits for the first only while the first is in flight.
import { describe, expect, it } from 'vitest';
import { filesToPresign } from '../src/jobs/upload/check.js';
import type { UploadEvent } from '../src/jobs/upload/events.js';
import type { FileRecord, UploadRun } from '../src/jobs/upload/types.js';

const sha = Buffer.alloc(32, 5).toString('base64');
const record = (rel: string, status: FileRecord['status'] = 'pending'): FileRecord => ({ path: `/p/${rel}`, relPath: rel, found: { path: `/p/${rel}`, relPath: rel, size: 10, mtimeMs: 1 }, status, size: 10 });
/** A record as the check leaves it: hashed and typed. */
const check = (rel: string): FileRecord => ({ ...record(rel), sha256: sha, contentType: 'image/jpeg' });

function runWithFirst(status: FileRecord['status'], opts: Partial<UploadRun['opts']> = {}): { run: UploadRun; first: FileRecord; events: UploadEvent[] } {
  const first = { ...record('first.jpg', status), sha256: sha, contentType: 'image/jpeg', key: 'uploads/k/first.jpg' };
  const events: UploadEvent[] = [];
  const run = { opts: { destination: { pipeline: 'local:/d' }, ...opts }, firstOf: new Map([[sha, first]]), twins: new Map(), emit: (e: UploadEvent) => events.push(e), save: () => {} } as unknown as UploadRun;
  return { run, first, events };
}

describe('twins in one upload run', () => {
  it('a copy of a file still in flight waits for it, and is not presigned', () => {
    const { run, first, events } = runWithFirst('pending');
    expect(filesToPresign(run, [check('copy.jpg')])).toEqual([]);
    expect(run.twins.get(first)!.map((t) => t.relPath)).toEqual(['copy.jpg']);
    expect(events.map((e) => e.type)).toEqual(['file-checked']);
  });

  it('a copy of a file that already failed (in an earlier batch) gets its own try', () => {
    const { run, first } = runWithFirst('failed');
    expect(filesToPresign(run, [check('copy.jpg')]).map((r) => r.relPath)).toEqual(['copy.jpg']);
    expect(run.twins.get(first)).toBeUndefined();
    expect(run.firstOf.get(sha)!.relPath).toBe('copy.jpg');
  });

  it('in a dry run the first is never sent: its copy ends at once, as the real run would end it', () => {
    const { run, first, events } = runWithFirst('pending', { dryRun: true });
    expect(filesToPresign(run, [check('copy.jpg')])).toEqual([]);
    expect(run.twins.get(first)).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['file-checked', 'file-exists']);
    expect(events[1]).toMatchObject({ file: { relPath: 'copy.jpg', status: 'exists', twinOf: 'first.jpg' } });
  });
});
