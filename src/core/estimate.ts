// A rough, pure estimate of how long one image takes to resize with a spec: output pixels times
// a per-format encode cost, plus the decode. The costs are ROUGH, measured on the development
// machine (one libvips thread, which is what the resize Lambda's 1 vCPU gives too) by
// bench/avif.mjs (AVIF per effort and JPEG, 2048 px wide photos) and the resize bench
// (bench/run.mjs: the decode); other machines differ by a factor of two either way. Good enough
// to say "this spec will not fit in the Lambda's timeout", not to plan capacity.
import { variantGeometry, type Size } from './plan.js';
import type { OutputFormat, Spec } from './spec.js';

/** What "an image" means in the estimate and the warning: a 12 MP 4:3 camera photo. */
export const REFERENCE_SOURCE: Size = { width: 4000, height: 3000 };

/** Seconds per output megapixel by sharp's AVIF effort (bench/avif.mjs, quality 50, 2048 px wide). */
export const AVIF_SECONDS_PER_MP: Record<number, number> = {
  0: 0.21, 1: 0.24, 2: 0.28, 3: 0.28, 4: 1.4, 5: 2.0, 6: 4.4, 7: 5.2, 8: 5.6, 9: 13.7,
};

/** Seconds per output megapixel for the other encoders (bench/avif.mjs's JPEG row; WebP/PNG measured alike). */
export const SECONDS_PER_MP: Record<'jpeg' | 'webp' | 'png', number> = { jpeg: 0.028, webp: 0.15, png: 0.12 };

/** Decode (with shrink-on-load) plus resizes, per source megapixel (resize bench, 20 photos). */
export const DECODE_SECONDS_PER_SOURCE_MP = 0.012;

export interface Estimate {
  /** Seconds per image for the whole spec. */
  seconds: number;
  /** Of which AVIF encodes. */
  avifSeconds: number;
  perVariant: { name: string; format: Exclude<OutputFormat, 'same'>; megapixels: number; seconds: number }[];
}

/** Estimated seconds to resize one `source`-sized JPEG photo with `spec`, AVIF at `avifEffort`. */
export function estimateSeconds(spec: Spec, avifEffort: number, source: Size = REFERENCE_SOURCE): Estimate {
  const avifCost = AVIF_SECONDS_PER_MP[Math.min(9, Math.max(0, Math.round(avifEffort)))];
  const perVariant = spec.variants.map((v) => {
    const g = variantGeometry(source, v, spec.withoutEnlargement);
    // 'same' of a JPEG photo is a JPEG.
    const format = v.format === 'same' ? 'jpeg' : v.format;
    const megapixels = (g.width * g.height) / 1e6;
    const cost = format === 'avif' ? avifCost : SECONDS_PER_MP[format];
    return { name: v.name, format, megapixels, seconds: megapixels * cost };
  });
  const decode = ((source.width * source.height) / 1e6) * DECODE_SECONDS_PER_SOURCE_MP;
  const avifSeconds = perVariant.filter((v) => v.format === 'avif').reduce((s, v) => s + v.seconds, 0);
  return { seconds: decode + perVariant.reduce((s, v) => s + v.seconds, 0), avifSeconds, perVariant };
}

/** The warning line when one image takes longer than `timeoutS`, else undefined. */
export function timeoutWarning(estimate: Estimate, timeoutS: number): string | undefined {
  if (estimate.seconds <= timeoutS) return undefined;
  const mp = (REFERENCE_SOURCE.width * REFERENCE_SOURCE.height) / 1e6;
  const n = estimate.seconds >= 10 ? estimate.seconds.toFixed(0) : estimate.seconds.toFixed(1);
  const what = estimate.avifSeconds > estimate.seconds / 2 ? "this spec's AVIF variants take" : 'this spec takes';
  return `warning: ${what} about ${n} s per ${mp} MP image here; the resize Lambda's timeout is ${timeoutS} s`;
}
