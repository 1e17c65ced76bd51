// Where a pipeline run goes: the embedded local stack (this folder's running `imgpipe dev`, one
// named with --local=PATH|URL, or one started in this process for the run), or a deployed API
// and bucket on AWS or any S3-compatible store.
import type { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import type { PipelineConfig } from '../config/load.js';
import { localPipeline } from '../core/destination.js';
import { UsageError } from '../core/errors.js';
import type { Spec } from '../core/spec.js';
import type { Manifest } from '../files/manifest.js';
import type { LocalStack } from '../local/stack.js';
import { DEFAULT_DATA_DIR, findFolderStack, findNamedStack, runningStacks, whoseStack, type FoundStack } from '../local/state.js';
import type { S3Target } from '../s3/client.js';
import { isLoopbackUrl } from '../core/local-keys.js';
import { localBacklog, queueBacklog, type Backlog } from './queue-backlog.js';
import { configuredS3Endpoint, localKeysMayGo, refuseLocalKeysInEnv } from '../s3/local-keys.js';

export interface TargetFlags {
  /** true: this folder's stack; a string (--local=PATH|URL): the running `dev` it names. */
  local?: boolean | string;
  api?: string;
  destBucket?: string;
  endpoint?: string;
  region?: string;
  data?: string;
}

export interface PipelineTarget {
  api?: string;
  apiKey?: string;
  /** The S3 client, made on the first call: the SDK takes about 0.3 s to load, and an upload without --wait never reads S3. */
  s3(): Promise<S3Client>;
  destBucket: string;
  /** The CDN's base URL, when there is one (on AWS, imgpipe.config.json's `cdn`, which `deploy` writes; locally, the running `dev`'s): a variant's public URL is `<cdn>/<key>`. */
  cdn?: string;
  /** Where the photos are, when known (the local stack's; on AWS, imgpipe.config.json's, which `deploy` writes): `reprocess --all` lists it. */
  sourceBucket?: string;
  endpoint?: string;
  region?: string;
  local: boolean;
  /** Of these source keys, how many the pipeline's queue holds and how many it is resizing (the local stack's POST /backlog; on AWS the whole queue's depth). */
  backlog?: (keys: string[]) => Promise<Backlog>;
  /** Which pipeline this is, stable across runs (the ledger files uploads under it; see core/destination.ts). */
  pipeline: string;
  /** How the run reached the local stack, for the user. */
  description: string;
  /** Something the user should know about the choice (another folder's `dev` runs too). */
  note?: string;
  close(): Promise<void>;
}


/** What a running `imgpipe dev` and an in-process stack both provide. */
/** `s3` made on first use, and its `destroy` (a no-op when none was made). */
function lazyS3(config: S3Target): { s3: () => Promise<S3Client>; destroy: () => void } {
  let made: S3Client | undefined;
  let making: Promise<S3Client> | undefined;
  return {
    s3: () => (making ??= import('../s3/client.js').then(({ createS3Client }) => (made = createS3Client(config)))),
    destroy: () => made?.destroy(),
  };
}

type StackEndpoints = Pick<LocalStack, 'apiUrl' | 's3Endpoint' | 'region' | 'credentials' | 'destBucket'> & Partial<Pick<LocalStack, 'sourceBucket' | 'cdnUrl'>>;

function stackTarget(stack: StackEndpoints, dataDir: string, description: string, extra: Partial<PipelineTarget> = {}, stop = async () => {}): PipelineTarget {
  const { s3, destroy } = lazyS3({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
  return {
    api: stack.apiUrl,
    backlog: localBacklog(stack.apiUrl),
    s3,
    destBucket: stack.destBucket,
    ...(stack.cdnUrl && { cdn: stack.cdnUrl }),
    sourceBucket: stack.sourceBucket,
    endpoint: stack.s3Endpoint,
    region: stack.region,
    local: true,
    pipeline: localPipeline(path.resolve(dataDir)),
    description,
    ...extra,
    close: async () => {
      destroy();
      await stop();
    },
  };
}

function runningTarget({ state }: FoundStack): PipelineTarget {
  const whose = whoseStack(state);
  const description = `local stack of ${whose} (\`imgpipe dev\`, pid ${state.pid}) at ${state.apiUrl} (data in ${state.dataDir})`;
  return stackTarget(state, state.dataDir, description, { apiKey: state.apiKey });
}

/** Another folder's `dev`, when this folder has none: named, so the user can choose it. */
async function otherStackNote(): Promise<string | undefined> {
  const [other] = await runningStacks();
  if (!other) return undefined;
  const where = other.root ?? other.dataDir;
  return `\`imgpipe dev\` of ${where} runs too (pid ${other.pid}, ${other.apiUrl}); it is not used unless asked: --local=${where}`;
}

async function localTarget(
  spec: Spec,
  dataDir: string,
  named: string | undefined,
  log?: (line: Record<string, unknown>) => void,
  refused?: (line: string) => void,
): Promise<PipelineTarget> {
  // A refused state file (planted, or not this user's) is as if none were there, said in one line.
  if (named !== undefined) {
    const found = await findNamedStack(named, undefined, undefined, refused);
    if (!found) throw new UsageError(`--local=${named}: no running \`imgpipe dev\` there (give the folder it runs in, its data folder, or its page, API or S3 URL)`);
    return runningTarget(found);
  }
  const found = await findFolderStack(dataDir, undefined, undefined, refused);
  if (found) return runningTarget(found);
  // As when none runs at all: a stack of this folder's own, for this run.
  const note = await otherStackNote();
  // No CDN for it: it stops with this run, and a URL to it would be dead by the time anyone used it.
  const { startLocalStack } = await import('../local/stack.js'); // the server, the API and sharp: only when none runs
  const stack = await startLocalStack({ dataDir, spec, log });
  return stackTarget(stack, dataDir, `embedded local stack started for this run (data in ${dataDir})`, { note }, () => stack.close());
}

export async function resolveTarget(
  flags: TargetFlags,
  config: PipelineConfig,
  spec: Spec,
  opts: { needApi: boolean; manifest?: Manifest; log?: (line: Record<string, unknown>) => void; refused?: (line: string) => void },
): Promise<PipelineTarget> {
  const fromManifest = opts.manifest;
  const local = flags.local ?? (!flags.api && !config.api && !process.env.IMGPIPE_API && fromManifest?.local === true);
  if (local) return localTarget(spec, flags.data ?? DEFAULT_DATA_DIR, typeof flags.local === 'string' ? flags.local : undefined, opts.log, opts.refused);

  const api = flags.api ?? process.env.IMGPIPE_API ?? config.api ?? fromManifest?.api;
  const destBucket = flags.destBucket ?? process.env.IMGPIPE_DEST_BUCKET ?? config.destBucket ?? fromManifest?.destBucket;
  const endpoint = flags.endpoint ?? process.env.IMGPIPE_ENDPOINT ?? config.endpoint ?? fromManifest?.endpoint;
  const region = flags.region ?? config.region ?? fromManifest?.region;
  if (opts.needApi && !api) throw new UsageError('no presign API: pass --api URL (or set "api" in imgpipe.config.json, or IMGPIPE_API), or use --local');
  if (!destBucket) throw new UsageError('no destination bucket: pass --dest-bucket NAME (or "destBucket" in imgpipe.config.json), or use --local');
  // The local stack's keys in the environment go to no API or S3 off this machine, used or not.
  if (api && !isLoopbackUrl(api)) refuseLocalKeysInEnv(`the API at ${api}`);
  if (!localKeysMayGo(endpoint)) refuseLocalKeysInEnv(`S3 at ${endpoint ?? configuredS3Endpoint() ?? 'AWS'}`);
  const { s3, destroy } = lazyS3({ endpoint, region });
  return {
    api,
    apiKey: process.env.IMGPIPE_API_KEY || undefined,
    s3,
    destBucket,
    ...(config.cdn && { cdn: config.cdn }),
    sourceBucket: config.sourceBucket,
    endpoint,
    region,
    local: false,
    ...(config.queue ? { backlog: queueBacklog(config.queue, region) } : {}),
    pipeline: `${api ?? ''} → s3://${destBucket}${endpoint ? ` at ${endpoint}` : ''}`,
    description: `${api ?? ''} → s3://${destBucket}`,
    close: async () => destroy(),
  };
}
