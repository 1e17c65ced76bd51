// The variant spec: which outputs every source image gets. One schema, read by the CLI
// (config file + flags) and by the resize Lambda (env), so both produce the same outputs.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const FITS = ['cover', 'contain', 'inside', 'outside', 'fill'] as const;
export const OUTPUT_FORMATS = ['jpeg', 'webp', 'avif', 'png', 'same'] as const;

export type Fit = (typeof FITS)[number];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const variantSchema = z
  .strictObject({
    // The name becomes the first segment of every output key, so keep it key-safe.
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "-" or "_"'),
    width: z.number().int().min(1).max(16384).optional(),
    height: z.number().int().min(1).max(16384).optional(),
    fit: z.enum(FITS).default('inside'),
    format: z.enum(OUTPUT_FORMATS).default('jpeg'),
    quality: z.number().int().min(1).max(100).default(80),
  })
  .refine((v) => v.width !== undefined || v.height !== undefined, { message: 'needs a width or a height' });

export const specSchema = z
  .strictObject({
    variants: z
      .array(variantSchema)
      .min(1, 'needs at least one variant')
      .max(32)
      .refine((vs) => new Set(vs.map((v) => v.name)).size === vs.length, { message: 'variant names must be unique' }),
    withoutEnlargement: z.boolean().default(true),
    autoRotate: z.boolean().default(true),
    keepIccProfile: z.boolean().default(true),
    maxInputPixels: z.number().int().min(1).default(100_000_000),
  });

export type Variant = z.output<typeof variantSchema>;
export type Spec = z.output<typeof specSchema>;
export type SpecInput = z.input<typeof specSchema>;

export const DEFAULT_WIDTHS = [320, 1024, 2048];

export function widthVariants(widths: number[], format: OutputFormat = 'jpeg', quality = 80, fit: Fit = 'inside'): SpecInput['variants'] {
  return widths.map((width) => ({ name: String(width), width, fit, format, quality }));
}

export const DEFAULT_SPEC: Spec = parseSpec({ variants: widthVariants(DEFAULT_WIDTHS) });

export class SpecError extends Error {
  override name = 'SpecError';
}

/** One line per problem, each naming the field, e.g. `variants[1].width: must be ≥ 1`. */
export function formatIssues(error: z.ZodError, where?: string): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.reduce<string>(
        (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
        '',
      );
      return `${where ? `${where}: ` : ''}${field || '(top level)'}: ${issue.message}`;
    })
    .join('\n');
}

export function parseSpec(input: unknown, where?: string): Spec {
  const result = specSchema.safeParse(input);
  if (!result.success) throw new SpecError(formatIssues(result.error, where));
  return result.data;
}

/** A short, stable name for a spec (sorted-key JSON, SHA-256, 16 hex): records carry it so a client can tell which spec made them. */
export function specHash(spec: Spec): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(sorted(spec))).digest('hex').slice(0, 16);
}
