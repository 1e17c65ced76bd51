// Publish a package to one Lambda function: create it or update its code (skipped when the
// deployed CodeSha256 is already ours), wait with the SDK's waiters until Lambda is done, bring
// the configuration in line, publish a version and point the alias at it.
import { ImgpipeError } from '../core/errors.js';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitForFunctionActive,
  waitForFunctionUpdated,
  waitForPublishedVersionActive,
  type CreateFunctionCommandInput,
  type FunctionCode,
  type FunctionConfiguration,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { formatBytes } from '../core/bytes.js';
import type { PublishClients } from './clients.js';
import { awsCall, explainAwsError, isAwsError, isRoleNotAssumable } from './errors.js';
import { checkVariables, configurationMatches, mergeVariables, type FunctionSettings } from './function-config.js';
import { LIMITS, needsS3Staging } from './limits.js';
import type { LambdaPackage } from './package.js';
import type { DeployProgress } from './progress.js';

export type PublishablePackage = Pick<LambdaPackage, 'zip' | 'sha256' | 'codeSha256' | 'bytes' | 'handler'>;

export interface WaiterTiming {
  /** Seconds. */
  minDelay: number;
  maxDelay: number;
  maxWaitTime: number;
}

export interface PublishOptions {
  functionName: string;
  /** Create the function when it does not exist (needs `role`). */
  create: boolean;
  role?: string;
  alias: string;
  settings: FunctionSettings;
  /** Where a zip over the direct-upload limit is staged. */
  codeBucket?: string;
  directUploadLimit?: number;
  waiter?: WaiterTiming;
  /** A role created moments ago is not yet assumable by Lambda: retry CreateFunction. */
  roleRetry?: { attempts: number; delayMs: number };
}

export interface PublishResult {
  functionName: string;
  functionArn: string;
  code: { status: 'created' | 'updated' | 'unchanged'; codeSha256: string; previousCodeSha256?: string; stagedAt?: string };
  configuration: { status: 'created' | 'updated' | 'unchanged' };
  version: string;
  alias: { name: string; arn: string; version: string; status: 'created' | 'moved' | 'unchanged'; previousVersion?: string };
}

const DEFAULT_WAITER: WaiterTiming = { minDelay: 1, maxDelay: 10, maxWaitTime: 300 };
/** IAM usually makes a new role assumable within ~10 s. */
const DEFAULT_ROLE_RETRY = { attempts: 4, delayMs: 4000 };

/** Lambda's Description field: which handler and which build. */
export const versionDescription = (pkg: PublishablePackage): string => `imgpipe ${pkg.handler} ${pkg.sha256.slice(0, 12)}`;

/** The S3 key a staged zip goes under: content-addressed, so a re-run reuses it. */
export const stagingKey = (functionName: string, pkg: PublishablePackage): string => `imgpipe-deploy/${functionName}/${pkg.sha256}.zip`;


type WaitResult = { state: unknown; reason?: unknown };

/** Interpret an SDK waiter's outcome; a Failed update carries Lambda's reason. */
function checkWait(result: WaitResult, what: string, timing: WaiterTiming): void {
  const state = String(result.state);
  if (state === 'SUCCESS') return;
  const reason = result.reason as FunctionConfiguration & { name?: string; message?: string };
  if (state === 'FAILURE') {
    const why = reason?.LastUpdateStatusReason ?? reason?.StateReason ?? 'no reason given';
    throw new ImgpipeError(`${what} failed: ${why}`, reason?.LastUpdateStatusReasonCode ?? reason?.StateReasonCode ?? 'UpdateFailed');
  }
  if (reason && reason.name && reason.message) throw explainAwsError(reason, what);
  throw new ImgpipeError(`${what}: not finished after ${timing.maxWaitTime} s`, 'WaitTimeout');
}

/** What every step of one publish needs. */
interface Publish {
  pkg: PublishablePackage;
  opts: PublishOptions;
  lambda: LambdaClient;
  s3: S3Client;
  steps: DeployProgress;
  name: string;
  timing: WaiterTiming;
  waiter: { client: LambdaClient } & WaiterTiming;
  /** The zip is too big for the request: it goes through S3 (opts.codeBucket). */
  overLimit: boolean;
}

/** The function's side of a publish, whether it was created or updated. */
interface FunctionOutcome {
  functionArn: string;
  code: PublishResult['code'];
  configStatus: PublishResult['configuration']['status'];
}

