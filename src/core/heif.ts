// HEIC/HEIF (iPhone photos) through libheif compiled to WebAssembly (libheif-js's wasm bundle:
// the .wasm is inside the .js, so esbuild puts it in the Lambda bundle; no system library).
// sharp's prebuilt libvips has no HEVC decoder: the primary image is decoded here to 8-bit
// pixels, with HEIF's own transforms (irot/imir/clap) applied by libheif, and handed to sharp.
// Only the primary image of a multi-image file is read; EXIF orientation is not applied again.
import pLimit from 'p-limit';
import { ImgpipeError } from './errors.js';

/**
 * Its errors' codes. `decode`: these bytes are no HEIF libheif can read (resize.ts: the photo is
 * `corrupt`). `unavailable`: the decoder itself would not load (a broken install or bundle): no
 * verdict on any photo.
 */
export const HEIF_ERRORS = { decode: 'HeifDecode', unavailable: 'HeifUnavailable' } as const;

const heifError = (message: string) => new ImgpipeError(message, HEIF_ERRORS.decode);

/** What the header says, before a pixel is decoded. Width and height are after rotation. */
export interface HeifHeader {
  width: number;
  height: number;
  /** Top-level images in the file; only the primary one is used. */
  images: number;
  hasAlpha: boolean;
  /** The primary image's ICC profile (iPhones: Display P3), when it has one. */
  icc?: Buffer;
}

export interface DecodedHeif extends HeifHeader {
  channels: 3 | 4;
  /** 8-bit interleaved pixels, rows packed. */
  pixels: Buffer;
}

type Lib = any;
let loading: Promise<Lib> | undefined;

/** Loaded on first use: compiling the decoder takes a few hundred ms that other formats need not pay. */
function lib(): Promise<Lib> {
  // A literal specifier, so esbuild bundles it; the file name, as Node's ESM resolution wants.
  // @ts-expect-error -- libheif-js ships no types for this entry point
  loading ??= import('libheif-js/wasm-bundle.js').then(
    (m: any) => m.default ?? m,
    (err: Error) => {
      loading = undefined; // the next photo tries again
      throw new ImgpipeError(`the HEIC decoder (libheif-js) could not be loaded: ${err.message.split('\n')[0]}`, HEIF_ERRORS.unavailable);
    },
  );
  return loading;
}

const fourcc = (s: string) => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;

/** The raw ICC profile of a handle (the embind wrapper has no call for it: use the C API). */
function iccOf(h: Lib, handle: any): Buffer | undefined {
  const ptr: number | undefined = handle?.$$?.ptr;
  if (typeof ptr !== 'number' || typeof h._heif_image_handle_get_color_profile_type !== 'function') return undefined;
  const type = h._heif_image_handle_get_color_profile_type(ptr) >>> 0;
  if (type !== fourcc('prof') && type !== fourcc('rICC')) return undefined;
  const size = h._heif_image_handle_get_raw_color_profile_size(ptr);
  if (!size || size > 16 * 1024 * 1024) return undefined;
  const err = h._malloc(16);
  const out = h._malloc(size);
  try {
    h._heif_image_handle_get_raw_color_profile(err, ptr, out);
    if (h.HEAP32[err >> 2] !== 0) return undefined;
    return Buffer.from(h.HEAPU8.subarray(out, out + size));
  } finally {
    h._free(out);
    h._free(err);
  }
}

/**
 * One use of the decoder at a time, header reads and decodes alike. There is one WebAssembly
 * instance; a decode that grows its memory detaches every view another use still holds of the
 * old buffer ("Cannot perform Construct on a detached ArrayBuffer": three HEICs at -c 2 lost
 * one, every run). The wasm runs on the JS thread, so two uses never ran in parallel anyway:
 * the queue costs nothing measurable, and sharp's work on the decoded pixels stays concurrent.
 */
const oneAtATime = pLimit(1);

/** Parse the file (boxes, item locations: a truncated file fails here), hand over its primary image. */
function withPrimary<T>(data: Buffer, use: (h: Lib, handle: any, header: HeifHeader) => Promise<T>): Promise<T> {
  return oneAtATime(() => withPrimaryNow(data, use));
}

