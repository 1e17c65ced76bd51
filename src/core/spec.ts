// The variant spec: which outputs every source image gets. One schema, read by the CLI
// (config file + flags) and by the resize Lambda (env), so both produce the same outputs.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EXIT, ImgpipeError } from './errors.js';

export const FITS = ['cover', 'contain', 'inside', 'outside', 'fill'] as const;
export const OUTPUT_FORMATS = ['jpeg', 'webp', 'avif', 'png', 'same'] as const;

export type Fit = (typeof FITS)[number];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Other names people write for an output format (only formats that exist: TIFF is read, never written). */
const FORMAT_ALIASES: Record<string, OutputFormat> = { jpg: 'jpeg' };

/** `jpg` → `jpeg`, any case; anything else unchanged, for the schema to judge. */
export function normalizeFormat(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  return FORMAT_ALIASES[v] ?? ((OUTPUT_FORMATS as readonly string[]).includes(v) ? v : value);
}

export function formatProblem(value: unknown): string {
  const tiff = typeof value === 'string' && /^tiff?$/i.test(value.trim()) ? ' (TIFF is read, not written)' : '';
  return `${JSON.stringify(value)} is not one of ${OUTPUT_FORMATS.join(', ')}${tiff}`;
}

const formatSchema = z.preprocess(normalizeFormat, z.enum(OUTPUT_FORMATS, { error: (issue) => formatProblem(issue.input) }));

const variantSchema = z
  .strictObject({
    // The name becomes the first segment of every output key, so keep it key-safe.
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "-" or "_"'),
    width: z.number().int().min(1).max(16384).optional(),
    height: z.number().int().min(1).max(16384).optional(),
    fit: z.enum(FITS).default('inside'),
    format: formatSchema.default('jpeg'),
    quality: z.number().int().min(1).max(100).default(80),
  })
  .refine((v) => v.width !== undefined || v.height !== undefined, { message: 'needs a width or a height' });

const specSchema = z
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

/** The default spec's variants: these widths, JPEG q80, fit inside (widthVariants's defaults). */
export const DEFAULT_WIDTHS: readonly number[] = [320, 1024, 2048];

export function widthVariants(widths: readonly number[], format: OutputFormat = 'jpeg', quality = 80, fit: Fit = 'inside'): SpecInput['variants'] {
  return widths.map((width) => ({ name: String(width), width, fit, format, quality }));
}

export const DEFAULT_SPEC: Spec = parseSpec({ variants: widthVariants(DEFAULT_WIDTHS) });

/** A variant spec that does not parse: one line per problem. A config problem, so exit 2. */
export class SpecError extends ImgpipeError {
  override name = 'SpecError';
  constructor(message: string) {
    super(message, 'InvalidSpec', EXIT.usage);
  }
}

/** Edit distance with adjacent transpositions (`widht` → `width` is 1). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key a typo most likely meant, if one is close enough. */
function suggestKey(key: string, known: readonly string[]): string | undefined {
  const scored = known.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((x, y) => x.d - y.d);
  const best = scored[0];
  return best && best.d <= Math.max(1, Math.min(2, Math.floor(best.k.length / 3))) ? best.k : undefined;
}

const VARIANT_KEYS = ['name', 'width', 'height', 'fit', 'format', 'quality'] as const;
export const SPEC_KEYS = ['variants', 'withoutEnlargement', 'autoRotate', 'keepIccProfile', 'maxInputPixels'] as const;

/** The fields a spec object at this path may have: a variant's, or the spec's own. */
function specKeysAt(path: readonly PropertyKey[]): readonly string[] {
  return path.length === 2 && path[0] === 'variants' ? VARIANT_KEYS : path.length === 0 ? SPEC_KEYS : [];
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/** One line per problem, each naming the field, e.g. `variants[1].width: must be ≥ 1`; unknown fields get a "did you mean". */
export function formatIssues(error: z.ZodError, where?: string, keysAt: (path: readonly PropertyKey[]) => readonly string[] = specKeysAt): string {
  const prefix = where ? `${where}: ` : '';
  return error.issues
    .flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => {
          const near = suggestKey(key, keysAt(issue.path));
          return `${prefix}${fieldName([...issue.path, key])}: unknown field${near ? `; did you mean "${near}"?` : ''}`;
        });
      }
      return [`${prefix}${fieldName(issue.path) || '(top level)'}: ${issue.message}`];
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