export async function publishFunction(pkg: PublishablePackage, opts: PublishOptions, clients: PublishClients, steps: DeployProgress): Promise<PublishResult> {
  const timing = opts.waiter ?? DEFAULT_WAITER;
  const p: Publish = {
    pkg,
    opts,
    lambda: clients.lambda,
    s3: clients.s3,
    steps,
    name: opts.functionName,
    timing,
    waiter: { client: clients.lambda, ...timing },
    overLimit: needsS3Staging(pkg.bytes, opts.directUploadLimit ?? LIMITS.directUploadBytes),
  };
  if (p.overLimit && !opts.codeBucket) {
    throw new ImgpipeError(
      `the zip is ${formatBytes(pkg.bytes)}, over Lambda's ${formatBytes(opts.directUploadLimit ?? LIMITS.directUploadBytes)} direct-upload limit: pass --code-bucket BUCKET to stage it in S3`,
      'NeedsCodeBucket',
    );
  }

  const existing = await lookUpFunction(p);
  const { functionArn, code, configStatus } = existing ? await updateFunction(p, existing) : await createFunction(p);
  const version = await publishVersion(p);
  const alias = await pointAlias(p, version);
  return { functionName: p.name, functionArn, code, configuration: { status: configStatus }, version, alias };
}

async function lookUpFunction({ lambda, name, steps }: Publish): Promise<FunctionConfiguration | undefined> {
  return steps.run(
    `Looking up function ${name}`,
    () =>
      awsCall(`lambda:GetFunction on ${name}`, async () => {
        try {
          return (await lambda.send(new GetFunctionCommand({ FunctionName: name }))).Configuration;
        } catch (err) {
          if (isAwsError(err, 'ResourceNotFoundException')) return undefined;
          throw err;
        }
      }),
    (c) => (c ? `exists (${c.Architectures?.[0] ?? 'x86_64'}, ${c.Runtime}, code ${c.CodeSha256})` : 'does not exist'),
  );
}

/** The zip, in the request or staged in S3 first when it is too big for the request. */
async function codeFor({ pkg, opts, s3, steps, name, overLimit }: Publish): Promise<{ code: FunctionCode; stagedAt?: string }> {
  if (!overLimit) return { code: { ZipFile: pkg.zip } };
  const Key = stagingKey(name, pkg);
  await steps.run(`Staging the zip in s3://${opts.codeBucket}/${Key}`, () =>
    awsCall(`s3:PutObject on ${opts.codeBucket}`, () =>
      s3.send(new PutObjectCommand({ Bucket: opts.codeBucket, Key, Body: pkg.zip, ContentType: 'application/zip', ChecksumSHA256: pkg.codeSha256 })),
    ),
  );
  return { code: { S3Bucket: opts.codeBucket, S3Key: Key }, stagedAt: `s3://${opts.codeBucket}/${Key}` };
}

async function createFunction(p: Publish): Promise<FunctionOutcome> {
  const { pkg, opts, steps, name, timing } = p;
  const settings = opts.settings;
  if (!opts.create) throw new ImgpipeError(`function ${name} does not exist: pass --create --role ARN to create it`, 'FunctionNotFound');
  if (!opts.role) throw new ImgpipeError('--create needs --role ARN (the execution role the function runs as)', 'MissingRole');
  const variables = mergeVariables(undefined, settings.variables);
  checkVariables(variables, settings, name);
  const { code: Code, stagedAt } = await codeFor(p);
  const created = await steps.run(
    `Creating function ${name}`,
    () =>
      awsCall(`lambda:CreateFunction ${name}`, () =>
        createWhenRoleAssumable(p, {
          FunctionName: name,
          Role: opts.role,
          Runtime: settings.Runtime,
          Handler: settings.Handler,
          Architectures: settings.Architectures,
          MemorySize: settings.MemorySize,
          Timeout: settings.Timeout,
          Environment: { Variables: variables },
          Code,
          Description: versionDescription(pkg),
          Publish: false,
        }),
      ),
    (c) => c.FunctionArn,
  );
  await steps.run(`Waiting for ${name} to become active`, async () =>
    checkWait(await waitForFunctionActive(p.waiter, { FunctionName: name }), `activating ${name}`, timing),
  );
  return {
    functionArn: created.FunctionArn!,
    code: { status: 'created', codeSha256: pkg.codeSha256, ...(stagedAt && { stagedAt }) },
    configStatus: 'created',
  };
}

/** CreateFunction, retried while IAM has not yet made a new role assumable by Lambda. */
async function createWhenRoleAssumable({ lambda, opts }: Publish, input: CreateFunctionCommandInput) {
  const retry = opts.roleRetry ?? DEFAULT_ROLE_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await lambda.send(new CreateFunctionCommand(input));
    } catch (err) {
      if (!isRoleNotAssumable(err)) throw err;
      if (attempt >= retry.attempts) {
        throw new ImgpipeError(
          `role ${opts.role} cannot be assumed by Lambda: check that it exists and that its trust policy lets lambda.amazonaws.com call sts:AssumeRole`,
          'RoleNotAssumable',
        );
      }
      await new Promise((r) => setTimeout(r, retry.delayMs));
    }
  }
}

