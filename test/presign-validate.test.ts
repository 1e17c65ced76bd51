// The presign API's wire checks without HTTP (lambda/presign/validate.ts): one file's refusal is
// the first check it fails, in a fixed order, each with its own code; what passes is the request.
import { describe, expect, it } from 'vitest';
import { PRESIGN_DEFAULTS } from '../lambda/presign.js';
import { validateFileRequest } from '../lambda/presign/validate.js';
import { MULTIPART_MIN_BYTES, partsOf } from '../src/api/parts.js';

const sha = Buffer.alloc(32, 7).toString('base64');
const good = { name: 'a.jpg', size: 1234, contentType: 'image/jpeg', sha256: sha };
const codeOf = (entry: unknown) => {
  const checked = validateFileRequest(entry, PRESIGN_DEFAULTS);
  return 'error' in checked ? checked.error.code : 'ok';
};

describe('validateFileRequest', () => {
  it('refuses with the first check that fails: name, size, limit, type, checksum, path, parts', () => {
    const big = MULTIPART_MIN_BYTES;
    // Each entry breaks its own field and every field after it: the earliest one names the refusal.
    const broken = {
      InvalidName: { name: '', size: -1, contentType: 'text/html', sha256: 'abc', path: '/abs' },
      InvalidSize: { name: 'a.jpg', size: 1.5, contentType: 'text/html', sha256: 'abc', path: '/abs' },
      EmptyFile: { name: 'a.jpg', size: 0, contentType: 'text/html', sha256: 'abc', path: '/abs' },
      EntityTooLarge: { name: 'a.jpg', size: PRESIGN_DEFAULTS.maxFileBytes + 1, contentType: 'text/html', sha256: 'abc', path: '/abs' },
      UnsupportedType: { name: 'a.jpg', size: big, contentType: 'text/html', sha256: 'abc', path: '/abs', parts: [] },
      InvalidChecksum: { name: 'a.jpg', size: big, contentType: 'image/jpeg', sha256: 'abc', path: '/abs', parts: [] },
      InvalidPath: { name: 'a.jpg', size: big, contentType: 'image/jpeg', sha256: sha, path: '/abs', parts: [] },
      InvalidParts: { name: 'a.jpg', size: big, contentType: 'image/jpeg', sha256: sha, path: 'album/a.jpg', parts: [] },
    };
    expect(Object.fromEntries(Object.entries(broken).map(([want, entry]) => [want, codeOf(entry)]))).toEqual(Object.fromEntries(Object.keys(broken).map((k) => [k, k])));
  });

  it('answers the request it accepted, without fields it does not know, with parts only from the multipart size on', () => {
    const parts = partsOf(MULTIPART_MIN_BYTES).map(() => sha);
    expect(validateFileRequest({ ...good, path: 'album/a.jpg', parts: 'ignored below the threshold', key: 'evil/key.jpg' }, PRESIGN_DEFAULTS)).toEqual({ ...good, path: 'album/a.jpg' });
    expect(validateFileRequest({ ...good, size: MULTIPART_MIN_BYTES, parts }, PRESIGN_DEFAULTS)).toEqual({ ...good, size: MULTIPART_MIN_BYTES, parts });
  });

  it('names a refused file as JSON can carry it', () => {
    expect(validateFileRequest({ ...good, name: 'a\ud800.jpg' }, PRESIGN_DEFAULTS)).toMatchObject({ name: 'a\ufffd.jpg', error: { code: 'InvalidName' } });
    expect(validateFileRequest({ ...good, name: 7 }, PRESIGN_DEFAULTS)).toMatchObject({ name: '', error: { code: 'InvalidName', message: 'name must be a string of 1 to 1024 bytes' } });
    expect(validateFileRequest(null, PRESIGN_DEFAULTS)).toMatchObject({ name: '', error: { code: 'InvalidName' } });
  });
});
