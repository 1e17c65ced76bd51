// `imgpipe deploy`: build both zips, stage them, then create or update the stack through a change
// set, showing what it will do, following its events, and writing its outputs into the config.
import type { Stack } from '@aws-sdk/client-cloudformation';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writePipelineConfig } from '../../config/write.js';
import type { Spec } from '../../core/spec.js';
import { ImgpipeError, UsageError } from '../../core/errors.js';
import { formatBytes } from '../../core/bytes.js';
import { } from '../errors.js';
import { buildPackage, type LambdaPackage } from '../package.js';
import { projectRoot } from '../paths.js';
import type { DeployProgress, DeployReport, ShownEvent } from '../progress.js';
import { DEFAULT_RESIZE_CONCURRENCY, HANDLERS, type HandlerName, type LambdaArch, type LambdaRuntime } from '../../core/pipeline-defaults.js';
import { accountConcurrency, checkConcurrency, concurrencyNote, type ConcurrencyCheck } from './concurrency.js';
import { assertBucketsFree, ensureCodeBucket, keepZip, stageZip, STAGED_ZIP_DAYS, zipPresent, type StagedZip } from './artifacts.js';
import { createChangeSet, deleteChangeSet, executeChangeSet, findStack, DEFAULT_TIMING, type ResourceChange, type Timing } from './change-set.js';
import { accountOf, openStackClients, type StackClients } from '../clients.js';
import { changeAndFollow, failureCause, SUCCESS_STATES } from './events.js';
import { artifactKey, checkBucketName, defaultCodeBucket, defaultDestBucket, defaultSourceBucket } from './names.js';
import { stackOutputs, type StackOutputs } from './outputs.js';
import { checkLifecycle, LIFECYCLE_DEFAULTS, type Lifecycle, type OriginalsStorageClass } from './lifecycle.js';
import { shownParameters, stackParameters, type StackSettings } from './parameters.js';
import { changedParameters, checkStackState, currentTemplate, deleteNewStack, existingParameter } from './state.js';

export interface StackDeployRequest {
  stack: string;
  region?: string;
  arch: LambdaArch;
  runtime: LambdaRuntime;
  dryRun: boolean;
  codeBucket?: string;
  sourceBucket?: string;
  destBucket?: string;
  keyPrefix: string;
  spec: Spec;
  dedupe: boolean;
  /** false: no CDN (--no-cdn); undefined: the stack's current choice, else on. */
  cdn?: boolean;
  corsOrigins: string[];
  /** --resize-concurrency; undefined keeps the stack's, or the template's default on a first deploy. */
  resizeConcurrency?: number;
  /** --originals-transition-days, --originals-storage-class, --failed-record-days; each one undefined keeps the stack's, else the template's default. */
  lifecycle?: Partial<Lifecycle>;
  /** From IMGPIPE_API_KEY; undefined keeps the stack's. */
  apiKey?: string;
  /** imgpipe.config.json to merge the outputs into. */
  configFile: string;
}

export interface StackDeploySummary extends DeployReport {
  action: 'created' | 'updated' | 'unchanged' | 'dry-run';
  stack: string;
  region: string;
  account: string;
  changeSet?: { name: string; changes: ResourceChange[] };
  artifacts: Artifact[];
  parameters: Record<string, string>;
  /** Update only: the parameters whose values change (the API key's value is never shown). */
  changedParameters?: string[];
  /** The resize's concurrency bound against the account's (undefined when Lambda would not say). */
  concurrency?: ConcurrencyCheck;
  events: ShownEvent[];
  outputs?: StackOutputs;
  /** Outputs the stack should give and did not (ApiUrl: without it `upload` has no API to call); `ok` is then false. */
  missingOutputs?: string[];
  config?: string;
  /** The keys written into the config. */
  configKeys?: string[];
}

export interface Artifact {
  handler: string;
  key: string;
  sha256: string;
  bytes: number;
  status: StagedZip['status'] | 'would upload';
}

export interface StackDeployDeps {
  clients?: StackClients;
  timing?: Timing;
  cacheDir?: string;
  templateFile?: string;
  /** Tests hand in packages built once; the CLI builds them here. */
  build?: (handler: HandlerName) => Promise<LambdaPackage>;
}

interface Context {
  r: StackDeployRequest;
  c: StackClients;
  steps: DeployProgress;
  timing: Timing;
  region: string;
  account: string;
  existing?: Stack;
}

