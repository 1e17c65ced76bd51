// The resize engine shared by resize-local, the resize Lambda and the local stack.
//
// Decode once: every variant is cut from one intermediate, the input decoded (with libjpeg/webp
// shrink-on-load) straight to the largest size any variant needs. sharp's `clone()` re-reads and
// re-decodes the input per output; measured on the 20-photo corpus, one decode to an
// intermediate took 1.36 s against 2.40 s for clone() per width, both cores busy.
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { hasCode, ImgpipeError } from './errors.js';
import { decodeHeif, HEIF_ERRORS, heifSharpInput, readHeifHeader, type DecodedHeif, type HeifHeader } from './heif.js';
import { intermediateSize, orientedSize, variantGeometry, type Size } from './plan.js';
import type { OutputFormat, Spec, Variant } from './spec.js';
import { CONTENT_TYPES, MAX_INPUT_BYTES, SNIFF_BYTES, pixelLimitReason, sniff, type ImageFormat } from './validate.js';

// The pixel cache only helps when the same file is processed twice; it costs memory otherwise.
sharp.cache(false);

export type ResizeInput = string | Buffer | Readable;

export interface SourceInfo {
  format: ImageFormat;
  contentType: string;
  /** Size after auto-orientation: what the variants are computed from. */
  width: number;
  height: number;
  orientation: number;
  pages: number;
  hasAlpha: boolean;
  hasProfile: boolean;
  space: string;
}

export interface PlannedOutput {
  variant: string;
  format: Exclude<OutputFormat, 'same'>;
  contentType: string;
  width: number;
  height: number;
}

export interface RenderedOutput extends PlannedOutput {
  bytes: number;
  data: Buffer;
}

/** The codes are the failure record's `code` (lambda/resize.ts), hence lower-case: a wire contract. */
/** `decoder-unavailable`: this installation cannot decode the format; the photo may be fine. */
/** `checksum`: the stored bytes are not the ones their content key names (permanent: no retry changes them). */
export type ImageErrorCode = 'unsupported' | 'corrupt' | 'too-large' | 'empty' | 'decoder-unavailable' | 'checksum';

export class ImageError extends ImgpipeError {
  override name = 'ImageError';
  declare readonly code: ImageErrorCode;
  /** The decoder's own words (`VipsJpeg: Premature end of input file`), for logs and -v; `message` is the plain sentence. */
  readonly detail?: string;
  constructor(message: string, code: ImageErrorCode, detail?: string) {
    super(message, code);
    if (detail) this.detail = detail;
  }
}

/** Most frames an animated input may have (only the first is used, but all are parsed). */
const MAX_FRAMES = 1000;

/** Largest compressed input accepted from a stream (streams are buffered: we decode twice). */
const MAX_STREAM_BYTES = MAX_INPUT_BYTES;