async function updateFunction(p: Publish, existing: FunctionConfiguration): Promise<FunctionOutcome> {
  const { opts, steps, name, timing } = p;
  const functionArn = existing.FunctionArn!;
  if (existing.LastUpdateStatus === 'InProgress' || existing.State === 'Pending') {
    await steps.run(`Waiting for an earlier update of ${name} to finish`, async () =>
      checkWait(await waitForFunctionUpdated(p.waiter, { FunctionName: name }), `earlier update of ${name}`, timing),
    );
  }
  const variables = mergeVariables(existing.Environment?.Variables, opts.settings.variables);
  checkVariables(variables, opts.settings, name);
  const code = await updateCode(p, existing);
  const configStatus = await updateConfiguration(p, existing, variables);
  return { functionArn, code, configStatus };
}

/** Upload the code unless the deployed CodeSha256 (for the same architecture) is already this package's. */
async function updateCode(p: Publish, existing: FunctionConfiguration): Promise<PublishResult['code']> {
  const { pkg, opts, lambda, steps, name, timing } = p;
  const settings = opts.settings;
  const sameArch = (existing.Architectures?.[0] ?? 'x86_64') === settings.Architectures[0];
  if (existing.CodeSha256 === pkg.codeSha256 && sameArch) {
    steps.skip('Uploading code', `unchanged (deployed CodeSha256 ${pkg.codeSha256} is this package's): upload skipped`);
    return { status: 'unchanged', codeSha256: pkg.codeSha256 };
  }
  const { code: Code, stagedAt } = await codeFor(p);
  await steps.run(`Uploading code (${formatBytes(pkg.bytes)})`, () =>
    awsCall(`lambda:UpdateFunctionCode on ${name}`, () =>
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ...Code, Architectures: settings.Architectures, Publish: false })),
    ),
  );
  await steps.run(`Waiting for the code update of ${name}`, async () =>
    checkWait(await waitForFunctionUpdated(p.waiter, { FunctionName: name }), `code update of ${name}`, timing),
  );
  return { status: 'updated', codeSha256: pkg.codeSha256, previousCodeSha256: existing.CodeSha256, ...(stagedAt && { stagedAt }) };
}

async function updateConfiguration(
  p: Publish,
  existing: FunctionConfiguration,
  variables: Record<string, string>,
): Promise<PublishResult['configuration']['status']> {
  const { opts, lambda, steps, name, timing } = p;
  const settings = opts.settings;
  if (configurationMatches(existing, settings, variables)) {
    steps.skip('Updating configuration', 'unchanged');
    return 'unchanged';
  }
  await steps.run(`Updating configuration (${settings.MemorySize} MB, ${settings.Timeout} s, ${Object.keys(variables).length} variables)`, () =>
    awsCall(`lambda:UpdateFunctionConfiguration on ${name}`, () =>
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          Runtime: settings.Runtime,
          Handler: settings.Handler,
          MemorySize: settings.MemorySize,
          Timeout: settings.Timeout,
          Environment: { Variables: variables },
        }),
      ),
    ),
  );
  await steps.run(`Waiting for the configuration update of ${name}`, async () =>
    checkWait(await waitForFunctionUpdated(p.waiter, { FunctionName: name }), `configuration update of ${name}`, timing),
  );
  return 'updated';
}

async function publishVersion({ pkg, lambda, steps, name, waiter, timing }: Publish): Promise<string> {
  const published = await steps.run(
    'Publishing a version',
    () =>
      awsCall(`lambda:PublishVersion on ${name}`, () =>
        // CodeSha256 makes Lambda refuse if someone else changed the code in between.
        lambda.send(new PublishVersionCommand({ FunctionName: name, CodeSha256: pkg.codeSha256, Description: versionDescription(pkg) })),
      ),
    (v) => `version ${v.Version}`,
  );
  const version = published.Version!;
  if (published.State && published.State !== 'Active') {
    await steps.run(`Waiting for version ${version} to become active`, async () =>
      checkWait(await waitForPublishedVersionActive(waiter, { FunctionName: name, Qualifier: version }), `activating version ${version}`, timing),
    );
  }
  return version;
}

async function pointAlias({ opts, lambda, steps, name }: Publish, version: string): Promise<PublishResult['alias']> {
  return steps.run(
    `Pointing alias ${opts.alias} at version ${version}`,
    () =>
      awsCall(`lambda alias ${opts.alias} of ${name}`, async () => {
        let current;
        try {
          current = await lambda.send(new GetAliasCommand({ FunctionName: name, Name: opts.alias }));
        } catch (err) {
          if (!isAwsError(err, 'ResourceNotFoundException')) throw err;
        }
        if (!current) {
          const made = await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: opts.alias, FunctionVersion: version }));
          return { name: opts.alias, arn: made.AliasArn!, version, status: 'created' as const };
        }
        if (current.FunctionVersion === version) return { name: opts.alias, arn: current.AliasArn!, version, status: 'unchanged' as const };
        const moved = await lambda.send(new UpdateAliasCommand({ FunctionName: name, Name: opts.alias, FunctionVersion: version }));
        return { name: opts.alias, arn: moved.AliasArn!, version, status: 'moved' as const, previousVersion: current.FunctionVersion };
      }),
    (a) => (a.status === 'created' ? 'created' : a.status === 'moved' ? `moved from version ${a.previousVersion}` : 'already there'),
  );
}
