// The colour a person would call a photo's colour, for the record's `color` (a page's background
// while the image loads). Not the most frequent histogram bin (sharp's `stats().dominant`): its
// coarse bins made shadows win, so sunny, leafy photos came out #080808. Instead the photo's
// average in CIELAB (perceptual, so the lightness is the one a person sees), its chroma raised
// towards the pixels' own (an average of many hues is greyer than any of them), at most twofold.
const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
// An 8-bit channel has 256 linear values: looked up, not recomputed (a power per channel per pixel).
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => toLinear(v / 255));
// D65 white, sRGB primaries.
const [WX, WY, WZ] = [0.95047, 1, 1.08883];
const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
const fInverse = (t: number) => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));

function labToSrgb(L: number, a: number, b: number): [number, number, number] {
  const fy = (L + 16) / 116;
  const [x, y, z] = [fInverse(fy + a / 500) * WX, fInverse(fy) * WY, fInverse(fy - b / 200) * WZ];
  const R = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const G = -0.969266 * x + 1.8760108 * y + 0.041556 * z;
  const B = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  return [R, G, B].map((v) => Math.round(255 * toGamma(Math.min(1, Math.max(0, v))))) as [number, number, number];
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** `#rrggbb` of RGBA pixels (8-bit, interleaved), each weighted by its alpha. */
export function photoColour(rgba: Uint8Array): string {
  // Per pixel sRGB → Lab, written out: no arrays made per pixel (10,000 of them per photo were
  // most of a resize instance's garbage).
  let sumL = 0, sumA = 0, sumB = 0, sumC = 0, weight = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const w = rgba[i + 3] / 255;
    if (!w) continue;
    const R = LINEAR[rgba[i]], G = LINEAR[rgba[i + 1]], B = LINEAR[rgba[i + 2]];
    const fx = f((0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / WX);
    const fy = f((0.2126729 * R + 0.7151522 * G + 0.072175 * B) / WY);
    const fz = f((0.0193339 * R + 0.119192 * G + 0.9503041 * B) / WZ);
    const a = 500 * (fx - fy), b = 200 * (fy - fz);
    sumL += w * (116 * fy - 16);
    sumA += w * a;
    sumB += w * b;
    sumC += w * Math.hypot(a, b);
    weight += w;
  }
  if (!weight) return '#ffffff';
  const [L, a, b, pixelChroma] = [sumL / weight, sumA / weight, sumB / weight, sumC / weight];
  const chroma = Math.hypot(a, b);
  const boost = chroma > 1 ? Math.min(2, pixelChroma / chroma) : 1;
  return `#${labToSrgb(L, a * boost, b * boost).map(hex).join('')}`;
}
