// Key naming: the contract between the resize Lambda (writes these keys) and `watch` (waits for
// exactly these keys). Pure: from the source key and the spec alone, no lookup, no metadata.
//
// Scheme: `<variant name>/<version>/<source key, extension swapped for the output format's>`.
//   uploads/k3x9/a b.jpg → 320/5f0c1a2e/uploads/k3x9/a b.jpg, webp → …/a b.webp
// The variant name leads so each variant is one prefix (list, expire or serve it as a unit) and
// two variants can never collide; the source path is kept whole so outputs trace back to it.
// The version is a hash of everything that decides the variant's bytes (its own settings and the
// spec's rendering flags): change any of them and the variant gets new keys, so the old URLs,
// served `immutable`, keep the old bytes and never lie. Old versions stay until pruned.
import { createHash } from 'node:crypto';
import type { OutputFormat, Spec, Variant } from './spec.js';

/**
 * The Cache-Control every variant is written with (CACHE_CONTROL on the resize function overrides
 * it): a key's bytes never change, as its version changes whenever they would, so a cache keeps
 * it a year and never asks again.
 */
export const VARIANT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** Bump when the rendering itself changes what a variant's bytes are (not for a faster path to the same). */
const RENDER_VERSION = 1;

/** What decides a variant's bytes besides the source: a spec's rendering flags. */
export type RenderFlags = Pick<Spec, 'withoutEnlargement' | 'autoRotate' | 'keepIccProfile'>;

/** The variant's version: 8 hex of a hash of its settings (its name is beside it in the key already). */
function variantVersion(variant: Omit<Variant, 'name'>, flags: RenderFlags): string {
  const decides = [RENDER_VERSION, variant.width ?? null, variant.height ?? null, variant.fit, variant.format, variant.quality, flags.withoutEnlargement, flags.autoRotate, flags.keepIccProfile];
  return createHash('sha256').update(JSON.stringify(decides)).digest('hex').slice(0, 8);
}

export const VERSION_SEGMENT = /^[0-9a-f]{8}$/;

const EXTENSION: Record<Exclude<OutputFormat, 'same'>, string> = {
  jpeg: '.jpg',
  webp: '.webp',
  avif: '.avif',
  png: '.png',
};

/**
 * Where a variant of a file goes without a version: `<variant name>/<path, extension swapped>`.
 * The layout of local outputs (resize-local, --download), and the tail of every output key.
 */
export function variantPath(path: string, variant: Pick<Variant, 'name' | 'format'>): string {
  if (!path || path.endsWith('/')) throw new Error(`not an object key: "${path}"`);
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  const stem = dot > slash + 1 ? path.slice(0, dot) : path;
  // 'same' keeps the source's own extension: the format is only known after decoding,
  // and this function must not need to decode anything.
  const ext = variant.format === 'same' ? path.slice(stem.length) : EXTENSION[variant.format];
  return `${variant.name}/${stem}${ext}`;
}

/** The destination key of `variant` of `sourceKey`, at `version` (variantVersion). */
export function outputKeyAt(sourceKey: string, variant: Pick<Variant, 'name' | 'format'>, version: string): string {
  const tail = variantPath(sourceKey, variant);
  return `${variant.name}/${version}/${tail.slice(variant.name.length + 1)}`;
}

/** The destination key of `variant` of `sourceKey` under `spec`. */
export function outputKey(sourceKey: string, variant: Variant, spec: RenderFlags): string {
  return outputKeyAt(sourceKey, variant, variantVersion(variant, spec));
}

function stem(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? path.slice(0, dot) : path;
}

/**
 * Whether `destKey` is a variant of `sourceKey` at some version (any spec's, old ones included):
 * what a removal may delete of the keys a done record lists, and nothing else.
 */
export function isVariantKeyOf(destKey: string, sourceKey: string): boolean {
  const [name, version, ...rest] = destKey.split('/');
  return !!name && !name.startsWith('_') && VERSION_SEGMENT.test(version ?? '') && rest.length > 0 && stem(rest.join('/')) === stem(sourceKey);
}

export interface ExpectedOutput {
  variant: string;
  key: string;
}

export function outputKeys(sourceKey: string, spec: Pick<Spec, 'variants'> & RenderFlags): ExpectedOutput[] {
  return spec.variants.map((v) => ({ variant: v.name, key: outputKey(sourceKey, v, spec) }));
}

/**
 * Where the resize handler writes its answer for one source image, beside the variants: a record
 * once every variant is written, or a failure record when it gives up on the image for good.
 * `_imgpipe/` cannot be a variant's prefix (variant names start with a letter or digit).
 */
export const RECORD_PREFIX = '_imgpipe/done/';
export const FAILURE_PREFIX = '_imgpipe/failed/';
/** The resize's note of why its last attempt at an image answered "retry", for the failure recorder; never waited for. */
const ATTEMPT_PREFIX = '_imgpipe/attempts/';

export function recordKey(sourceKey: string): string {
  return `${RECORD_PREFIX}${sourceKey}.json`;
}

export function failureKey(sourceKey: string): string {
  return `${FAILURE_PREFIX}${sourceKey}.json`;
}

export function attemptKey(sourceKey: string): string {
  return `${ATTEMPT_PREFIX}${sourceKey}.json`;
}