async function readHead(input: string | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input.subarray(0, SNIFF_BYTES);
  const fh = await open(input, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Read a stream whole, refusing more than `limit` bytes (objects, uploads: never unbounded). */
export async function collect(stream: AsyncIterable<Uint8Array>, limit = MAX_STREAM_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > limit) throw new ImageError(`input larger than ${limit} bytes`, 'too-large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Formats sharp can write; anything else ('same' of a TIFF, GIF…) falls back to JPEG/PNG. */
function resolveFormat(requested: OutputFormat, input: ImageFormat, hasAlpha: boolean): Exclude<OutputFormat, 'same'> {
  if (requested !== 'same') return requested;
  if (input === 'jpeg' || input === 'png' || input === 'webp' || input === 'avif') return input;
  return hasAlpha ? 'png' : 'jpeg';
}

function decodeOptions(spec: Spec): SharpOptions {
  // failOn 'warning': a truncated JPEG is only a libjpeg *warning*; anything laxer lets it
  // through as a grey-bottomed image. One page: animated GIF/WebP and multi-page TIFF give
  // their first frame, and the pixel limit applies to that frame.
  return { failOn: 'warning', limitInputPixels: spec.maxInputPixels, pages: 1 };
}

// A person reads the error line: one plain sentence per file, not libvips' or libheif's
// internals ("Warning treated as error due to failOn setting", "iloc box data version 255").
const CUT_SHORT = /premature end|truncat|unexpected end|end of (file|data|stream|input)|outside of file|not enough data/i;

function heifSentence(raw: string): string {
  if (CUT_SHORT.test(raw)) return 'the file ends before its image data does';
  if (/^cannot decode/i.test(raw)) return 'its image data cannot be decoded';
  return 'its structure (the boxes that locate the image) cannot be read';
}

/** A decoder's failure as a plain sentence (`format`: what the bytes were sniffed as), its own words as `detail`. */
function describeSharpError(err: unknown, format?: string): ImageError {
  if (err instanceof ImageError) return err;
  if (hasCode(err, HEIF_ERRORS.unavailable)) return new ImageError(`${err.message} (a fault of this installation, not of the photo)`, 'decoder-unavailable');
  const raw = err instanceof Error ? err.message : String(err);
  const first = (raw.split('\n').find((l) => l.trim()) ?? raw).trim();
  const detail = raw.split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
  if (hasCode(err, HEIF_ERRORS.decode)) return new ImageError(`corrupt or truncated image: HEIC: ${heifSentence(first)}`, 'corrupt', detail);
  if (/pixel limit/i.test(raw)) return new ImageError('image exceeds the pixel limit', 'too-large', detail);
  if (/unsupported image format/i.test(raw)) return new ImageError('not a supported image', 'unsupported', detail);
  const what = format ? format.toUpperCase() : 'image';
  return new ImageError(`corrupt or truncated image: ${CUT_SHORT.test(raw) ? `the ${what} ends before its image data does` : `the ${what} decoder cannot read its image data`}`, 'corrupt', detail);
}

/**
 * HEIC: the header read by libheif (sizes after HEIF's own rotation, which the decoder applies:
 * orientation 1 here, so EXIF orientation is never applied on top). Primary image only.
 */
async function prepareHeic(input: string | Buffer, spec: Spec): Promise<{ source: Buffer; info: SourceInfo }> {
  const source = Buffer.isBuffer(input) ? input : await readFile(input);
  let header;
  try {
    header = await heif.header(source);
  } catch (err) {
    throw describeSharpError(err);
  }
  const tooLarge = pixelLimitReason(header.width, header.height, spec.maxInputPixels);
  if (tooLarge) throw new ImageError(tooLarge, 'too-large');
  const { width, height, hasAlpha } = header;
  const info: SourceInfo = { format: 'heic', contentType: CONTENT_TYPES.heic, width, height, orientation: 1, pages: 1, hasAlpha, hasProfile: !!header.icc, space: 'srgb' };
  return { source, info };
}

/** libheif's two uses: the header, and the primary image decoded (`too-large` when its header is over `maxPixels`). */
export interface HeifCodec {
  header(data: Buffer): Promise<HeifHeader>;
  decode(data: Buffer, maxPixels: number): Promise<DecodedHeif>;
}

const heifHere: HeifCodec = {
  header: readHeifHeader,
  decode: (data, maxPixels) =>
    decodeHeif(data, (h) => {
      const tooLarge = pixelLimitReason(h.width, h.height, maxPixels);
      if (tooLarge) throw new ImageError(tooLarge, 'too-large');
    }),
};
let heif = heifHere;

/** Where libheif runs: in this thread, unless a job gives threads of their own (jobs/heif-workers.ts); none: back here. */
export function useHeifCodec(codec?: HeifCodec): void {
  heif = codec ?? heifHere;
}

/** Decode a HEIC's primary image to a sharp pipeline, the pixel limit checked again on the header first. */
async function heicPipeline(source: Buffer, spec: Spec): Promise<Sharp> {
  const decoded = await heif.decode(source, spec.maxInputPixels);
  const { input, raw } = heifSharpInput(decoded);
  return sharp(input, raw ? { raw } : { limitInputPixels: spec.maxInputPixels });
}

async function prepare(input: ResizeInput, spec: Spec): Promise<{ source: string | Buffer; info: SourceInfo; exif?: Buffer }> {
  const source = typeof input === 'string' || Buffer.isBuffer(input) ? input : await collect(input);
  const head = await readHead(source);
  const sniffed = sniff(head);
  if (!sniffed.ok) throw new ImageError(sniffed.reason, head.length === 0 ? 'empty' : 'unsupported');
  if (sniffed.format === 'heic') return prepareHeic(source, spec);

  let meta: Metadata;
  try {
    // Header only: the limit is checked below with a clearer message than sharp's.
    meta = await sharp(source, { ...decodeOptions(spec), limitInputPixels: false }).metadata();
  } catch (err) {
    throw describeSharpError(err, sniffed.format);
  }
  if (!meta.width || !meta.height) throw new ImageError('image header has no dimensions', 'corrupt');
  // Check the header before decoding a pixel: a 50000×50000 PNG is a few KB on disk.
  const pixels = meta.width * meta.height;
  const tooLarge = pixelLimitReason(meta.width, meta.height, spec.maxInputPixels);
  if (tooLarge) throw new ImageError(tooLarge, 'too-large');
  const pages = meta.pages ?? 1;
  // Only the first page is resized: a multi-page TIFF would silently lose the rest.
  if (sniffed.format === 'tiff' && pages > 1) {
    throw new ImageError(`multi-page TIFF (${pages} pages): only single images are accepted; split it first`, 'unsupported');
  }
  // An animation is cheap on disk and huge in frames: bound frames and pixels over all frames.
  if (pages > MAX_FRAMES || pixels * pages > spec.maxInputPixels * 10) {
    throw new ImageError(`animation of ${pages} frames (${((pixels * pages) / 1e6).toFixed(0)} MP in all) is over the limit of ${MAX_FRAMES} frames`, 'too-large');
  }
  const orientation = meta.orientation ?? 1;
  const oriented = orientedSize({ width: meta.width, height: meta.height }, orientation, spec.autoRotate);
  return {
    source,
    exif: meta.exif,
    info: {
      format: sniffed.format,
      contentType: sniffed.contentType,
      ...oriented,
      orientation,
      pages,
      hasAlpha: meta.hasAlpha ?? false,
      hasProfile: !!meta.icc,
      space: meta.space ?? 'srgb',
    },
  };
}

function planOutputs(info: SourceInfo, spec: Spec): PlannedOutput[] {
  return spec.variants.map((v) => {
    const g = variantGeometry(info, v, spec.withoutEnlargement);
    const format = resolveFormat(v.format, info.format, info.hasAlpha);
    return { variant: v.name, format, contentType: CONTENT_TYPES[format], width: g.width, height: g.height };
  });
}

/** Read the header only and say what a run would write. Decodes no pixels. */
export async function planImage(input: ResizeInput, spec: Spec): Promise<{ source: SourceInfo; outputs: PlannedOutput[] }> {
  const { info } = await prepare(input, spec);
  return { source: info, outputs: planOutputs(info, spec) };
}

/**
 * sharp's AVIF `effort` (0-9, sharp's default 4). bench/avif.mjs (bench/README.md: 20 photos 2048 px
 * wide, q50, one libvips thread): effort 4 took 4.7 s per image, effort 3 1.1 s for 4 % more bytes
 * and the same SSIM (0.9670 vs 0.9672); effort 2 is faster still but 14 % bigger; 5-9 cost 1.5-10×
 * effort 4 for ≤ 3 % fewer bytes.
 */
export const AVIF_EFFORT = 3;

function encode(pipeline: Sharp, format: PlannedOutput['format'], variant: Variant): Sharp {
  switch (format) {
    case 'jpeg':
      return pipeline.jpeg({ quality: variant.quality });
    case 'webp':
      return pipeline.webp({ quality: variant.quality });
    case 'avif':
      return pipeline.avif({ quality: variant.quality, effort: AVIF_EFFORT });
    case 'png':
      return pipeline.png(); // lossless: quality has no meaning here
  }
}

/**
 * Decode the whole input, as small as shrink-on-load allows, and throw if it is damaged: the
 * arbiter when a cheap structural check is only suspicious.
 */
export async function checkDecodes(input: string | Buffer, spec: Spec): Promise<void> {
  let sniffedFormat: string | undefined;
  try {
    const heic = sniff(await readHead(input));
    if (heic.ok) sniffedFormat = heic.format;
    if (heic.ok && heic.format === 'heic') {
      await heicPipeline(Buffer.isBuffer(input) ? input : await readFile(input), spec);
      return;
    }
    await sharp(input, decodeOptions(spec)).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch (err) {
    throw describeSharpError(err, sniffedFormat);
  }
}

/** Decode the input once and render every variant of the spec; `exif` is the input's raw EXIF block, if any. */
export async function resizeImage(input: ResizeInput, spec: Spec): Promise<{ source: SourceInfo; outputs: RenderedOutput[]; exif?: Buffer }> {
  const { source, info, exif } = await prepare(input, spec);
  const planned = planOutputs(info, spec);
  // Keep an RGB/grey profile as it is; CMYK is converted to sRGB, so its profile no longer applies.
  const keepIcc = spec.keepIccProfile && info.hasProfile && info.space !== 'cmyk';
  const grey = info.space === 'b-w' || info.space === 'grey16';

  try {
    const inter: Size = intermediateSize(info, spec);
    const heic = info.format === 'heic' && Buffer.isBuffer(source);
    let decode = heic ? await heicPipeline(source, spec) : sharp(source, decodeOptions(spec));
    if (spec.autoRotate && !heic) decode = decode.rotate();
    if (inter.width !== info.width || inter.height !== info.height) {
      decode = decode.resize({ width: inter.width, height: inter.height, fit: 'fill' });
    }
    // 8-bit sRGB (or 8-bit grey) from here on, whatever the input: CMYK and 16-bit included.
    decode = decode.toColourspace(grey ? 'b-w' : 'srgb');
    // Raw pixels are cheapest to pass on, but carry no profile: keep one in an uncompressed TIFF.
    const frame = keepIcc ? decode.keepIccProfile().tiff({ compression: 'none' }) : decode.raw();
    const { data, info: frameInfo } = await frame.toBuffer({ resolveWithObject: true });
    const fromFrame = () =>
      keepIcc
        ? sharp(data)
        : sharp(data, { raw: { width: frameInfo.width, height: frameInfo.height, channels: frameInfo.channels } });

    const outputs = await Promise.all(
      spec.variants.map(async (variant, i) => {
        const plan = planned[i];
        let p = fromFrame();
        const boxed = variant.width !== undefined && variant.height !== undefined && (variant.fit === 'cover' || variant.fit === 'contain');
        const opaque = plan.format === 'jpeg';
        if (boxed && !(variant.fit === 'contain' && plan.width === info.width && plan.height === info.height)) {
          p = p.resize({
            width: plan.width,
            height: plan.height,
            fit: variant.fit,
            background: opaque ? '#ffffff' : { r: 0, g: 0, b: 0, alpha: 0 },
          });
        } else if (plan.width !== frameInfo.width || plan.height !== frameInfo.height) {
          p = p.resize({ width: plan.width, height: plan.height, fit: 'fill' });
        }
        if (opaque && info.hasAlpha) p = p.flatten({ background: '#ffffff' });
        if (keepIcc) p = p.keepIccProfile();
        const { data: out, info: outInfo } = await encode(p, plan.format, variant).toBuffer({ resolveWithObject: true });
        return { ...plan, width: outInfo.width, height: outInfo.height, bytes: out.length, data: out };
      }),
    );
    return { source: info, outputs, exif };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw describeSharpError(err, info.format);
  }
}
