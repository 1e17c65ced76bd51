// A decoder that will not load (a bundle that lost libheif-js: "Cannot find package", or
// "__dirname is not defined" in an ESM bundle) is this installation's fault, not the photo's: the
// error says so with its own code, never "corrupt", and the next photo tries to load it again.
// The broken install cannot be made here for real in-process, so the import is made to fail.
import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import * as img from './helpers/images.js';

const tries = vi.hoisted(() => ({ loads: 0 }));
vi.mock('libheif-js/wasm-bundle.js', () => {
  tries.loads++;
  throw new Error("Cannot find package 'libheif-js' imported from /var/task/index.mjs");
});

/** The smallest HEIF header the sniffer takes: an `ftyp` box with the `heic` brand. */
const heicHead = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.from([0, 0, 0, 0]), Buffer.from('mif1heic'), Buffer.alloc(64)]);

describe('a HEIC decoder that does not load', () => {
  it("fails the HEIC with code decoder-unavailable, saying it is not the photo's fault; loads again next time; JPEGs carry on", async () => {
    for (let i = 0; i < 2; i++) {
      const err = await resizeImage(heicHead, DEFAULT_SPEC).catch((e) => e);
      expect(err).toMatchObject({ code: 'decoder-unavailable', message: expect.stringMatching(/^the HEIC decoder \(libheif-js\) could not be loaded: .+ \(a fault of this installation, not of the photo\)$/) });
    }
    expect(tries.loads).toBe(2);
    const jpeg = await resizeImage(await readFile(img.corpusFile('plasma-Grey.jpg')), DEFAULT_SPEC);
    expect(jpeg.outputs.map((o) => o.width)).toEqual([320, 1024, 2048]);
  });
});
