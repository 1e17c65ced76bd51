// Atomic writes cannot be redirected: a symlink planted at the temporary names the old scheme
// chose (`<file>.<pid>.<n>.tmp`, predictable) or anywhere beside the file never receives the
// bytes, a private file comes out 0600 in a 0700 folder, and nothing temporary is left behind.
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/files/atomic.js';
import { ManifestWriter, readManifest, type ManifestFile } from '../src/files/manifest.js';
import * as img from './helpers/images.js';

describe('writeFileAtomic', () => {
  it('writes through no planted symlink; the private file is 0600 in a 0700 folder it made', async () => {
    const dir = await img.tempDir('imgpipe-atomic-');
    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'untouched\n', { mode: 0o644 });
    const file = path.join(dir, '.imgpipe', 'dev.json');
    await mkdir(path.dirname(file), { mode: 0o755 }); // a folder that exists already keeps its mode
    // Every name the old scheme would pick in this process, each a link to the victim.
    for (let n = 0; n < 50; n++) await symlink(victim, `${file}.${process.pid}.${n}.tmp`);
    for (let i = 0; i < 5; i++) await writeFileAtomic(file, `{"secret":"s${i}"}`, 0o600);
    expect(await readFile(victim, 'utf8')).toBe('untouched\n');
    expect(await readFile(file, 'utf8')).toBe('{"secret":"s4"}');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await lstat(file)).isSymbolicLink()).toBe(false);
    const left = (await readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp'));
    expect(left).toHaveLength(50); // only the planted links: none of ours

    const fresh = path.join(dir, 'new', 'state', 'ledger');
    await writeFileAtomic(fresh, 'x', 0o600);
    expect((await stat(path.dirname(fresh))).mode & 0o777).toBe(0o700);
  });

  it('the manifest, which holds local paths, is private too', async () => {
    const dir = await img.tempDir('imgpipe-atomic-');
    const file = path.join(dir, '.imgpipe', 'last-upload.json');
    const sent: ManifestFile = { path: '/photos/a.jpg', relPath: 'a.jpg', size: 1, key: 'uploads/k/a.jpg', status: 'uploaded' };
    const writer = new ManifestWriter(file, () => ({ version: 1, updatedAt: '', files: [sent] }), 0);
    expect(await writer.save()).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readManifest(file))?.files).toEqual([sent]);
  });

  it("the run's last save is written at once, with the latest state, not after the coalescing pause", async () => {
    const file = path.join(await img.tempDir('imgpipe-manifest-'), 'last-upload.json');
    const files: ManifestFile[] = [{ path: '/photos/a.jpg', relPath: 'a.jpg', size: 1, key: 'uploads/k/a.jpg', status: 'uploaded' }];
    // A pause far longer than the test's time: only a save that skips it can end the test.
    const writer = new ManifestWriter(file, () => ({ version: 1, updatedAt: '', files: [...files] }), 600_000);
    const coalescing = writer.save(); // a completion mid-run: waits to gather more
    files.push({ path: '/photos/b.jpg', relPath: 'b.jpg', size: 2, key: 'uploads/l/b.jpg', status: 'uploaded' });
    expect(await writer.save(true)).toBe(true);
    expect(await coalescing).toBe(true); // the same write
    expect((await readManifest(file))?.files.map((f) => f.relPath)).toEqual(['a.jpg', 'b.jpg']);
    // And a final save with nothing waiting writes at once too.
    files.push({ path: '/photos/c.jpg', relPath: 'c.jpg', size: 3, key: 'uploads/m/c.jpg', status: 'uploaded' });
    expect(await writer.save(true)).toBe(true);
    expect((await readManifest(file))?.files).toHaveLength(3);
  });
});