/** Bucket names: flag or config, else what the stack already uses, else derived from stack, account and region. */
function settingsFor(x: Context, codeBucket: string, zips: LambdaPackage[]): StackSettings {
  const place = { stack: x.r.stack, account: x.account, region: x.region };
  const sourceBucket = x.r.sourceBucket ?? existingParameter(x.existing, 'SourceBucketName') ?? defaultSourceBucket(place);
  const destBucket = x.r.destBucket ?? existingParameter(x.existing, 'DestBucketName') ?? defaultDestBucket(place);
  checkBucketName(sourceBucket, 'source bucket');
  checkBucketName(destBucket, 'destination bucket');
  if (sourceBucket === destBucket) throw new ImgpipeError('the source and destination buckets must differ (the variants would trigger the resize again, forever)', 'RecursiveTrigger');
  const [resize, presign, recorder] = zips;
  const stackConcurrency = Number(existingParameter(x.existing, 'ResizeConcurrency')) || undefined;
  const lifecycle = lifecycleFor(x);
  return {
    sourceBucket,
    destBucket,
    codeBucket,
    resizeKey: artifactKey('resize', x.r.arch, resize.sha256),
    presignKey: artifactKey('presign', x.r.arch, presign.sha256),
    failureRecorderKey: artifactKey('failure-recorder', x.r.arch, recorder.sha256),
    resizeConcurrency: x.r.resizeConcurrency ?? stackConcurrency ?? DEFAULT_RESIZE_CONCURRENCY,
    arch: x.r.arch,
    runtime: x.r.runtime,
    keyPrefix: x.r.keyPrefix,
    spec: x.r.spec,
    dedupe: x.r.dedupe,
    cdn: x.r.cdn ?? existingParameter(x.existing, 'Cdn') !== 'false',
    corsOrigins: x.r.corsOrigins,
    lifecycle,
    apiKey: x.r.apiKey,
  };
}

/** Each lifecycle setting: the flag, else the stack's, else the template's default; refused before anything is staged when S3 would refuse it. */
function lifecycleFor(x: Context): Lifecycle {
  const stackDays = (key: string) => {
    const v = existingParameter(x.existing, key);
    return v === undefined ? undefined : Number(v);
  };
  const lifecycle: Lifecycle = {
    originalsTransitionDays: x.r.lifecycle?.originalsTransitionDays ?? stackDays('OriginalsTransitionDays') ?? LIFECYCLE_DEFAULTS.originalsTransitionDays,
    originalsStorageClass: x.r.lifecycle?.originalsStorageClass ?? (existingParameter(x.existing, 'OriginalsStorageClass') as OriginalsStorageClass | undefined) ?? LIFECYCLE_DEFAULTS.originalsStorageClass,
    failedRecordDays: x.r.lifecycle?.failedRecordDays ?? stackDays('FailedRecordDays') ?? LIFECYCLE_DEFAULTS.failedRecordDays,
  };
  const bad = checkLifecycle(lifecycle);
  if (bad) throw new UsageError(bad);
  return lifecycle;
}

/** Say when the resize's bound is over what the account leaves unreserved; a failed look is said too, and stops nothing. */
async function checkResizeConcurrency(x: Context, wanted: number): Promise<ConcurrencyCheck | undefined> {
  if (!x.c.lambda) return undefined;
  let account;
  try {
    account = await accountConcurrency(x.c.lambda);
  } catch (err) {
    x.steps.note(`  note: ResizeConcurrency ${wanted} not checked against the account: ${(err as Error).message}`);
    return undefined;
  }
  const check = checkConcurrency(wanted, account);
  const note = concurrencyNote(check);
  if (note) x.steps.note(`  note: ${note}`);
  return check;
}

async function buildZips(x: Context, deps: StackDeployDeps): Promise<LambdaPackage[]> {
  const build = (handler: HandlerName) =>
    x.steps.run(
      `Building the ${handler} package (${x.r.arch}, ${x.r.runtime})`,
      () => deps.build?.(handler) ?? buildPackage({ handler, arch: x.r.arch, runtime: x.r.runtime, cacheDir: deps.cacheDir }),
      (p) => `${formatBytes(p.bytes)} zip, sha256 ${p.sha256.slice(0, 12)}…`,
    );
  const built: LambdaPackage[] = [];
  for (const handler of HANDLERS) built.push(await build(handler));
  return built;
}

