// `imgpipe deploy` against the project's own CloudFormation/STS/S3 endpoint (no moto needed):
// the exact calls, in order, the waits on the change set and the events, what is shown, and
// the failures a user meets (a failed resource, a rollback, a stack in ROLLBACK_COMPLETE).
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ImgpipeError } from '../src/core/errors.js';
import { DEFAULT_SPEC, parseSpec, widthVariants } from '../src/core/spec.js';
import { buildPackage, type LambdaPackage } from '../src/deploy/package.js';
import { findStack } from '../src/deploy/stack/change-set.js';
import type { StackClients } from '../src/deploy/clients.js';
import { deployStack, type StackDeployRequest, type StackDeploySummary } from '../src/deploy/stack/deploy.js';
import { deleteStack } from '../src/deploy/stack/remove.js';
import { DeployProgress } from '../src/deploy/progress.js';
import { DeployView } from '../src/ui/deploy-view.js';
import type { HandlerName } from '../src/core/pipeline-defaults.js';
import { createS3Client } from '../src/s3/client.js';
import { ACCOUNT, CREDENTIALS, REGION, startFakeCloudFormation, type FakeCloudFormation } from './helpers/fake-cloudformation.js';
import { tempDir } from './helpers/images.js';

const STACK = 'photos';
const SOURCE = `photos-uploads-${ACCOUNT}-${REGION}`;
const DEST = `photos-variants-${ACCOUNT}-${REGION}`;
const CODE = `imgpipe-artifacts-${ACCOUNT}-${REGION}`;
const TIMING = { pollMs: 10, timeoutMs: 20_000 };
const API_KEY = 'k3y-that-must-not-leak-7f1c';

const TEMPLATE_ORDER = ['SourceBucket', 'DestBucket', 'SourceBucketPolicy', 'DestBucketPolicy', 'VariantsOriginAccessControl', 'VariantsDistribution', 'ResizeQueue', 'ResizeDeadLetterQueue', 'ResizeQueuePolicy', 'ResizeLogGroup', 'ResizeRole', 'ResizeFunction', 'ResizeEventSourceMapping', 'FailureRecorderLogGroup', 'FailureRecorderRole', 'FailureRecorderFunction', 'FailureRecorderEventSourceMapping', 'PresignLogGroup', 'PresignRole', 'PresignFunction', 'HttpApi', 'PresignIntegration', 'UploadsRoute', 'CompleteRoute', 'SpecRoute', 'VariantsRoute', 'ReprocessRoute', 'PageRoute', 'DefaultStage', 'PresignInvokePermission', 'PresignCompleteInvokePermission', 'PresignSpecInvokePermission', 'PresignVariantsInvokePermission', 'PresignReprocessInvokePermission', 'PresignPageInvokePermission'];
const order = (id: string) => TEMPLATE_ORDER.indexOf(id);
const times = (op: string, n: number): string[] => Array<string>(n).fill(op);

/** Consecutive repeats folded into "op ×n", so a sequence with waits reads as one line per step. */
function runs(ops: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ops.length; ) {
    let j = i;
    while (ops[j] === ops[i]) j++;
    out.push(j - i > 1 ? `${ops[i]} ×${j - i}` : ops[i]);
    i = j;
  }
  return out;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _enc, cb) => ((text += String(chunk)), cb()) }), text: () => text };
}

