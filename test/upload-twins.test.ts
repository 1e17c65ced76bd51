// Same bytes twice in one run: a copy waits for the first only while the first is in flight.
import { describe, expect, it } from 'vitest';
import { filesToPresign } from '../src/jobs/upload/check.js';
import type { PendingPut, UploadRun } from '../src/jobs/upload/types.js';

const sha = Buffer.alloc(32, 5).toString('base64');
const check = (rel: string) => ({ file: { path: `/p/${rel}`, relPath: rel, size: 10 }, mtimeMs: 1, inspected: { ok: true as const, size: 10, sha256: sha, contentType: 'image/jpeg' } });

function runWithFirst(status: 'pending' | 'failed'): { run: UploadRun; first: PendingPut } {
  const first = { ...check('first.jpg'), twins: [], request: { name: 'first.jpg', size: 10, contentType: 'image/jpeg', sha256: sha }, entry: { path: '/p/first.jpg', relPath: 'first.jpg', size: 10, sha256: sha, status } } as unknown as PendingPut;
  const run = { firstOf: new Map([[sha, first]]), finish: () => {} } as unknown as UploadRun;
  return { run, first };
}

describe('twins in one upload run', () => {
  it('a copy of a file still in flight waits for it, and is not presigned', () => {
    const { run, first } = runWithFirst('pending');
    expect(filesToPresign(run, [check('copy.jpg')], [])).toEqual([]);
    expect(first.twins.map((t) => t.file.relPath)).toEqual(['copy.jpg']);
  });

  it('a copy of a file that already failed (in an earlier batch) gets its own try', () => {
    const { run, first } = runWithFirst('failed');
    expect(filesToPresign(run, [check('copy.jpg')], []).map((p) => p.file.relPath)).toEqual(['copy.jpg']);
    expect(first.twins).toEqual([]);
  });
});