/** Stage both zips (or, in a dry run, only look whether they are there). */
async function stageZips(x: Context, bucket: string, zips: LambdaPackage[], keys: string[]): Promise<Artifact[]> {
  const derivedBucket = !x.r.codeBucket;
  if (x.r.dryRun) {
    return Promise.all(
      zips.map(async (z, i) => {
        const present = await zipPresent(x.c.s3, bucket, keys[i]);
        return { handler: z.handler, key: keys[i], sha256: z.sha256, bytes: z.bytes, status: present ? ('present' as const) : ('would upload' as const) };
      }),
    );
  }
  await x.steps.run(`Artifacts bucket s3://${bucket}`, () => ensureCodeBucket(x.c.s3, bucket, x.region, derivedBucket), (s) => (s === 'created' ? `created (private, encrypted, TLS only, zips expire after ${STAGED_ZIP_DAYS} days)` : 'found'));
  const staged: Artifact[] = [];
  for (const [i, z] of zips.entries()) {
    const s = await x.steps.run(`Staging the ${z.handler} zip`, () => stageZip(x.c.s3, bucket, keys[i], z.zip, z.codeSha256), (s) => `${s.status === 'present' ? 'already there' : `uploaded ${formatBytes(s.bytes)}`}: ${s.key.replace(/([0-9a-f]{12})[0-9a-f]{52}/, '$1…')}`);
    staged.push({ handler: z.handler, key: s.key, sha256: z.sha256, bytes: s.bytes, status: s.status });
  }
  return staged;
}

const CODE_KEYS = [
  ['resize', 'ResizeCodeKey', 'resizeKey'],
  ['presign', 'PresignCodeKey', 'presignKey'],
  ['failure-recorder', 'FailureRecorderCodeKey', 'failureRecorderKey'],
] as const;

/** The zips the stack runs now and this update replaces: a failed update rolls back to them, so they must outlive it (STAGED_ZIP_DAYS). */
async function keepRollbackZips(x: Context, settings: StackSettings): Promise<void> {
  const bucket = existingParameter(x.existing, 'CodeBucket');
  for (const [handler, parameter, setting] of CODE_KEYS) {
    const key = existingParameter(x.existing, parameter);
    if (!bucket || !key || (bucket === settings.codeBucket && key === settings[setting])) continue;
    if ((await keepZip(x.c.s3, bucket, key)) === 'gone') {
      x.steps.note(`  note: the ${handler} zip the stack runs now is no longer in s3://${bucket} (staged zips expire after ${STAGED_ZIP_DAYS} days): should this update fail, CloudFormation cannot roll ${handler} back to it`);
    }
  }
}

export async function deployStack(r: StackDeployRequest, steps: DeployProgress, deps: StackDeployDeps = {}): Promise<StackDeploySummary> {
  const calls: string[] = [];
  const { c, close } = await openStackClients(r.region, deps.clients, calls);
  try {
    const region = await c.cfn.config.region();
    const account = await accountOf(c.sts);
    const existing = await findStack(c.cfn, r.stack);
    checkStackState(r.stack, region, existing);
    const x: Context = { r, c, steps, timing: deps.timing ?? DEFAULT_TIMING, region, account, existing };
    return await deployWith(x, calls, deps);
  } finally {
    close();
  }
}

