// `imgpipe deploy-lambda` in one call: build the package, then either report it (and with
// --dry-run the calls a publish would make), or publish it and wire the S3 trigger.
import { UsageError } from '../core/errors.js';
import type { Spec } from '../core/spec.js';
import { formatBytes } from '../core/bytes.js';
import { openPublishClients, type PublishClients } from './clients.js';
import { functionSettings } from './function-config.js';
import { LIMITS } from './limits.js';
import { buildPackage, type LambdaPackage } from './package.js';
import { planCalls, type PlannedCall } from './plan.js';
import { publishFunction, type PublishResult, type WaiterTiming } from './publish.js';
import type { DeployProgress, DeployReport } from './progress.js';
import type { HandlerName, LambdaArch, LambdaRuntime } from '../core/pipeline-defaults.js';
import { wireTrigger, type TriggerResult } from './trigger.js';

export interface DeployRequest {
  handler: HandlerName;
  arch: LambdaArch;
  runtime: LambdaRuntime;
  out?: string;
  dryRun: boolean;
  functionName?: string;
  create: boolean;
  role?: string;
  alias: string;
  memory?: number;
  timeout?: number;
  sourceBucket?: string;
  destBucket?: string;
  prefix?: string;
  codeBucket?: string;
  region?: string;
  /** S3-compatible endpoint for the S3 calls (staging, notifications). */
  endpoint?: string;
  env: Record<string, string>;
  spec: Spec;
}

export interface DeployDeps {
  clients?: PublishClients;
  waiter?: WaiterTiming;
  roleRetry?: { attempts: number; delayMs: number };
  directUploadLimit?: number;
  cacheDir?: string;
}

export type PackageReport = Omit<LambdaPackage, 'zip'>;

export interface DeploySummary extends DeployReport {
  dryRun: boolean;
  package: PackageReport;
  limits: { unzippedBytes: number; directUploadBytes: number };
  function?: PublishResult;
  trigger?: TriggerResult;
  /** --dry-run with --function: what a publish would send. */
  plan?: PlannedCall[];
}

/** Lambda reserves these names; setting one fails the whole update. */
const RESERVED_ENV = /^(_HANDLER|_X_AMZN_TRACE_ID|AWS_REGION|AWS_DEFAULT_REGION|AWS_EXECUTION_ENV|AWS_LAMBDA_.*|AWS_ACCESS_KEY.*|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR)$/;
const ALIAS_NAME = /^(?!\d+$)[A-Za-z0-9_-]{1,128}$/;
const FUNCTION_NAME = /^([A-Za-z0-9_-]{1,64}|arn:[^\s]+)$/;

function validateRequest(r: DeployRequest): void {
  const functionOnly: [string, unknown][] = [
    ['--create', r.create || undefined],
    ['--role', r.role],
    ['--source-bucket', r.sourceBucket],
    ['--dest-bucket', r.destBucket],
    ['--prefix', r.prefix],
    ['--code-bucket', r.codeBucket],
    ['--memory', r.memory],
    ['--timeout', r.timeout],
    ['--env', Object.keys(r.env).length || undefined],
  ];
  const stray = functionOnly.filter(([, v]) => v !== undefined).map(([k]) => k);
  if (!r.functionName && stray.length) throw new UsageError(`${stray.join(', ')} configure a function: pass --function NAME`);
  if (r.functionName && !FUNCTION_NAME.test(r.functionName)) throw new UsageError(`--function: "${r.functionName}" is not a function name (1-64 letters, digits, - or _) or ARN`);
  if (r.create && !r.role) throw new UsageError('--create needs --role ARN (the execution role the new function runs as)');
  if (r.role && !r.create) throw new UsageError('--role is only used with --create');
  if (!ALIAS_NAME.test(r.alias)) throw new UsageError(`--alias: "${r.alias}" is not an alias name (letters, digits, - or _, not only digits)`);
  if (r.handler === 'presign' && r.destBucket) throw new UsageError('--dest-bucket is for the resize handler (presign only signs uploads to --source-bucket)');
  if (r.prefix !== undefined && !(r.handler === 'resize' && r.sourceBucket)) throw new UsageError('--prefix filters the S3 trigger: it needs --handler resize and --source-bucket');
  if (r.sourceBucket && r.sourceBucket === r.destBucket) throw new UsageError('--source-bucket and --dest-bucket must differ (the variants would trigger the resize again, forever)');
  for (const k of Object.keys(r.env)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k)) throw new UsageError(`--env: "${k}" is not a valid variable name`);
    if (RESERVED_ENV.test(k)) throw new UsageError(`--env: ${k} is reserved by Lambda`);
  }
}

export async function runDeploy(r: DeployRequest, steps: DeployProgress, deps: DeployDeps = {}): Promise<DeploySummary> {
  validateRequest(r);
  const built = await steps.run(
    `Building the ${r.handler} package (${r.arch}, ${r.runtime})`,
    () => buildPackage({ handler: r.handler, arch: r.arch, runtime: r.runtime, out: r.out, cacheDir: deps.cacheDir }),
    (p) => `${formatBytes(p.bytes)} zip, ${formatBytes(p.unzippedBytes)} unzipped, sha256 ${p.sha256}${p.file ? `, written to ${p.file}` : ''}`,
  );
  const { zip: _zip, ...report } = built;
  const summary: DeploySummary = {
    ok: true,
    dryRun: r.dryRun,
    package: report,
    limits: { unzippedBytes: LIMITS.unzippedBytes, directUploadBytes: LIMITS.directUploadBytes },
    calls: [],
    steps: steps.records,
  };
  if (!r.functionName) return summary;

  const settings = functionSettings(r); // both handlers get the spec: the resize runs it, the presign API serves it
  const trigger = r.handler === 'resize' && r.sourceBucket ? { sourceBucket: r.sourceBucket, prefix: r.prefix } : undefined;
  if (r.dryRun) {
    summary.plan = planCalls(built, { functionName: r.functionName, create: r.create, role: r.role, alias: r.alias, settings, codeBucket: r.codeBucket, region: r.region, trigger });
    return summary;
  }

  const { c: clients, close } = await openPublishClients(r.region, r.endpoint, deps.clients, summary.calls);
  try {
    summary.function = await publishFunction(
      built,
      { functionName: r.functionName, create: r.create, role: r.role, alias: r.alias, settings, codeBucket: r.codeBucket, directUploadLimit: deps.directUploadLimit, waiter: deps.waiter, roleRetry: deps.roleRetry },
      clients,
      steps,
    );
    if (trigger) {
      summary.trigger = await wireTrigger({ ...trigger, functionArn: summary.function.functionArn, alias: r.alias }, clients, steps);
    }
    return summary;
  } finally {
    close();
  }
}