async function withPrimaryNow<T>(data: Buffer, use: (h: Lib, handle: any, header: HeifHeader) => Promise<T>): Promise<T> {
  const h = await lib();
  const ctx = h.heif_context_alloc();
  let handle: any;
  try {
    const err = h.heif_context_read_from_memory(ctx, data);
    if (err.code !== h.heif_error_code.heif_error_Ok) throw heifError(String(err.message).trim());
    handle = h.heif_js_context_get_primary_image_handle(ctx);
    if (!handle || handle.code) throw heifError(`no primary image${handle?.message ? `: ${handle.message}` : ''}`);
    const header: HeifHeader = {
      width: h.heif_image_handle_get_width(handle),
      height: h.heif_image_handle_get_height(handle),
      images: h.heif_context_get_number_of_top_level_images(ctx),
      hasAlpha: !!h.heif_image_handle_has_alpha_channel(handle),
      icc: iccOf(h, handle),
    };
    if (!header.width || !header.height) throw heifError('image header has no dimensions');
    return await use(h, handle, header);
  } finally {
    if (handle && !handle.code) h.heif_image_handle_release(handle);
    h.heif_context_free(ctx);
  }
}

/** The header of the primary image: dimensions (ispe, after rotation), image count, profile. */
export function readHeifHeader(data: Buffer): Promise<HeifHeader> {
  return withPrimary(data, async (_h, _handle, header) => header);
}

/**
 * Decode the primary image, after `check(header)` has approved its size: a header claiming
 * 50000×50000 is refused before a pixel is decoded.
 */
export function decodeHeif(data: Buffer, check: (header: HeifHeader) => void): Promise<DecodedHeif> {
  return withPrimary(data, async (h, handle, header) => {
    check(header);
    const channels = header.hasAlpha ? 4 : 3;
    const chroma = header.hasAlpha ? h.heif_chroma.heif_chroma_interleaved_RGBA : h.heif_chroma.heif_chroma_interleaved_RGB;
    const img = await h.heif_js_decode_image2(handle, h.heif_colorspace.heif_colorspace_RGB, chroma);
    if (!img || img.code || !img.channels) throw heifError(`cannot decode the image${img?.message ? `: ${img.message}` : ''}`);
    try {
      const plane = img.channels.find((c: any) => c.id === h.heif_channel.heif_channel_interleaved) ?? img.channels[0];
      const { width, height, stride } = plane as { width: number; height: number; stride: number };
      const row = width * channels;
      const src: Uint8Array = plane.data;
      const pixels = Buffer.allocUnsafe(row * height);
      if (stride === row) pixels.set(src.subarray(0, row * height));
      else for (let y = 0; y < height; y++) pixels.set(src.subarray(y * stride, y * stride + row), y * row);
      return { ...header, width, height, channels, pixels };
    } finally {
      h.heif_image_release(img.image);
    }
  });
}

/**
 * What sharp is given: raw pixels, or, when the image has an ICC profile, the same pixels in an
 * uncompressed TIFF that carries it (sharp takes no profile with raw input), so sharp converts
 * from Display P3 or keeps the profile exactly as it does for a JPEG that has one.
 */
export function heifSharpInput(d: DecodedHeif): { input: Buffer; raw?: { width: number; height: number; channels: 3 | 4 } } {
  if (!d.icc) return { input: d.pixels, raw: { width: d.width, height: d.height, channels: d.channels } };
  const tags: [number, number, number, number | Buffer][] = [
    [256, 4, 1, d.width],
    [257, 4, 1, d.height],
    [258, 3, d.channels, Buffer.from(new Uint16Array(d.channels).fill(8).buffer)],
    [259, 3, 1, 1], // no compression
    [262, 3, 1, 2], // RGB
    [273, 4, 1, 0], // strip offset: set below
    [277, 3, 1, d.channels],
    [278, 4, 1, d.height],
    [279, 4, 1, d.pixels.length],
    [284, 3, 1, 1], // interleaved
    ...(d.channels === 4 ? [[338, 3, 1, 2] as [number, number, number, number]] : []), // unassociated alpha
    [34675, 7, d.icc.length, d.icc],
  ];
  const ifdSize = 2 + tags.length * 12 + 4;
  let extra = 8 + ifdSize;
  const blobs: { at: number; data: Buffer }[] = [];
  const head = Buffer.alloc(8 + ifdSize);
  head.write('II*\0', 0, 'latin1');
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(tags.length, 8);
  const entries = tags.map(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    if (Buffer.isBuffer(value)) {
      blobs.push({ at: extra, data: value });
      head.writeUInt32LE(extra, at + 8);
      extra += value.length + (value.length % 2);
    } else if (type === 3) head.writeUInt16LE(value, at + 8);
    else head.writeUInt32LE(value, at + 8);
    return at;
  });
  head.writeUInt32LE(extra, entries[tags.findIndex(([t]) => t === 273)] + 8);
  const out = Buffer.allocUnsafe(extra + d.pixels.length);
  head.copy(out, 0);
  for (const b of blobs) {
    b.data.copy(out, b.at);
    if (b.data.length % 2) out[b.at + b.data.length] = 0;
  }
  d.pixels.copy(out, extra);
  return { input: out };
}