async function deployWith(x: Context, calls: string[], deps: StackDeployDeps): Promise<StackDeploySummary> {
  const { r, c } = x;
  const zips = await buildZips(x, deps);
  const codeBucket = r.codeBucket ?? defaultCodeBucket({ account: x.account, region: x.region });
  const settings = settingsFor(x, codeBucket, zips);
  const live = x.existing && x.existing.StackStatus !== 'REVIEW_IN_PROGRESS';
  if (!live) {
    await assertBucketsFree(c.s3, [
      { name: settings.sourceBucket, flag: '--source-bucket' },
      { name: settings.destBucket, flag: '--dest-bucket' },
    ]);
  }
  const artifacts = await stageZips(x, codeBucket, zips, [settings.resizeKey, settings.presignKey, settings.failureRecorderKey]);
  if (live && !r.dryRun) await keepRollbackZips(x, settings);
  const parameters = stackParameters(settings, !!live);
  const template = await readFile(deps.templateFile ?? path.join(projectRoot(), 'infra', 'template.yaml'), 'utf8');
  const summary: StackDeploySummary = {
    ok: true,
    action: 'unchanged',
    stack: r.stack,
    region: x.region,
    account: x.account,
    artifacts,
    parameters: shownParameters(parameters),
    events: [],
    calls,
    steps: x.steps.records,
  };
  summary.concurrency = await checkResizeConcurrency(x, settings.resizeConcurrency);
  if (live) {
    summary.changedParameters = changedParameters(x.existing, parameters);
    // Same template, same parameters: nothing can change, and a change set would take a while to say so.
    if (!summary.changedParameters.length && (await currentTemplate(c.cfn, x.existing?.StackId ?? r.stack)) === template) {
      x.steps.skip(`Change set for stack ${r.stack}`, 'nothing to change (same template, same parameters)');
      return r.dryRun ? summary : finish(x, summary, x.existing);
    }
    for (const k of summary.changedParameters) x.steps.note(`  ~ parameter ${k}`);
  }
  const outcome = await x.steps.run(
    `Change set for stack ${r.stack} (${live ? 'update' : 'create'})`,
    () => createChangeSet(c.cfn, { stack: r.stack, type: live ? 'UPDATE' : 'CREATE', template, parameters, tags: { 'imgpipe:stack': r.stack } }, x.timing),
    (o) => (o.kind === 'empty' ? 'nothing to change' : `${o.changes.length} change${o.changes.length === 1 ? '' : 's'}`),
  );
  if (outcome.kind === 'empty') {
    await deleteChangeSet(c.cfn, r.stack, outcome.name);
    return r.dryRun ? summary : finish(x, summary, x.existing);
  }
  summary.changeSet = { name: outcome.name, changes: outcome.changes };
  x.steps.emit({ type: 'changes', changes: outcome.changes });
  if (r.dryRun) {
    summary.action = 'dry-run';
    await deleteChangeSet(c.cfn, r.stack, outcome.name);
    if (!live) await deleteNewStack(c.cfn, r.stack);
    x.steps.note('dry run: the change set was deleted; nothing was changed');
    return summary;
  }
  return execute(x, summary, outcome.name, outcome.stackId, !!live);
}

async function execute(x: Context, summary: StackDeploySummary, changeSet: string, stackId: string, live: boolean): Promise<StackDeploySummary> {
  const followed = await changeAndFollow(x.c.cfn, stackId, x.timing, x.steps, () => executeChangeSet(x.c.cfn, x.r.stack, changeSet));
  summary.events = followed.events;
  if (!SUCCESS_STATES.has(followed.status)) {
    const cause = failureCause(followed);
    const after = followed.status === 'ROLLBACK_COMPLETE' ? `; the stack is now ROLLBACK_COMPLETE: remove it with \`imgpipe deploy --delete --stack ${x.r.stack}\`, then deploy again` : `; the stack is now ${followed.status}`;
    throw new ImgpipeError(`the ${live ? 'update' : 'create'} failed at ${cause}${after}`, 'StackFailed');
  }
  summary.action = live ? 'updated' : 'created';
  return finish(x, summary);
}

/** Read the outputs (from `unchanged`, the stack as read at the start, when nothing was executed) and merge them into the config file. */
async function finish(x: Context, summary: StackDeploySummary, unchanged?: Stack): Promise<StackDeploySummary> {
  const stack = unchanged ?? (await findStack(x.c.cfn, x.r.stack));
  if (!stack) throw new ImgpipeError(`the stack ${x.r.stack} is gone`, 'NotFound');
  summary.outputs = await stackOutputs(x.c.cfn, stack, x.region);
  // What the stack does give is still written (its buckets are real); a stack without an API is
  // not a working pipeline, so the run ends as a failure that names what is missing.
  if (!summary.outputs.api) [summary.ok, summary.missingOutputs] = [false, ['ApiUrl']];
  const place = { api: summary.outputs.api, destBucket: summary.outputs.destBucket, cdn: summary.outputs.cdn, queue: summary.outputs.queue, region: x.region, stack: x.r.stack };
  await writePipelineConfig(x.r.configFile, place);
  summary.config = x.r.configFile;
  summary.configKeys = Object.entries(place).filter(([, v]) => v !== undefined).map(([k]) => k).sort();
  return summary;
}
