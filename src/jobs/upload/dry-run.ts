// --dry-run's two parts outside the stages (which run as they do for real, sending nothing): which
// pipeline the ledger knows uploads of, found without a request, and what the files that would be
// sent would cost on AWS.
import path from 'node:path';
import type { PipelineConfig } from '../../config/load.js';
import { localPipeline, type Destination } from '../../core/destination.js';
import { batchCost, DEFAULT_DEPLOYMENT, type BatchCost, type Deployment } from '../../core/cost.js';
import type { Size } from '../../core/plan.js';
import { AVIF_EFFORT } from '../../core/resize.js';
import type { Spec } from '../../core/spec.js';
import { alive, findFolderStack, findNamedStack } from '../../local/state.js';
import { resolveTarget } from '../target.js';
import type { FileRecord } from './types.js';

/**
 * Where a dry run's ledger lookups are for: a deployed target is resolved (that only builds a
 * client), a local one is read from `imgpipe dev`'s state file rather than asked (nor started).
 */
export async function dryRunDestination(opts: { local?: boolean | string; data: string }, pipeline: PipelineConfig, spec: Spec): Promise<Destination> {
  if (opts.local) {
    // The same choice as the run's (src/jobs/target.ts), by the state files alone.
    const probe = async (s: { pid: number }) => alive(s.pid);
    const found = typeof opts.local === 'string' ? await findNamedStack(opts.local, undefined, probe) : await findFolderStack(opts.data, undefined, probe);
    return { pipeline: localPipeline(path.resolve(found ? found.state.dataDir : opts.data)), local: true };
  }
  const target = await resolveTarget(opts, pipeline, spec, { needApi: true });
  await target.close();
  return { pipeline: target.pipeline, destBucket: target.destBucket, local: false };
}

/** What resizing the files a dry run would send costs on the template's default deployment. */
export function dryRunCost(records: FileRecord[], spec: Spec): BatchCost & { deployment: Deployment } {
  const sizes: Size[] = records.flatMap((r) => (r.status === 'pending' && r.width && r.height ? [{ width: r.width, height: r.height }] : []));
  return { ...batchCost(sizes, spec, AVIF_EFFORT, DEFAULT_DEPLOYMENT), deployment: DEFAULT_DEPLOYMENT };
}
