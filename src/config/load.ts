// imgpipe.config.json (or --config FILE) with flags on top. The file holds the variant spec
// and, for the pipeline verbs, where the API and buckets are. Secrets stay in the environment.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { ARCHES, RUNTIMES } from '../core/pipeline-defaults.js';
import {
  DEFAULT_WIDTHS,
  FITS,
  OUTPUT_FORMATS,
  SPEC_KEYS,
  SpecError,
  formatIssues,
  formatProblem,
  normalizeFormat,
  parseSpec,
  widthVariants,
  type Fit,
  type OutputFormat,
  type Spec,
} from '../core/spec.js';

export const CONFIG_FILE = 'imgpipe.config.json';

const pipelineSchema = z.strictObject({
  api: z.url().optional(),
  destBucket: z.string().min(3).max(63).optional(),
  region: z.string().min(1).optional(),
  endpoint: z.url().optional(),
  /** The CDN in front of the variants, written by `deploy`. */
  cdn: z.url().optional(),
  /** The resize queue's URL, written by `deploy`: `watch` shows its depth as the backlog. */
  queue: z.url().optional(),
  // Written and read by `imgpipe deploy`: which stack, and the names it may take from here.
  stack: z.string().min(1).max(128).optional(),
  sourceBucket: z.string().min(3).max(63).optional(),
  codeBucket: z.string().min(3).max(63).optional(),
  corsOrigins: z.array(z.string()).optional(),
  keyPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ or -').optional(),
  arch: z.enum(ARCHES).optional(),
  runtime: z.enum(RUNTIMES).optional(),
});
export type PipelineConfig = z.output<typeof pipelineSchema>;

/** Every top-level field of the config file, for "did you mean". */
const TOP_KEYS = [...SPEC_KEYS, ...Object.keys(pipelineSchema.shape)];

const SPEC_FLAGS = ['widths', 'format', 'quality', 'fit', 'maxPixels'] as const;

export interface SpecFlags {
  widths?: string;
  format?: string;
  quality?: string;
  fit?: string;
  maxPixels?: string;
}

/** Read the config file: the explicit one must exist; the default one is optional. */
export async function readConfigFile(explicit: string | undefined, cwd = process.cwd()): Promise<{ raw: Record<string, unknown>; where?: string }> {
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return { raw: {} };
    throw new UsageError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(jsonProblem(file, text, (err as Error).message));
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: must be a JSON object`);
  return { raw: raw as Record<string, unknown>, where: file };
}

/** Offset → 1-based line and column. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** Where JSON.parse stopped: from its message (Node 20: `at position N`), else by a scan of our own. */
function jsonErrorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const token = /^Unexpected token '(.+?)'/.exec(message);
  if (token) {
    // Node's message quotes the text but not where: the first place parsing up to that token fails.
    for (let i = text.indexOf(token[1]); i >= 0; i = text.indexOf(token[1], i + 1)) {
      if (!validPrefix(text.slice(0, i + token[1].length))) return i;
    }
  }
  return text.trimEnd().length;
}

/** Whether some completion of this text could still be valid JSON (JSON.parse says "end of input"). */
function validPrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    return /end of JSON input/.test((err as Error).message);
  }
}

/** `FILE:LINE:COL: not valid JSON: what`, the way editors and compilers point at a place. */
function jsonProblem(file: string, text: string, message: string): string {
  const what = message
    .replace(/,? ".*" is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/ at position \d+.*$/s, '');
  return `${file}:${lineColumn(text, jsonErrorOffset(text, message))}: not valid JSON: ${what}`;
}

function pick(raw: Record<string, unknown>, keys: readonly string[], include: boolean): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).filter(([k]) => keys.includes(k) === include));
}

function intFlag(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name}: "${value}" is not a positive integer`);
  return Number(value);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`--${name}: "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** `--format jpg` is `jpeg`; `--format tiff` is refused with the formats there are. */
function formatFlag(value: string): OutputFormat {
  const f = normalizeFormat(value);
  if (!OUTPUT_FORMATS.includes(f as OutputFormat)) throw new UsageError(`--format: ${formatProblem(value)}`);
  return f as OutputFormat;
}

function applySpecFlags(raw: Record<string, unknown>, flags: SpecFlags): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const format = flags.format !== undefined ? formatFlag(flags.format) : undefined;
  const fit = flags.fit !== undefined ? oneOf<Fit>('fit', flags.fit, FITS) : undefined;
  const quality = flags.quality !== undefined ? intFlag('quality', flags.quality) : undefined;
  if (flags.widths !== undefined) {
    const widths = flags.widths.split(',').map((w) => intFlag('widths', w));
    out.variants = widthVariants(widths, format ?? 'jpeg', quality ?? 80, fit ?? 'inside');
  } else if (format || fit || quality !== undefined) {
    const base = Array.isArray(out.variants) ? (out.variants as Record<string, unknown>[]) : widthVariants(DEFAULT_WIDTHS);
    out.variants = base.map((v) => ({ ...v, ...(format && { format: format as OutputFormat }), ...(fit && { fit }), ...(quality !== undefined && { quality }) }));
  }
  if (flags.maxPixels !== undefined) out.maxInputPixels = intFlag('max-pixels', flags.maxPixels);
  return out;
}

export interface LoadedConfig {
  spec: Spec;
  /** Whether the user chose the spec (config file or flags), rather than taking the default. */
  specGiven: boolean;
  pipeline: PipelineConfig;
  file?: string;
}

export async function loadConfig(explicit: string | undefined, flags: SpecFlags, cwd = process.cwd()): Promise<LoadedConfig> {
  const { raw, where } = await readConfigFile(explicit, cwd);
  const specRaw = applySpecFlags(pick(raw, SPEC_KEYS, true), flags);
  if (specRaw.variants === undefined) specRaw.variants = widthVariants(DEFAULT_WIDTHS);
  // Every problem of the file at once, one per line: the spec's, then the pipeline fields'.
  const problems: string[] = [];
  let spec: Spec | undefined;
  try {
    spec = parseSpec(specRaw, where ?? 'config');
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    problems.push(err.message);
  }
  const pipelineResult = pipelineSchema.safeParse(pick(raw, SPEC_KEYS, false));
  if (!pipelineResult.success) problems.push(formatIssues(pipelineResult.error, where ?? 'config', (p) => (p.length === 0 ? TOP_KEYS : [])));
  if (problems.length || !spec || !pipelineResult.success) throw new UsageError(problems.join('\n'));
  const specGiven = SPEC_KEYS.some((k) => k in raw) || SPEC_FLAGS.some((k) => flags[k] !== undefined);
  return { spec, specGiven, pipeline: pipelineResult.data, file: where };
}
