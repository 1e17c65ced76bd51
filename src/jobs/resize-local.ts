// resize-local: run the Lambda's resize code over local files, writing each variant under
// the output key the Lambda would use, or (dry run) only reporting the plan.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { outputKey } from '../core/keys.js';
import { planImage, resizeImage, type PlannedOutput, type RenderedOutput, type SourceInfo } from '../core/resize.js';
import type { Spec } from '../core/spec.js';
import { writeFileAtomic } from '../files/atomic.js';
import { scanPaths } from '../files/scan.js';
import { formatBytes, formatSeconds } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';

export interface ResizeLocalOptions {
  paths: string[];
  outDir: string;
  dryRun: boolean;
  concurrency?: number;
  spec: Spec;
  reporter: Reporter;
}

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
  outputs: OutputRecord[];
  error?: string;
}

export interface ResizeLocalResult {
  ok: boolean;
  dryRun: boolean;
  outDir: string;
  files: number;
  succeeded: number;
  failed: number;
  outputs: number;
  bytesIn: number;
  bytesOut: number;
  seconds: number;
  skipped: string[];
  inputs: InputRecord[];
  errors: { path: string; error: string }[];
}

export async function runResizeLocal(opts: ResizeLocalOptions): Promise<ResizeLocalResult> {
  const started = Date.now();
  const { reporter, spec } = opts;
  const outDir = path.resolve(opts.outDir);
  const scan = await scanPaths(opts.paths);
  const errors = scan.problems.map((p) => ({ path: p.path, error: p.reason }));
  for (const e of errors) reporter.error(`error ${e.path}: ${e.error}`);

  const limit = pLimit(Math.max(1, opts.concurrency ?? availableParallelism()));
  reporter.start(scan.files.length, opts.dryRun ? 'planning' : 'resizing');

  const inputs = await Promise.all(
    scan.files.map((file) =>
      limit(async (): Promise<InputRecord> => {
        const record: InputRecord = { path: file.path, relPath: file.relPath, status: 'ok', bytes: file.size, outputs: [] };
        try {
                    const result = opts.dryRun ? await planImage(file.path, spec) : await resizeImage(file.path, spec);
          const { format, width, height, orientation, pages } = result.source;
          record.source = { format, width, height, orientation, pages };
          for (const out of result.outputs) {
            const key = outputKey(file.relPath, spec.variants.find((v) => v.name === out.variant)!);
            const target = path.join(outDir, ...key.split('/'));
            const { variant, format: f, contentType, width: w, height: h } = out;
            const rec: OutputRecord = { variant, format: f, contentType, width: w, height: h, key, path: target };
            if ('data' in out) {
              const data = (out as RenderedOutput).data;
              await writeFileAtomic(target, data);
              rec.bytes = data.length;
            }
            record.outputs.push(rec);
          }
          const sizes = record.outputs.map((o) => `${o.key} ${o.width}×${o.height} ${o.format}${o.bytes !== undefined ? ` ${formatBytes(o.bytes)}` : ''}`);
          reporter.step(`${opts.dryRun ? 'plan' : 'ok'} ${file.relPath} (${format} ${width}×${height}) → ${sizes.join(', ')}`, file.relPath);
        } catch (err) {
          record.status = 'error';
          record.error = (err as Error).message;
          record.outputs = [];
          errors.push({ path: file.path, error: record.error });
          reporter.error(`error ${file.path}: ${record.error}`);
          reporter.step('', file.relPath);
        }
        return record;
      }),
    ),
  );
  reporter.stop();

  const ok = inputs.filter((i) => i.status === 'ok');
  const result: ResizeLocalResult = {
    ok: errors.length === 0,
    dryRun: opts.dryRun,
    outDir,
    files: inputs.length,
    succeeded: ok.length,
    failed: errors.length,
    outputs: ok.reduce((n, i) => n + i.outputs.length, 0),
    bytesIn: inputs.reduce((n, i) => n + i.bytes, 0),
    bytesOut: ok.reduce((n, i) => n + i.outputs.reduce((m, o) => m + (o.bytes ?? 0), 0), 0),
    seconds: (Date.now() - started) / 1000,
    skipped: scan.skipped,
    inputs,
    errors,
  };
  const verb = opts.dryRun ? 'planned (dry run, nothing written)' : `written to ${outDir}`;
  reporter.info(
    `${result.succeeded}/${result.files} files, ${result.outputs} outputs ${verb}; ` +
      `${formatBytes(result.bytesIn)} in${opts.dryRun ? '' : `, ${formatBytes(result.bytesOut)} out`}; ` +
      `${formatSeconds(Date.now() - started)}` +
      (result.failed ? `; ${result.failed} failed` : '') +
      (scan.skipped.length ? `; ${scan.skipped.length} non-image files skipped` : ''),
  );
  reporter.result(result);
  return result;
}
