// resize-local: run the Lambda's resize code over local files, writing each variant under
// the output key the Lambda would use, or (dry run) only reporting the plan.
//
// Output keys come from each file's path relative to the folder it was given in (see scan.ts and
// keys.ts), so `resize-local A B` with A/x.jpg and B/x.jpg plans both at <out>/320/x.jpg, and
// photo.jpg beside photo.jpeg does too (both become .jpg). Every output path is planned before
// anything is read or written: inputs whose outputs would land on the same path are all refused,
// one error line each, and the rest of the batch goes on. Files already on disk from an earlier
// run are not clashes: a re-run overwrites its own outputs.
//
// The job prints nothing: it emits ResizeLocalEvents (rendered by src/ui/resize-view.ts) and
// returns a ResizeLocalResult (--json prints it as it is).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { variantPath } from '../core/keys.js';
import { planImage, resizeImage, useHeifCodec, type PlannedOutput, type RenderedOutput, type SourceInfo } from '../core/resize.js';
import type { Spec } from '../core/spec.js';
import { writeFileAtomic } from '../files/atomic.js';
import { withImageInput } from '../files/inspect.js';
import { diskPath, scanPaths, type FoundFile, type ScanResult } from '../files/scan.js';
import { heifWorkers } from './heif-workers.js';
import { slowSpecWarning } from './slow-spec.js';

export interface ResizeLocalOptions {
  paths: string[];
  outDir: string;
  dryRun: boolean;
  concurrency?: number;
  spec: Spec;
  onEvent?: (e: ResizeLocalEvent) => void;
}

/** What resize-local says while it runs, as the upload's events do (src/jobs/upload/events.ts). */
export type ResizeLocalEvent =
  /** The spec is estimated to outlast the resize Lambda's timeout (./slow-spec.ts). */
  | { type: 'warning'; message: string }
  /** The arguments are walked: the images found, and what was passed over (non-image files, and `special` ones: FIFOs, sockets, devices). */
  | { type: 'scan-done'; files: number; skipped: string[]; special: ScanResult['special'] }
  /** An input refused before anything is read: its argument could not be read, or its outputs would overwrite another's. */
  | { type: 'input-refused'; path: string; error: string }
  /** The inputs to resize (or, `dryRun`, to plan) are known: `files` of them (the progress total). */
  | { type: 'resize-start'; files: number; dryRun: boolean }
  /** One input is done: its outputs written (planned), or `status: 'error'` with why. */
  | { type: 'input-done'; input: InputRecord; dryRun: boolean };

export interface OutputRecord extends PlannedOutput {
  key: string;
  path: string;
  bytes?: number;
}

export interface InputRecord {
  path: string;
  relPath: string;
  status: 'ok' | 'error';
  bytes: number;
  source?: Pick<SourceInfo, 'format' | 'width' | 'height' | 'orientation' | 'pages'>;
  /** Outputs written (or, in a dry run, planned); for a failed input, those written before it failed. */
  outputs: OutputRecord[];
  error?: string;
  /** The other inputs whose output paths this one shares; set when it was refused for that. */
  clashesWith?: string[];
}

export interface ResizeLocalResult {
  ok: boolean;
  dryRun: boolean;
  outDir: string;
  files: number;
  succeeded: number;
  failed: number;
  /** Files written (planned, in a dry run). */
  outputs: number;
  bytesIn: number;
  bytesOut: number;
  seconds: number;
  skipped: string[];
  inputs: InputRecord[];
  errors: { path: string; error: string; detail?: string }[];
  /** e.g. the spec would outlast the resize Lambda's timeout; also shown on stderr. */
  warnings: string[];
}

/** Where one input's variants go: variant name → key and path under the output folder. */
type Targets = Map<string, { key: string; path: string }>;

function planTargets(file: FoundFile, spec: Spec, outDir: string): Targets {
  const targets: Targets = new Map();
  for (const v of spec.variants) {
    const key = variantPath(file.relPath, v);
    targets.set(v.name, { key, path: path.join(outDir, ...key.split('/')) });
  }
  return targets;
}

/**
 * Inputs sharing an output path with another input, by index: each with its first shared path
 * (in variant order) and the other inputs involved (in scan order).
 */
function findClashes(files: FoundFile[], targets: Targets[]): Map<number, { output: string; others: string[] }> {
  const owners = new Map<string, number[]>(); // output path → the inputs planning it
  targets.forEach((t, i) => {
    for (const { path: p } of t.values()) owners.set(p, owners.get(p) ?? []).get(p)!.push(i);
  });
  const clashes = new Map<number, { output: string; others: string[] }>();
  targets.forEach((t, i) => {
    const shared = [...t.values()].map((o) => o.path).filter((p) => owners.get(p)!.length > 1);
    if (shared.length === 0) return;
    const others = new Set(shared.flatMap((p) => owners.get(p)!).filter((j) => j !== i));
    clashes.set(i, { output: shared[0], others: [...others].sort((a, b) => a - b).map((j) => files[j].path) });
  });
  return clashes;
}

