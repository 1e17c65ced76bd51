// The resize handler's answer per source image, written beside the variants: what a web page
// needs (every variant's key, size and bytes; a placeholder; the dominant colour) and whether the
// image is done or failed for good. One object per image, so `watch` waits for one key, not N.
//
// Placeholder: ThumbHash rather than BlurHash. It keeps the aspect ratio and alpha, needs no
// component counts to tune, is ~25 bytes, and decodes in a few lines in any browser.
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { photoColour } from './colour.js';
import { outputKey } from './keys.js';
import { smallestVariant } from './plan.js';
import type { RenderedOutput, SourceInfo } from './resize.js';
import { specHash, type Spec } from './spec.js';

import { RECORD_VERSION, type FailedRecord } from './failed-record.js';

export interface VariantRecord {
  name: string;
  key: string;
  format: string;
  contentType: string;
  width: number;
  height: number;
  bytes: number;
  /** Its public URL, when a CDN is known: added when read (core/cdn-url.ts), never written by the resize handler. */
  url?: string;
}

export interface DoneRecord {
  version: number;
  status: 'done';
  source: {
    key: string;
    /** The path it was uploaded from, relative to the folder uploaded (core/source-path.ts), when the client named one. */
    path?: string;
    sha256: string;
    format: string;
    width: number;
    height: number;
    bytes: number;
  };
  specHash: string;
  variants: VariantRecord[];
  /** ThumbHash, base64. */
  placeholder: string;
  /** The photo's colour, #rrggbb (core/colour.ts). */
  color: string;
  /** From EXIF when present; never GPS or any other location. */
  taken?: { at?: string; camera?: string };
  createdAt: string;
}


export type ImageRecord = DoneRecord | FailedRecord;

/** ThumbHash and the photo's colour from the smallest variant: a few ms, no second decode of the source. */
async function looks(smallest: RenderedOutput): Promise<{ placeholder: string; color: string }> {
  // One decode, to at most 100×100 RGBA (ThumbHash's limit); the colour reads those same pixels.
  const { data, info } = await sharp(smallest.data).resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const hash = rgbaToThumbHash(info.width, info.height, data);
  return { placeholder: Buffer.from(hash).toString('base64'), color: photoColour(data) };
}

/** Capture time and camera from EXIF; the GPS block is never read into the record. */
function takenFrom(exif: Buffer | undefined): DoneRecord['taken'] {
  if (!exif) return undefined;
  try {
    const tags = exifReader(exif);
    const at = tags.Photo?.DateTimeOriginal ?? tags.Image?.DateTime;
    const camera = [tags.Image?.Make, tags.Image?.Model].filter((s) => typeof s === 'string' && s.trim()).map((s) => String(s).trim());
    const taken = {
      ...(at instanceof Date && !Number.isNaN(at.getTime()) ? { at: at.toISOString() } : {}),
      ...(camera.length ? { camera: camera[1]?.startsWith(camera[0]) ? camera[1] : camera.join(' ') } : {}),
    };
    return Object.keys(taken).length ? taken : undefined;
  } catch {
    return undefined; // unreadable EXIF is not a reason to fail an image
  }
}

export async function doneRecord(opts: {
  key: string;
  path?: string;
  sha256: string;
  bytes: number;
  source: SourceInfo;
  outputs: RenderedOutput[];
  exif?: Buffer;
  spec: Spec;
}): Promise<DoneRecord> {
  const { key, spec, outputs } = opts;
  const smallest = smallestVariant(outputs);
  const variants = outputs.map((o) => {
    const variant = spec.variants.find((v) => v.name === o.variant)!;
    return { name: o.variant, key: outputKey(key, variant, spec), format: o.format, contentType: o.contentType, width: o.width, height: o.height, bytes: o.bytes };
  });
  const taken = takenFrom(opts.exif);
  return {
    version: RECORD_VERSION,
    status: 'done',
    source: { key, ...(opts.path ? { path: opts.path } : {}), sha256: opts.sha256, format: opts.source.format, width: opts.source.width, height: opts.source.height, bytes: opts.bytes },
    specHash: specHash(spec),
    variants,
    ...(await looks(smallest)),
    ...(taken ? { taken } : {}),
    createdAt: new Date().toISOString(),
  };
}
