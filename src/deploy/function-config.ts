// The function configuration deploy-lambda asks for: runtime, handler, memory, timeout, and the
// environment each handler reads (lambda/*.ts's *ConfigFromEnv), merged over what the function
// already has so variables set elsewhere (API_KEY, CACHE_CONTROL…) survive a deploy.
import { ImgpipeError } from '../core/errors.js';
import type { Spec } from '../core/spec.js';
import { } from './errors.js';
import { LIMITS } from './limits.js';
import { FUNCTION_DEFAULTS, type HandlerName, type LambdaArch, type LambdaRuntime } from '../core/pipeline-defaults.js';
import { LAMBDA_HANDLER } from './targets.js';

/** Variables a handler cannot start without. */
const REQUIRED_VARIABLES: Record<HandlerName, string[]> = { resize: ['DEST_BUCKET'], presign: ['SOURCE_BUCKET'], 'failure-recorder': ['DEST_BUCKET'] };

export interface SettingsInput {
  handler: HandlerName;
  runtime: LambdaRuntime;
  arch: LambdaArch;
  memory?: number;
  timeout?: number;
  sourceBucket?: string;
  destBucket?: string;
  /** resize: the variant spec, so the function writes exactly the keys `imgpipe watch` expects. */
  spec?: Spec;
  /** Extra variables (--env KEY=VALUE). */
  env?: Record<string, string>;
}

export interface FunctionSettings {
  Runtime: LambdaRuntime;
  Handler: string;
  MemorySize: number;
  Timeout: number;
  Architectures: [LambdaArch];
  /** The variables deploy-lambda sets; others already on the function are kept. */
  variables: Record<string, string>;
  required: string[];
}

export function functionSettings(input: SettingsInput): FunctionSettings {
  const defaults = FUNCTION_DEFAULTS[input.handler];
  // No AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: the runtimes are Node 22 and 24, where
  // the SDK has no notice to give.
  const variables: Record<string, string> = {};
  if (input.handler === 'resize') {
    // glibc gives each libvips thread its own malloc arena and fragments them (bench/README.md).
    variables.MALLOC_ARENA_MAX = '1';
    if (input.destBucket) variables.DEST_BUCKET = input.destBucket;
  }
  if (input.handler === 'failure-recorder' && input.destBucket) variables.DEST_BUCKET = input.destBucket;
  if (input.sourceBucket) variables.SOURCE_BUCKET = input.sourceBucket;
  // Both read it: the resize makes these variants, the presign API tells clients so (GET /spec).
  if (input.spec) variables.IMGPIPE_SPEC = JSON.stringify(input.spec);
  Object.assign(variables, input.env);
  return {
    Runtime: input.runtime,
    Handler: LAMBDA_HANDLER,
    MemorySize: input.memory ?? defaults.memory,
    Timeout: input.timeout ?? defaults.timeout,
    Architectures: [input.arch],
    variables,
    required: REQUIRED_VARIABLES[input.handler],
  };
}

export function mergeVariables(existing: Record<string, string> | undefined, ours: Record<string, string>): Record<string, string> {
  return { ...(existing ?? {}), ...ours };
}

/** Lambda counts every name and value against one 4 KB quota. */
const environmentBytes = (vars: Record<string, string>): number =>
  Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

/** Refuse an environment the handler cannot start with, or Lambda would refuse. */
export function checkVariables(vars: Record<string, string>, settings: FunctionSettings, functionName: string): void {
  const missing = settings.required.filter((k) => !vars[k]);
  if (missing.length) {
    const flags = missing.map((k) => (k === 'DEST_BUCKET' ? '--dest-bucket' : k === 'SOURCE_BUCKET' ? '--source-bucket' : `--env ${k}=…`));
    throw new ImgpipeError(`${functionName} would have no ${missing.join(', ')}: pass ${flags.join(' and ')}`, 'MissingSetting');
  }
  if (vars.SOURCE_BUCKET && vars.SOURCE_BUCKET === vars.DEST_BUCKET) {
    throw new ImgpipeError('SOURCE_BUCKET and DEST_BUCKET must differ: writing variants into the source bucket would trigger the function forever', 'RecursiveTrigger');
  }
  const bytes = environmentBytes(vars);
  if (bytes > LIMITS.environmentBytes) {
    throw new ImgpipeError(`the environment of ${functionName} is ${bytes} bytes, over Lambda's ${LIMITS.environmentBytes}-byte limit (a smaller variant spec?)`, 'EnvironmentTooLarge');
  }
}

/** Whether the function's configuration already matches; then there is nothing to update. */
export function configurationMatches(
  current: { Runtime?: string; Handler?: string; MemorySize?: number; Timeout?: number; Environment?: { Variables?: Record<string, string> } },
  settings: FunctionSettings,
  variables: Record<string, string>,
): boolean {
  const have = current.Environment?.Variables ?? {};
  const sameVars = Object.keys(have).length === Object.keys(variables).length && Object.entries(variables).every(([k, v]) => have[k] === v);
  return current.Runtime === settings.Runtime && current.Handler === settings.Handler && current.MemorySize === settings.MemorySize && current.Timeout === settings.Timeout && sameVars;
}