describe('imgpipe deploy (stack) against the fake CloudFormation', () => {
  let fake: FakeCloudFormation;
  let clients: StackClients;
  let dir: string;
  let configFile: string;
  const packages: Record<string, LambdaPackage> = {};
  let builds: string[] = [];
  const build = async (handler: HandlerName) => (builds.push(handler), packages[handler]);

  beforeAll(async () => {
    // The real packager, once: the zips' hashes make the content-addressed keys.
    const [resize, presign, recorder] = await Promise.all([
      buildPackage({ handler: 'resize', arch: 'x86_64', runtime: 'nodejs22.x' }),
      buildPackage({ handler: 'presign', arch: 'x86_64', runtime: 'nodejs22.x' }),
      buildPackage({ handler: 'failure-recorder', arch: 'x86_64', runtime: 'nodejs22.x' }),
    ]);
    Object.assign(packages, { resize, presign, 'failure-recorder': recorder });
    fake = await startFakeCloudFormation();
    dir = await tempDir('imgpipe-deploy-stack-');
  }, 180_000);
  afterAll(async () => {
    await fake?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    fake.reset();
    builds = [];
    const common = { endpoint: fake.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
    clients = { cfn: new CloudFormationClient(common), sts: new STSClient(common), s3: createS3Client(common) };
    configFile = path.join(dir, `imgpipe.config.${Date.now()}.json`);
    await writeFile(configFile, `${JSON.stringify({ withoutEnlargement: true, mine: 'kept' }, null, 2)}\n`);
  });
  afterEach(() => {
    clients.cfn.destroy();
    clients.s3.destroy();
    clients.sts.destroy();
  });

  const request = (over: Partial<StackDeployRequest> = {}): StackDeployRequest => ({
    stack: STACK,
    arch: 'x86_64',
    runtime: 'nodejs22.x',
    dryRun: false,
    keyPrefix: 'uploads',
    spec: DEFAULT_SPEC,
    dedupe: true,
    corsOrigins: [],
    configFile,
    ...over,
  });

  /** One deploy; its summary or error, and everything it showed. */
  async function deploy(over: Partial<StackDeployRequest> = {}, timing = TIMING): Promise<{ summary?: StackDeploySummary; error?: ImgpipeError; out: string }> {
    const out = sink();
    const steps = new DeployProgress(new DeployView({ json: false, interactive: false, stdout: out.stream, stderr: out.stream }).onEvent);
    try {
      return { summary: await deployStack(request(over), steps, { clients, timing, build }), out: out.text() };
    } catch (error) {
      return { error: error as ImgpipeError, out: out.text() };
    }
  }

  /** A stack already deployed, and a clean record of calls from here on. */
  async function deployed(over: Partial<StackDeployRequest> = {}): Promise<void> {
    const { error } = await deploy(over);
    expect(error).toBeUndefined();
    fake.calls.length = 0;
    builds = [];
  }

  const STAGE_NEW = ['s3:HeadBucket', 's3:CreateBucket', 's3:PutPublicAccessBlock', 's3:PutBucketEncryption', 's3:PutBucketLifecycleConfiguration', 's3:PutBucketPolicy', 's3:HeadObject', 's3:PutObject', 's3:HeadObject', 's3:PutObject', 's3:HeadObject', 's3:PutObject'];
  const STAGE_PRESENT = ['s3:HeadBucket', 's3:HeadObject', 's3:HeadObject', 's3:HeadObject'];

  it('a first deploy: stages the three zips, creates the stack through a change set, follows its events, writes the config', async () => {
    const { summary, out, error } = await deploy();
    expect(error).toBeUndefined();
    expect(summary!.calls).toEqual([
      'sts:GetCallerIdentity',
      'cloudformation:DescribeStacks', // none yet
      's3:HeadBucket', // the new stack's two buckets are free
      's3:HeadBucket',
      ...STAGE_NEW,
      'cloudformation:CreateChangeSet',
      ...times('cloudformation:DescribeChangeSet', 3), // CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE
      'cloudformation:DescribeStackEvents', // the mark to follow from (the stack's id came with the change set)
      'cloudformation:ExecuteChangeSet',
      ...times('cloudformation:DescribeStackEvents', 18), // 35 resources: 71 events, 4 a poll
      'cloudformation:DescribeStacks', // the outputs
    ]);
    expect(fake.ops()).toEqual(summary!.calls);
    expect(builds).toEqual(['resize', 'presign', 'failure-recorder']);
    expect(fake.form('cloudformation:CreateChangeSet')).toMatchObject({ StackName: STACK, ChangeSetType: 'CREATE', 'Capabilities.member.1': 'CAPABILITY_IAM' });
    expect(fake.form('cloudformation:ExecuteChangeSet')).toMatchObject({ StackName: STACK, ChangeSetName: summary!.changeSet!.name });
    // The zips under their content-addressed keys in the artifacts bucket (only the resize's names an architecture: it alone carries native code).
    expect([...fake.aws.buckets.get(CODE)!.objects.keys()].sort()).toEqual([
      `imgpipe/failure-recorder-${packages['failure-recorder'].sha256}.zip`,
      `imgpipe/presign-${packages.presign.sha256}.zip`,
      `imgpipe/resize-x86_64-${packages.resize.sha256}.zip`,
    ]);
    expect(summary!.artifacts.map((a) => a.status)).toEqual(['uploaded', 'uploaded', 'uploaded']);

    const stack = fake.world.find(STACK)!;
    expect(summary).toMatchObject({ ok: true, action: 'created', stack: STACK, region: REGION, account: ACCOUNT, config: configFile });
    expect(summary!.changeSet!.changes).toHaveLength(stack.resources.size);
    expect(summary!.changeSet!.changes.every((c) => c.action === 'Add')).toBe(true);
    expect(out).toContain('  + add    ResizeFunction (AWS::Lambda::Function)\n');
    // Every event after the mark, oldest first, ending with the stack's own CREATE_COMPLETE.
    expect(summary!.events.map((e) => `${e.logicalId} ${e.status}`)).toEqual(stack.events.slice(1).map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`));
    expect(summary!.events.at(-1)).toMatchObject({ logicalId: STACK, status: 'CREATE_COMPLETE', type: 'AWS::CloudFormation::Stack' });
    expect(out).toContain(`  CREATE_COMPLETE      ResizeFunction (AWS::Lambda::Function)\n`);

    const api = `https://${stack.resources.get('HttpApi')!.physicalId}.execute-api.${REGION}.amazonaws.com`;
    // The CDN is on by default: its base URL is the distribution's own domain.
    const cdn = `https://d${stack.resources.get('VariantsDistribution')!.physicalId.slice(1).toLowerCase()}.cloudfront.net`;
    const queue = stack.resources.get('ResizeQueue')!.physicalId; // an SQS queue's physical id is its URL
    expect(summary!.outputs).toEqual({ api, sourceBucket: SOURCE, destBucket: DEST, cdn, queue });
    expect(summary!.parameters.Cdn).toBe('true');
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ withoutEnlargement: true, mine: 'kept', stack: STACK, region: REGION, api, destBucket: DEST, cdn, queue });
    expect(fake.aws.buckets.has(SOURCE) && fake.aws.buckets.has(DEST)).toBe(true);
  });

  it('a second deploy of the same sources: the stack runs this template with these parameters, so no change set and no upload', async () => {
    await deployed();
    await writeFile(configFile, '{"mine":"again"}\n');
    const { summary, error, out } = await deploy();
    expect(error).toBeUndefined();
    // The outputs come from the stack as read at the start: nothing ran since.
    expect(summary!.calls).toEqual(['sts:GetCallerIdentity', 'cloudformation:DescribeStacks', ...STAGE_PRESENT, 'cloudformation:GetTemplate']);
    expect(fake.ops()).toEqual(summary!.calls);
    expect(summary).toMatchObject({ action: 'unchanged', changedParameters: [], artifacts: [{ status: 'present' }, { status: 'present' }, { status: 'present' }] });
    expect(out).toContain('nothing to change (same template, same parameters)');
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toMatchObject({ mine: 'again', stack: STACK, destBucket: DEST });
  });

  it('a spec change: the change set modifies the three functions, in place, and the update runs', async () => {
    await deployed();
    const spec = parseSpec({ variants: widthVariants([200, 800]) });
    const { summary, error, out } = await deploy({ spec });
    expect(error).toBeUndefined();
    expect(runs(summary!.calls)).toEqual([
      'sts:GetCallerIdentity',
      'cloudformation:DescribeStacks',
      's3:HeadBucket',
      's3:HeadObject ×3',
      'cloudformation:CreateChangeSet',
      'cloudformation:DescribeChangeSet ×3',
      'cloudformation:DescribeStackEvents',
      'cloudformation:ExecuteChangeSet',
      'cloudformation:DescribeStackEvents ×2', // 9 events after the mark
      'cloudformation:DescribeStacks',
    ]);
    expect(fake.form('cloudformation:CreateChangeSet')).toMatchObject({ ChangeSetType: 'UPDATE' });
    expect(summary!.changedParameters).toEqual(['VariantSpec']);
    expect(summary!.changeSet!.changes).toEqual([
      { action: 'Modify', logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function', replacement: 'False' },
      // The failure records it writes carry the spec's hash.
      { action: 'Modify', logicalId: 'FailureRecorderFunction', type: 'AWS::Lambda::Function', replacement: 'False' },
      { action: 'Modify', logicalId: 'PresignFunction', type: 'AWS::Lambda::Function', replacement: 'False' },
    ]);
    expect(out).toContain('  ~ parameter VariantSpec\n');
    expect(out).toContain('  ~ modify ResizeFunction (AWS::Lambda::Function)\n');
    expect(out).toContain('  ~ modify PresignFunction (AWS::Lambda::Function)\n');
    expect(summary!.events.map((e) => `${e.logicalId} ${e.status}`)).toEqual([
      `${STACK} UPDATE_IN_PROGRESS`,
      'ResizeFunction UPDATE_IN_PROGRESS',
      'ResizeFunction UPDATE_COMPLETE',
      'FailureRecorderFunction UPDATE_IN_PROGRESS',
      'FailureRecorderFunction UPDATE_COMPLETE',
      'PresignFunction UPDATE_IN_PROGRESS',
      'PresignFunction UPDATE_COMPLETE',
      `${STACK} UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`,
      `${STACK} UPDATE_COMPLETE`,
    ]);
    expect(summary!.action).toBe('updated');
    expect(fake.world.find(STACK)!.parameters.get('VariantSpec')).toBe(JSON.stringify(spec));
  });

  it('a dry run of a new stack: the change set is shown, then it and the empty stack are deleted; nothing is staged', async () => {
    const { summary, error, out } = await deploy({ dryRun: true });
    expect(error).toBeUndefined();
    expect(runs(summary!.calls)).toEqual([
      'sts:GetCallerIdentity',
      'cloudformation:DescribeStacks',
      's3:HeadBucket ×2',
      's3:HeadObject ×3',
      'cloudformation:CreateChangeSet',
      'cloudformation:DescribeChangeSet ×3',
      'cloudformation:DeleteChangeSet',
      'cloudformation:DeleteStack',
    ]);
    expect(fake.ops()).toEqual(summary!.calls);
    expect(summary).toMatchObject({ action: 'dry-run', artifacts: [{ status: 'would upload' }, { status: 'would upload' }, { status: 'would upload' }] });
    expect(out).toContain('  + add    SourceBucket (AWS::S3::Bucket)\n');
    expect(out).toContain('dry run: the change set was deleted; nothing was changed');
    // DeleteStack was of the REVIEW_IN_PROGRESS stack the CREATE change set made: it is gone.
    expect(fake.form('cloudformation:DeleteStack')).toMatchObject({ StackName: STACK });
    expect(await findStack(clients.cfn, STACK)).toBeUndefined();
    expect(fake.world.changeSets).toEqual([]);
    expect(fake.aws.buckets.size).toBe(0);
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ withoutEnlargement: true, mine: 'kept' });
  });

  it('a resource that fails on create: the first failure and its reason, the rollback, and what to do', async () => {
    const reason = 'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey"';
    fake.world.failResource('ResizeFunction', reason);
    const { summary, error, out } = await deploy();
    expect(summary).toBeUndefined();
    expect(error).toBeInstanceOf(ImgpipeError);
    expect(error!.code).toBe('StackFailed');
    expect(error!.message).toBe(
      `the create failed at ResizeFunction (AWS::Lambda::Function): ${reason}; the stack is now ROLLBACK_COMPLETE: remove it with \`imgpipe deploy --delete --stack ${STACK}\`, then deploy again`,
    );
    expect(out).toContain(`  CREATE_FAILED        ResizeFunction (AWS::Lambda::Function): ${reason}\n`);
    expect(out).toContain('Resource creation cancelled');
    expect(fake.world.find(STACK)!.status).toBe('ROLLBACK_COMPLETE');
    expect(fake.ops().at(-1)).toBe('cloudformation:DescribeStackEvents');
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ withoutEnlargement: true, mine: 'kept' });
  });

  it('a stack already in ROLLBACK_COMPLETE: refused before anything is built or staged, saying what to do', async () => {
    fake.world.addStack(STACK, 'ROLLBACK_COMPLETE');
    const { error } = await deploy();
    expect(error!.code).toBe('StackRolledBack');
    expect(error!.message).toBe(
      `the stack ${STACK} (${REGION}) is in ROLLBACK_COMPLETE from an earlier failed create and cannot be updated: remove it with \`imgpipe deploy --delete --stack ${STACK}\` (its buckets are kept), then deploy again`,
    );
    expect(fake.ops()).toEqual(['sts:GetCallerIdentity', 'cloudformation:DescribeStacks']);
    expect(builds).toEqual([]);
  });

  it('a failed update rolls back to UPDATE_ROLLBACK_COMPLETE, named in the error', async () => {
    await deployed();
    fake.world.failResource('PresignFunction', 'Resource handler returned message: "Unzipped size must be smaller than 262144000 bytes"');
    const { error, out } = await deploy({ spec: parseSpec({ variants: widthVariants([200]) }) });
    expect(error!.message).toBe(
      'the update failed at PresignFunction (AWS::Lambda::Function): Resource handler returned message: "Unzipped size must be smaller than 262144000 bytes"; the stack is now UPDATE_ROLLBACK_COMPLETE',
    );
    expect(out).toContain(`  UPDATE_ROLLBACK_COMPLETE ${STACK} (AWS::CloudFormation::Stack)\n`);
    const stack = fake.world.find(STACK)!;
    expect(stack.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(stack.parameters.get('VariantSpec')).toBe(JSON.stringify(DEFAULT_SPEC));
  });

  it('--no-cdn: no CloudFront resources and no CDN in the config; the choice stays until deploy says otherwise, both ways', async () => {
    const cdnParts = ['VariantsOriginAccessControl', 'VariantsDistribution'];
    const changes = (summary?: StackDeploySummary) => summary!.changeSet!.changes.map((c) => `${c.action} ${c.logicalId}`);
    // A stale URL from an earlier stack does not survive a deploy without a CDN.
    await writeFile(configFile, `${JSON.stringify({ mine: 'kept', cdn: 'https://dstale.cloudfront.net' })}\n`);
    const off = await deploy({ cdn: false });
    expect(off.error).toBeUndefined();
    expect(off.summary!.parameters.Cdn).toBe('false');
    const stack = fake.world.find(STACK)!;
    expect([...stack.resources.keys()].filter((id) => cdnParts.includes(id))).toEqual([]);
    expect([...stack.resources.values()].filter((x) => x.type.startsWith('AWS::CloudFront::'))).toEqual([]);
    expect(changes(off.summary)).not.toContain('Add VariantsDistribution');
    expect(off.summary!.outputs?.cdn).toBeUndefined();
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ mine: 'kept', stack: STACK, region: REGION, api: off.summary!.outputs!.api, destBucket: DEST, queue: off.summary!.outputs!.queue });

    // A deploy that does not say keeps the stack's choice: nothing to change.
    const same = await deploy();
    expect(same.summary).toMatchObject({ action: 'unchanged', changedParameters: [], parameters: { Cdn: 'false' } });

    // --cdn puts it back: the two CloudFront resources are added, the bucket policy grants the
    // distribution, and the presign function is told its URL (POST /variants answers with it).
    const on = await deploy({ cdn: true });
    expect(on.error).toBeUndefined();
    expect(on.summary!.changedParameters).toEqual(['Cdn']);
    expect(changes(on.summary).sort()).toEqual(['Add VariantsDistribution', 'Add VariantsOriginAccessControl', 'Modify DestBucketPolicy', 'Modify PresignFunction']);
    const cdn = `https://d${stack.resources.get('VariantsDistribution')!.physicalId.slice(1).toLowerCase()}.cloudfront.net`;
    expect(on.summary!.outputs?.cdn).toBe(cdn);
    expect(JSON.parse(await readFile(configFile, 'utf8')).cdn).toBe(cdn);

    // And --no-cdn on a stack with one removes them, and the URL with them.
    const offAgain = await deploy({ cdn: false });
    expect(offAgain.error).toBeUndefined();
    expect(changes(offAgain.summary).sort()).toEqual(['Modify DestBucketPolicy', 'Modify PresignFunction', 'Remove VariantsDistribution', 'Remove VariantsOriginAccessControl']);
    expect(offAgain.summary!.outputs?.cdn).toBeUndefined();
    expect(JSON.parse(await readFile(configFile, 'utf8'))).not.toHaveProperty('cdn');
  });

  it('--delete: the stack goes, both buckets are kept and listed, the config forgets the stack but keeps the rest', async () => {
    await deployed();
    const stackId = fake.world.find(STACK)!.stackId;
    const out = sink();
    const summary = await deleteStack({ stack: STACK, configFile }, new DeployProgress(new DeployView({ json: false, interactive: false, stdout: out.stream, stderr: out.stream }).onEvent), { clients, timing: TIMING });
    expect(runs(summary.calls)).toEqual([
      'cloudformation:DescribeStacks',
      'cloudformation:DescribeStackResources',
      'sts:GetCallerIdentity',
      's3:HeadBucket', // the artifacts bucket, named as kept
      'cloudformation:DescribeStackEvents',
      'cloudformation:DeleteStack',
      'cloudformation:DescribeStackEvents ×18', // 33 resources deleted, 2 buckets skipped: 69 events, 4 a poll
      's3:HeadBucket ×2',
    ]);
    expect(fake.form('cloudformation:DeleteStack').StackName).toBe(stackId);
    expect(summary).toMatchObject({ action: 'deleted', keptBuckets: [SOURCE, DEST], artifactsBucket: `imgpipe-artifacts-${ACCOUNT}-${REGION}` });
    expect(summary.events.filter((e) => e.status === 'DELETE_SKIPPED').map((e) => e.logicalId)).toEqual(['DestBucket', 'SourceBucket']);
    expect(summary.events.at(-1)).toMatchObject({ logicalId: STACK, status: 'DELETE_COMPLETE' });
    // By name it is gone; by id CloudFormation still answers, DELETE_COMPLETE.
    expect(await findStack(clients.cfn, STACK)).toBeUndefined();
    expect((await findStack(clients.cfn, stackId))?.StackStatus).toBe('DELETE_COMPLETE');
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ withoutEnlargement: true, mine: 'kept', region: REGION, destBucket: DEST });
  });

  it('the API key reaches CloudFormation and nothing else: masked in the summary, absent from the output', async () => {
    const { summary, out } = await deploy({ apiKey: API_KEY });
    expect(fake.form('cloudformation:CreateChangeSet')).toMatchObject({ 'Parameters.member.18.ParameterKey': 'ApiKey', 'Parameters.member.18.ParameterValue': API_KEY });
    expect(summary!.parameters.ApiKey).toBe('****');
    expect(JSON.stringify(summary)).not.toContain(API_KEY);
    expect(out).not.toContain(API_KEY);
    fake.calls.length = 0;
    // Again with the same key: CloudFormation reads it back masked, so a change set must say "no changes".
    const again = await deploy({ apiKey: API_KEY });
    expect(again.summary!.changedParameters).toEqual(['ApiKey']);
    expect(runs(again.summary!.calls)).toEqual(['sts:GetCallerIdentity', 'cloudformation:DescribeStacks', 's3:HeadBucket', 's3:HeadObject ×3', 'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet ×3', 'cloudformation:DeleteChangeSet']);
    expect(again.summary!.action).toBe('unchanged');
    expect(JSON.stringify(again.summary) + again.out).not.toContain(API_KEY);
    // Without the key: the stack keeps its own.
    fake.calls.length = 0;
    const kept = await deploy();
    expect(kept.summary!.parameters.ApiKey).toBe('(unchanged)');
    expect(fake.world.find(STACK)!.parameters.get('ApiKey')).toBe(API_KEY);
  });

  it('changes and events over several pages: each read once, in order, only after the waits', async () => {
    Object.assign(fake.world, { changesPerPage: 5, eventsPerPage: 3, eventsPerPoll: 7 });
    const { summary, error } = await deploy();
    expect(error).toBeUndefined();
    const stack = fake.world.find(STACK)!;
    expect(summary!.changeSet!.changes.map((c) => c.logicalId)).toEqual([...stack.resources.keys()].sort((a, b) => order(a) - order(b)));
    // Two answers still pending, then the 35 changes in 7 pages.
    expect(fake.calls.filter((c) => c.op === 'cloudformation:DescribeChangeSet').map((c) => (c.body as { NextToken?: string }).NextToken ?? '-')).toEqual(['-', '-', '-', '5', '10', '15', '20', '25', '30']);
    // The mark, then 10 polls releasing 7 events each (pages of 3, 3 and 1 + an old one), then 1 of 1 (one page: it + an old one).
    expect(fake.ops().filter((op) => op === 'cloudformation:DescribeStackEvents')).toHaveLength(1 + 10 * 3 + 1);
    expect(summary!.events.map((e) => `${e.logicalId} ${e.status}`)).toEqual(stack.events.slice(1).map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`));
  });

  it('a change set that never gets ready: the wait gives up at the timeout, deletes it, and nothing is executed', async () => {
    fake.world.changeSetPolls = 1_000_000;
    const polls = () => fake.ops().filter((op) => op === 'cloudformation:DescribeChangeSet').length;
    // The wait's clock (Date) stands still until the test moves it: six polls go by inside the
    // timeout however slow the machine, then the clock jumps past it.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const result = deploy({}, { pollMs: 10, timeoutMs: 60_000 });
      const hang = performance.now() + 60_000;
      while (polls() < 6 && performance.now() < hang) await new Promise((res) => setTimeout(res, 10));
      expect(polls()).toBeGreaterThanOrEqual(6);
      vi.setSystemTime(Date.now() + 61_000);
      const { error } = await result;
      expect(error!.code).toBe('Timeout');
      expect(error!.message).toMatch(/^the change set imgpipe-\d+ was still CREATE_IN_PROGRESS after 60 s; it was deleted$/);
    } finally {
      vi.useRealTimers();
    }
    expect(polls()).toBeGreaterThan(5);
    expect(fake.ops().at(-1)).toBe('cloudformation:DeleteChangeSet');
    expect(fake.ops()).not.toContain('cloudformation:ExecuteChangeSet');
  });

  it('a create that fails after making the buckets rolls them back too (they are empty), so --delete then deploy again works', async () => {
    fake.world.failResource('DefaultStage', 'Resource handler returned message: "Rate exceeded"');
    const failed = await deploy();
    expect(failed.error!.message).toMatch(/^the create failed at DefaultStage \(AWS::ApiGatewayV2::Stage\): Resource handler returned message: "Rate exceeded"; the stack is now ROLLBACK_COMPLETE/);
    expect(fake.form('cloudformation:ExecuteChangeSet').RetainExceptOnCreate).toBe('true');
    expect([fake.aws.buckets.has(SOURCE), fake.aws.buckets.has(DEST)]).toEqual([false, false]);
    const removed = await deleteStack({ stack: STACK, configFile }, new DeployProgress(), { clients, timing: TIMING });
    expect(removed).toMatchObject({ action: 'deleted', keptBuckets: [] });
    const again = await deploy();
    expect(again.error).toBeUndefined();
    expect(again.summary!.action).toBe('created');
  });
});