function clashMessage(output: string, others: string[]): string {
  const none = others.length === 1 ? 'neither is' : 'none of them is';
  return `its output ${output} would overwrite the output of ${others.join(', ')}; ${none} written: resize them in separate runs, each with its own --out, or rename one`;
}

async function processFile(file: FoundFile, targets: Targets, opts: ResizeLocalOptions, errors: ResizeLocalResult['errors'], onEvent: (e: ResizeLocalEvent) => void): Promise<InputRecord> {
  const { spec } = opts;
  const record: InputRecord = { path: file.path, relPath: file.relPath, status: 'ok', bytes: file.size, outputs: [] };
  try {
    const result = await withImageInput(diskPath(file), (input) => (opts.dryRun ? planImage(input, spec) : resizeImage(input, spec)));
    const { format, width, height, orientation, pages } = result.source;
    record.source = { format, width, height, orientation, pages };
    for (const out of result.outputs) {
      const { key, path: target } = targets.get(out.variant)!;
      const { variant, format: f, contentType, width: w, height: h } = out;
      const rec: OutputRecord = { variant, format: f, contentType, width: w, height: h, key, path: target };
      if ('data' in out) {
        const data = (out as RenderedOutput).data;
        await writeFileAtomic(target, data);
        rec.bytes = data.length;
      }
      record.outputs.push(rec);
    }
  } catch (err) {
    // Outputs already written stay listed (they are on disk); in a dry run there are none.
    record.status = 'error';
    record.error = (err as Error).message;
    const detail = (err as { detail?: string }).detail; // the decoder's own words, for --json
    errors.push({ path: file.path, error: record.error, ...(detail ? { detail } : {}) });
  }
  onEvent({ type: 'input-done', input: record, dryRun: opts.dryRun });
  return record;
}

export async function runResizeLocal(opts: ResizeLocalOptions): Promise<ResizeLocalResult> {
  const started = Date.now();
  const onEvent = opts.onEvent ?? (() => {});
  const warning = slowSpecWarning(opts.spec);
  if (warning) onEvent({ type: 'warning', message: warning });
  const warnings = warning ? [warning] : [];
  const outDir = path.resolve(opts.outDir);
  const scan = await scanPaths(opts.paths);
  onEvent({ type: 'scan-done', files: scan.files.length, skipped: scan.skipped, special: scan.special });
  const errors = scan.problems.map((p) => ({ path: p.path, error: p.reason }));
  for (const e of errors) onEvent({ type: 'input-refused', ...e });

  // Plan every output path first: clashing inputs are refused before anything is written.
  const targets = scan.files.map((file) => planTargets(file, opts.spec, outDir));
  const clashes = findClashes(scan.files, targets);
  const refused = new Map<number, InputRecord>();
  for (const [i, { output, others }] of clashes) {
    const file = scan.files[i];
    const error = clashMessage(output, others);
    refused.set(i, { path: file.path, relPath: file.relPath, status: 'error', bytes: file.size, outputs: [], error, clashesWith: others });
    errors.push({ path: file.path, error });
    onEvent({ type: 'input-refused', path: file.path, error });
  }

  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  const limit = pLimit(concurrency);
  // libheif on threads of their own, one per photo at once up to the cores (started on the first HEIC).
  const heif = opts.dryRun ? undefined : heifWorkers(Math.min(concurrency, availableParallelism()));
  if (heif) useHeifCodec(heif);
  onEvent({ type: 'resize-start', files: scan.files.length - refused.size, dryRun: opts.dryRun });
  try {
    const inputs = await Promise.all(
      scan.files.map((file, i) => refused.get(i) ?? limit(() => processFile(file, targets[i], opts, errors, onEvent))),
    );
    return summarize(opts, outDir, started, scan, inputs, errors, warnings);
  } finally {
    if (heif) {
      useHeifCodec();
      await heif.close();
    }
  }
}

function summarize(
  opts: ResizeLocalOptions,
  outDir: string,
  started: number,
  scan: Pick<ScanResult, 'skipped'>,
  inputs: InputRecord[],
  errors: ResizeLocalResult['errors'],
  warnings: string[],
): ResizeLocalResult {
  const outputs = inputs.flatMap((i) => i.outputs);
  return {
    ok: errors.length === 0,
    dryRun: opts.dryRun,
    outDir,
    files: inputs.length,
    succeeded: inputs.filter((i) => i.status === 'ok').length,
    failed: errors.length,
    outputs: outputs.length,
    bytesIn: inputs.reduce((n, i) => n + i.bytes, 0),
    bytesOut: outputs.reduce((n, o) => n + (o.bytes ?? 0), 0),
    seconds: (Date.now() - started) / 1000,
    skipped: scan.skipped,
    inputs,
    errors,
    warnings,
  };
}
