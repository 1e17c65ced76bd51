// The template's parameters for one deployment, from the CLI's settings. The API key comes from
// the environment and is never echoed: it is masked wherever parameters are shown.
import type { Parameter } from '@aws-sdk/client-cloudformation';
import type { Spec } from '../../core/spec.js';
import type { LambdaArch, LambdaRuntime } from '../../core/pipeline-defaults.js';
import type { Lifecycle } from './lifecycle.js';

export interface StackSettings {
  sourceBucket: string;
  destBucket: string;
  codeBucket: string;
  resizeKey: string;
  presignKey: string;
  failureRecorderKey: string;
  /** The queue's MaximumConcurrency for the resize. */
  resizeConcurrency: number;
  arch: LambdaArch;
  runtime: LambdaRuntime;
  keyPrefix: string;
  spec: Spec;
  dedupe: boolean;
  /** A CloudFront distribution in front of the variants (the template's Cdn). */
  cdn: boolean;
  /** Browser origins allowed to PUT besides the stack's own upload page. */
  corsOrigins: string[];
  /** What happens to originals and failure records as they age (the template's lifecycle rules). */
  lifecycle: Lifecycle;
  /** undefined: keep the stack's current key (or none on a first deploy). */
  apiKey?: string;
}

const MASK = '****';

export function stackParameters(s: StackSettings, stackExists: boolean): Parameter[] {
  const p = (ParameterKey: string, ParameterValue: string): Parameter => ({ ParameterKey, ParameterValue });
  const params = [
    p('SourceBucketName', s.sourceBucket),
    p('DestBucketName', s.destBucket),
    p('CodeBucket', s.codeBucket),
    p('ResizeCodeKey', s.resizeKey),
    p('PresignCodeKey', s.presignKey),
    p('FailureRecorderCodeKey', s.failureRecorderKey),
    p('Architecture', s.arch),
    p('Runtime', s.runtime),
    p('KeyPrefix', s.keyPrefix),
    // The same JSON the CLI's watch derives its keys from: the Lambda writes exactly those.
    p('VariantSpec', JSON.stringify(s.spec)),
    p('Dedupe', String(s.dedupe)),
    p('Cdn', String(s.cdn)),
    p('CorsOrigins', s.corsOrigins.join(',')),
    p('ResizeConcurrency', String(s.resizeConcurrency)),
    p('OriginalsTransitionDays', String(s.lifecycle.originalsTransitionDays)),
    p('OriginalsStorageClass', s.lifecycle.originalsStorageClass),
    p('FailedRecordDays', String(s.lifecycle.failedRecordDays)),
  ];
  if (s.apiKey !== undefined) params.push(p('ApiKey', s.apiKey));
  else if (stackExists) params.push({ ParameterKey: 'ApiKey', UsePreviousValue: true });
  return params;
}

/** The parameters as shown to people and in --json: the API key masked. */
export function shownParameters(params: Parameter[]): Record<string, string> {
  return Object.fromEntries(
    params.map((x) => [x.ParameterKey ?? '?', x.ParameterKey === 'ApiKey' ? (x.UsePreviousValue ? '(unchanged)' : x.ParameterValue ? MASK : '(none)') : (x.ParameterValue ?? '(unchanged)')]),
  );
}

/** A browser origin: scheme, host and optional port; never `*` (a pre-signed PUT is a credential). */
export function checkOrigin(origin: string): string | undefined {
  if (origin === '*' || origin.includes('*')) return `"${origin}": a wildcard origin would let any web page upload with a leaked URL; list the origins`;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `"${origin}" is not an origin like https://photos.example.com`;
  }
  if (!['https:', 'http:'].includes(url.protocol) || url.origin !== origin) return `"${origin}" is not an origin like https://photos.example.com (scheme, host, port; no path or trailing /)`;
  return undefined;
}
