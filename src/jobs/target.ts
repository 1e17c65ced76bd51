// Where a pipeline run goes: the embedded local stack (a running `imgpipe dev`, or one started
// in this process for the run), or a deployed API and bucket on AWS or any S3-compatible store.
import type { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import type { PipelineConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import type { Spec } from '../core/spec.js';
import type { Manifest } from '../files/manifest.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { DEFAULT_DATA_DIR, findAnyRunningStack } from '../local/state.js';
import { createS3Client } from '../s3/client.js';

export interface TargetFlags {
  local?: boolean;
  api?: string;
  destBucket?: string;
  endpoint?: string;
  region?: string;
  data?: string;
}

export interface PipelineTarget {
  api?: string;
  apiKey?: string;
  s3: S3Client;
  destBucket: string;
  endpoint?: string;
  region?: string;
  local: boolean;
  /** Which pipeline this is, stable across runs (see Manifest.target). */
  identity: string;
  /** How the run reached the local stack, for the user. */
  description: string;
  close(): Promise<void>;
}

/** What a running `imgpipe dev` and an in-process stack both provide. */
type StackEndpoints = Pick<LocalStack, 'apiUrl' | 's3Endpoint' | 'region' | 'credentials' | 'destBucket'>;

function stackTarget(stack: StackEndpoints, dataDir: string, description: string, extra: Partial<PipelineTarget> = {}, stop = async () => {}): PipelineTarget {
  const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
  return {
    api: stack.apiUrl,
    s3,
    destBucket: stack.destBucket,
    endpoint: stack.s3Endpoint,
    region: stack.region,
    local: true,
    identity: `local:${path.resolve(dataDir)}`,
    description,
    ...extra,
    close: async () => {
      s3.destroy();
      await stop();
    },
  };
}

async function localTarget(spec: Spec, dataDir: string, log?: (line: Record<string, unknown>) => void): Promise<PipelineTarget> {
  // ./.imgpipe/dev.json first, then the user state directory: a `dev` running in another folder.
  const found = await findAnyRunningStack(dataDir);
  if (found) {
    const { state: running } = found;
    const description = `local stack of \`imgpipe dev\` (pid ${running.pid}) at ${running.apiUrl} (data in ${running.dataDir})`;
    return stackTarget(running, running.dataDir, description, { apiKey: running.apiKey });
  }
  const stack = await startLocalStack({ dataDir, spec, log });
  return stackTarget(stack, dataDir, `embedded local stack started for this run (data in ${dataDir})`, {}, () => stack.close());
}

export async function resolveTarget(
  flags: TargetFlags,
  config: PipelineConfig,
  spec: Spec,
  opts: { needApi: boolean; manifest?: Manifest; log?: (line: Record<string, unknown>) => void },
): Promise<PipelineTarget> {
  const fromManifest = opts.manifest;
  const local = flags.local ?? (!flags.api && !config.api && !process.env.IMGPIPE_API && fromManifest?.local === true);
  if (local) return localTarget(spec, flags.data ?? DEFAULT_DATA_DIR, opts.log);

  const api = flags.api ?? process.env.IMGPIPE_API ?? config.api ?? fromManifest?.api;
  const destBucket = flags.destBucket ?? process.env.IMGPIPE_DEST_BUCKET ?? config.destBucket ?? fromManifest?.destBucket;
  const endpoint = flags.endpoint ?? process.env.IMGPIPE_ENDPOINT ?? config.endpoint ?? fromManifest?.endpoint;
  const region = flags.region ?? config.region ?? fromManifest?.region;
  if (opts.needApi && !api) throw new UsageError('no presign API: pass --api URL (or set "api" in imgpipe.config.json, or IMGPIPE_API), or use --local');
  if (!destBucket) throw new UsageError('no destination bucket: pass --dest-bucket NAME (or "destBucket" in imgpipe.config.json), or use --local');
  const s3 = createS3Client({ endpoint, region });
  return {
    api,
    apiKey: process.env.IMGPIPE_API_KEY || undefined,
    s3,
    destBucket,
    endpoint,
    region,
    local: false,
    identity: `${api ?? ''} → s3://${destBucket}${endpoint ? ` at ${endpoint}` : ''}`,
    description: `${api ?? ''} → s3://${destBucket}`,
    close: async () => s3.destroy(),
  };
}
