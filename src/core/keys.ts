// Key naming: the contract between the resize Lambda (writes these keys) and `watch` (waits for
// exactly these keys). Pure: from the source key and the spec alone, no lookup, no metadata.
//
// Scheme: `<variant name>/<source key, extension swapped for the output format's>`.
//   uploads/2026/11/25/k3x9/a b.jpg → 320/uploads/2026/11/25/k3x9/a b.jpg, webp → …/a b.webp
// The variant name leads so each variant is one prefix (list, expire or serve it as a unit) and
// two variants can never collide; the source path is kept whole so outputs trace back to it.
import type { OutputFormat, Spec, Variant } from './spec.js';

const EXTENSION: Record<Exclude<OutputFormat, 'same'>, string> = {
  jpeg: '.jpg',
  webp: '.webp',
  avif: '.avif',
  png: '.png',
};

export function outputKey(sourceKey: string, variant: Pick<Variant, 'name' | 'format'>): string {
  if (!sourceKey || sourceKey.endsWith('/')) throw new Error(`not an object key: "${sourceKey}"`);
  const slash = sourceKey.lastIndexOf('/');
  const dot = sourceKey.lastIndexOf('.');
  const stem = dot > slash + 1 ? sourceKey.slice(0, dot) : sourceKey;
  // 'same' keeps the source's own extension: the format is only known after decoding,
  // and this function must not need to decode anything.
  const ext = variant.format === 'same' ? sourceKey.slice(stem.length) : EXTENSION[variant.format];
  return `${variant.name}/${stem}${ext}`;
}

export interface ExpectedOutput {
  variant: string;
  key: string;
}

export function outputKeys(sourceKey: string, spec: Pick<Spec, 'variants'>): ExpectedOutput[] {
  return spec.variants.map((v) => ({ variant: v.name, key: outputKey(sourceKey, v) }));
}

/** Whether a key is itself an output of the spec, so a misrouted trigger cannot resize outputs. */
export function isOutputKey(key: string, spec: Pick<Spec, 'variants'>): boolean {
  return spec.variants.some((v) => key.startsWith(`${v.name}/`));
}

/**
 * Where the resize handler writes its answer for one source image, beside the variants: a record
 * once every variant is written, or a failure record when it gives up on the image for good.
 * `_imgpipe/` cannot be a variant's prefix (variant names start with a letter or digit).
 */
export const RECORD_PREFIX = '_imgpipe/done/';
export const FAILURE_PREFIX = '_imgpipe/failed/';
/** The resize's note of why its last attempt at an image answered "retry", for the failure recorder; never waited for. */
export const ATTEMPT_PREFIX = '_imgpipe/attempts/';

export function recordKey(sourceKey: string): string {
  return `${RECORD_PREFIX}${sourceKey}.json`;
}

export function failureKey(sourceKey: string): string {
  return `${FAILURE_PREFIX}${sourceKey}.json`;
}

export function attemptKey(sourceKey: string): string {
  return `${ATTEMPT_PREFIX}${sourceKey}.json`;
}
