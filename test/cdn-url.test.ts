// The CDN URL join and its inverse, through the WHATWG URL parser (what browsers and fetch use)
// rather than our own decoding: a key with awkward characters comes back whole.
import { describe, expect, it } from 'vitest';
import { keyOfPublicPath, publicUrl, servedByCdn } from '../src/core/cdn-url.js';

describe('public URLs of variants', () => {
  it.each(['320/5f0c1a2e/uploads/k3x9/a b.jpg', '1024/0123abcd/uploads/x/100% #1?.webp', '2048/89abcdef/uploads/y/été+ünï.avif'])('%s: the URL parser gives the key back', (key) => {
    const url = new URL(publicUrl('https://d111111abcdef8.cloudfront.net/', key));
    expect(url.origin).toBe('https://d111111abcdef8.cloudfront.net');
    expect(url.search + url.hash).toBe('');
    expect(keyOfPublicPath(url.pathname)).toBe(key);
  });

  it('names no key for a path that is not one', () => {
    for (const p of ['/', '', 'a/b', '//a', '/a//b', '/a/./b', '/a/../b', '/a/%2e%2e/b', '/a%2Fb', '/a%5Cb', '/a%00b', '/a/%E0%A4%A']) expect(keyOfPublicPath(p), p).toBeUndefined();
    expect(keyOfPublicPath('/320/v/a.jpg?x=1')).toBe('320/v/a.jpg');
  });

  it('never serves a record', () => {
    expect(servedByCdn('_imgpipe/done/uploads/a.jpg.json')).toBe(false);
    expect(servedByCdn('320/5f0c1a2e/uploads/a.jpg')).toBe(true);
  });
});
