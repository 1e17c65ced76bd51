// upload --dry-run: the local checks and the ledger, no request at all, nothing written.
import path from 'node:path';
import type { PipelineConfig } from '../config/load.js';
import { batchCost, costLine, type Deployment } from '../core/cost.js';
import type { Size } from '../core/plan.js';
import { AVIF_EFFORT } from '../core/resize.js';
import type { Spec } from '../core/spec.js';
import { DEFAULT_RESIZE_CONCURRENCY, FUNCTION_DEFAULTS } from '../core/pipeline-defaults.js';
import { inspectFile } from '../files/inspect.js';
import { DEFAULT_LEDGER, Ledger } from '../files/ledger.js';
import { diskPath, scanPaths, walkSkips, walkSkipsText, type PathFilter } from '../files/scan.js';
import { alive, findFolderStack, findNamedStack } from '../local/state.js';
import { formatBytes } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import { resolveTarget } from './target.js';
import { unchangedUpload } from './upload/check.js';
import { scanSkips } from './upload/scan.js';
import { skipLine } from '../ui/upload-view.js';

/**
 * Which pipeline the ledger knows uploads of, found without a request: a deployed target is
 * resolved (that only builds a client), a local one is read from `imgpipe dev`'s state file
 * rather than asked (nor started).
 */
export async function dryRunTarget(opts: { local?: boolean | string; data: string }, pipeline: PipelineConfig, spec: Spec): Promise<string> {
  if (opts.local) {
    // The same choice as the run's (src/jobs/target.ts), by the state files alone.
    const probe = async (s: { pid: number }) => alive(s.pid);
    const found = typeof opts.local === 'string' ? await findNamedStack(opts.local, undefined, probe) : await findFolderStack(opts.data, undefined, probe);
    return `local:${path.resolve(found ? found.state.dataDir : opts.data)}`;
  }
  const target = await resolveTarget(opts, pipeline, spec, { needApi: true });
  await target.close();
  return target.identity;
}

/**
 * The deployed stack as the template's defaults make it (the dry run asks nothing, so it cannot
 * read the stack's own settings): 1769 MB (one vCPU), x86_64, ResizeConcurrency's 5 at once, 100 files a presign.
 */
export const DEFAULT_DEPLOYMENT: Deployment = { memoryMb: FUNCTION_DEFAULTS.resize.memory, arch: 'x86_64', concurrency: DEFAULT_RESIZE_CONCURRENCY, presignBatch: 100 };

interface DryRunFile { path: string; relPath: string; action: 'upload' | 'skip' | 'error'; size?: number; reason?: string }

/**
 * --dry-run: the local checks (magic bytes, size, header) and the ledger, no request at all, no
 * manifest or ledger written. Whether the bucket already holds a file is the API's call, so a file
 * the ledger does not know unchanged is listed as "upload". Returns whether nothing would fail.
 */
export async function dryRunUpload(o: { paths: string[]; spec: Spec; filters?: PathFilter[]; target: string; reporter: Reporter }): Promise<boolean> {
  const { reporter } = o;
  const scan = await scanPaths(o.paths, { filters: o.filters, expandGlobs: true });
  for (const e of scanSkips(scan)) reporter.verbose(skipLine(e));
  const ledger = await Ledger.open(DEFAULT_LEDGER);
  const files: DryRunFile[] = scan.problems.map((p) => ({ path: p.path, relPath: p.path, action: 'error', reason: p.reason }));
  for (const f of files) reporter.error(`error ${f.path}: ${f.reason}`);
  const firstOf = new Map<string, string>();
  const sizes: Size[] = []; // of the files that would be uploaded, for what they cost on AWS
  for (const file of scan.files) {
    const known = unchangedUpload(ledger, o.target, file, file.mtimeMs);
    const one: DryRunFile = { path: file.path, relPath: file.relPath, action: 'upload', size: file.size };
    if (known) {
      Object.assign(one, { action: 'skip', reason: `unchanged since its upload as ${known.key}` });
    } else {
      const inspected = await inspectFile(diskPath(file), o.spec);
      if (!inspected.ok) Object.assign(one, { action: 'error', reason: inspected.reason });
      else if (firstOf.has(inspected.sha256)) Object.assign(one, { action: 'skip', reason: `same bytes as ${firstOf.get(inspected.sha256)}` });
      else {
        firstOf.set(inspected.sha256, file.relPath);
        if (inspected.width && inspected.height) sizes.push({ width: inspected.width, height: inspected.height });
      }
    }
    files.push(one);
    if (one.action === 'error') reporter.error(`error ${one.path}: ${one.reason}`);
    else reporter.step(`(dryrun) ${one.action} ${one.relPath}${one.reason ? `: ${one.reason}` : ''}`);
  }
  const count = (a: DryRunFile['action']) => files.filter((f) => f.action === a).length;
  const bytes = files.reduce((n, f) => n + (f.action === 'upload' ? f.size! : 0), 0);
  const skips = walkSkips(scan);
  // Only a deployed pipeline costs money; the local stack's cost is this machine's time.
  const onAws = o.target.startsWith('local:') ? undefined : batchCost(sizes, o.spec, AVIF_EFFORT, DEFAULT_DEPLOYMENT);
  const doc = { dryRun: true, ok: count('error') === 0, files: files.length, toUpload: count('upload'), skipped: count('skip'), failed: count('error'), bytes, excluded: scan.excluded.length, walkSkipped: skips, ...(onAws ? { aws: { ...onAws, deployment: DEFAULT_DEPLOYMENT } } : {}), uploads: files };
  if (onAws && sizes.length) reporter.info(`(dryrun) ${costLine(onAws, DEFAULT_DEPLOYMENT)}`);
  reporter.summary(
    `(dryrun) ${doc.toUpload} to upload (${formatBytes(bytes)}), ${doc.skipped} skipped, ${doc.failed} failed of ${doc.files} files` +
      (skips.total ? `; ${walkSkipsText(skips)}` : '') +
      (doc.excluded ? `; ${doc.excluded} excluded by filters` : '') +
      '; nothing sent',
  );
  reporter.result(doc);
  return doc.ok;
}
