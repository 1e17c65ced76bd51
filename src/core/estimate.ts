// A rough, pure estimate of how long one image takes to resize with a spec: output pixels times
// a per-format encode cost, plus the decode. The costs are ROUGH, measured on the development
// machine (one libvips thread, which is what the resize Lambda's 1 vCPU gives too) by
// bench/avif.mjs (AVIF per effort and JPEG, 2048 px wide photos) and, the same way, for WebP,
// PNG and the decode (6 photos of ../shared/corpus, the resize bench's corpus, ~8.8 MP each);
// other machines differ by a factor of two either way. Good enough
// to say "this spec will not fit in the Lambda's timeout", not to plan capacity.
import { variantGeometry, type Size } from './plan.js';
import type { OutputFormat, Spec } from './spec.js';

/** What "an image" means in the estimate and the warning: a 12 MP 4:3 camera photo. */
const REFERENCE_SOURCE: Size = { width: 4000, height: 3000 };

/**
 * Seconds per output megapixel by sharp's AVIF effort, quality 50: bench/avif.mjs's medians divided by
 * the mean megapixels (efforts 0-5: 20 photos, 3.04 MP; 6-9: the 4 test photos, 2.69 MP).
 */
const AVIF_SECONDS_PER_MP: Record<number, number> = {
  0: 0.09, 1: 0.14, 2: 0.25, 3: 0.35, 4: 1.56, 5: 2.26, 6: 3.6, 7: 6.0, 8: 6.4, 9: 14.0,
};

/**
 * Seconds per output megapixel for the other encoders (JPEG q80, WebP q80, PNG). JPEG measured 0.012
 * in bench/avif.mjs and 0.025 beside WebP/PNG: the higher is kept, this only ever warns.
 */
const SECONDS_PER_MP: Record<'jpeg' | 'webp' | 'png', number> = { jpeg: 0.025, webp: 0.1, png: 0.05 };

/** Decode plus the resize to 2048 px wide, per source megapixel. */
const DECODE_SECONDS_PER_SOURCE_MP = 0.03;

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
