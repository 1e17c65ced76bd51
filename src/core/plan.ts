// Output geometry, computed from the input's size alone. The engine renders exactly these
// sizes, so a dry run (which decodes nothing) prints what a real run writes.
import type { Spec, Variant } from './spec.js';

export interface Size {
  width: number;
  height: number;
}

export interface VariantGeometry extends Size {
  /** Scale from the (oriented) input needed to render this variant; ≤ 1 unless upscaling is allowed. */
  scale: number;
}

const px = (n: number) => Math.max(1, Math.round(n));

export function variantGeometry(input: Size, variant: Variant, withoutEnlargement: boolean): VariantGeometry {
  const { width: W, height: H } = input;
  const sx = variant.width !== undefined ? variant.width / W : undefined;
  const sy = variant.height !== undefined ? variant.height / H : undefined;

  if (sx === undefined || sy === undefined) {
    // One dimension given: aspect kept whatever the fit.
    let s = (sx ?? sy)!;
    if (withoutEnlargement) s = Math.min(s, 1);
    return { width: variant.width && s === sx ? variant.width : px(W * s), height: variant.height && s === sy ? variant.height : px(H * s), scale: s };
  }

  switch (variant.fit) {
    case 'fill': {
      if (withoutEnlargement && (sx > 1 || sy > 1)) {
        return { width: Math.min(variant.width!, W), height: Math.min(variant.height!, H), scale: Math.min(Math.max(sx, sy), 1) };
      }
      return { width: variant.width!, height: variant.height!, scale: Math.max(sx, sy) };
    }
    case 'cover': {
      // Fills the box, cropping the overflow; never upscaled means the crop shrinks instead.
      let s = Math.max(sx, sy);
      if (withoutEnlargement && s > 1) s = 1;
      return { width: Math.min(variant.width!, px(W * s)), height: Math.min(variant.height!, px(H * s)), scale: s };
    }
    case 'contain': {
      const s = Math.min(sx, sy);
      // Letterboxed into the box; an image smaller than the box keeps its size, unboxed.
      if (withoutEnlargement && s > 1) return { width: W, height: H, scale: 1 };
      return { width: variant.width!, height: variant.height!, scale: s };
    }
    case 'outside':
    case 'inside': {
      let s = variant.fit === 'inside' ? Math.min(sx, sy) : Math.max(sx, sy);
      if (withoutEnlargement) s = Math.min(s, 1);
      return { width: px(W * s), height: px(H * s), scale: s };
    }
  }
}

/** The oriented size after EXIF auto-rotation (orientations 5–8 swap width and height). */
export function orientedSize(stored: Size, orientation: number | undefined, autoRotate: boolean): Size {
  if (autoRotate && orientation !== undefined && orientation >= 5 && orientation <= 8) {
    return { width: stored.height, height: stored.width };
  }
  return stored;
}

/**
 * The one decode every variant is cut from: the input scaled to the largest scale any variant
 * needs (≤ 1), so small variants never force a full-size decode and none is upscaled from it.
 */
export function intermediateSize(input: Size, spec: Spec): Size {
  const scale = Math.min(1, Math.max(...spec.variants.map((v) => variantGeometry(input, v, spec.withoutEnlargement).scale)));
  if (scale >= 1) return input;
  // The epsilon keeps float noise (4352 × 2048/4352 = 2048.0000000000002) from adding a pixel.
  const up = (n: number) => Math.ceil(n - 1e-6);
  return { width: Math.min(input.width, up(input.width * scale)), height: Math.min(input.height, up(input.height * scale)) };
}

/** The variant with the fewest pixels: the thumbnail, and the cheapest to read for a placeholder. */
export function smallestVariant<T extends { width: number; height: number }>(variants: T[]): T {
  return variants.reduce((a, b) => (b.width * b.height < a.width * a.height ? b : a));
}
