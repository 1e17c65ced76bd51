// What a batch will cost and take on AWS, before it is sent (`upload --dry-run` against a deployed
// stack): the resize's GB-seconds and dollars at the function's memory and architecture, the
// requests it makes (API Gateway, Lambda, S3, SQS), and the time at the resize's concurrency.
// Rough by design: the per-image seconds are core/estimate.ts's (one vCPU, measured here), and
// prices change; it tells 50 photos from 50,000, not cents from cents.
import { estimateSeconds, type Estimate } from './estimate.js';
import type { Size } from './plan.js';
import type { Spec } from './spec.js';
import { DEFAULT_RESIZE_CONCURRENCY, FUNCTION_DEFAULTS } from './pipeline-defaults.js';

/**
 * US East (N. Virginia) list prices in USD, as published on the AWS pricing pages
 * (aws.amazon.com/lambda/pricing, /s3/pricing, /sqs/pricing, /api-gateway/pricing) and last
 * checked 2025-06; other regions differ by up to ~30 %. Free tiers are not subtracted.
 */
const PRICES = {
  checked: '2025-06',
  region: 'us-east-1',
  lambdaGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
  lambdaRequest: 0.2 / 1e6,
  s3Put: 0.005 / 1000, // PUT, COPY, POST, LIST
  s3Get: 0.0004 / 1000, // GET, HEAD
  sqsRequest: 0.4 / 1e6,
  httpApiRequest: 1.0 / 1e6,
} as const;

/** The Lambda's CPU share is proportional to its memory; 1769 MB is one full vCPU. */
const ONE_VCPU_MB = 1769;

export interface Deployment {
  memoryMb: number;
  arch: 'x86_64' | 'arm64';
  /** Resizes at once (the queue's maximum concurrency). */
  concurrency: number;
  /** Files per presign request. */
  presignBatch: number;
}

/**
 * The deployed stack as the template's defaults make it (a dry run asks nothing, so it cannot
 * read the stack's own settings): 1769 MB (one vCPU), x86_64, ResizeConcurrency's 5 at once, 100 files a presign.
 */
export const DEFAULT_DEPLOYMENT: Deployment = { memoryMb: FUNCTION_DEFAULTS.resize.memory, arch: 'x86_64', concurrency: DEFAULT_RESIZE_CONCURRENCY, presignBatch: 100 };

export interface BatchCost {
  photos: number;
  /** Resize seconds for the whole batch at the function's CPU share. */
  resizeSeconds: number;
  gbSeconds: number;
  requests: { api: number; lambda: number; s3Put: number; s3Get: number; sqs: number };
  dollars: { lambda: number; requests: number; total: number };
  /** Wall time of the resizes at `concurrency` at once, after the last upload. */
  wallSeconds: number;
}

/** The cost of resizing photos of these sizes with `spec` on `deployment`. */
export function batchCost(sizes: Size[], spec: Spec, avifEffort: number, deployment: Deployment): BatchCost {
  const variants = spec.variants.length;
  const cpuShare = Math.min(1, deployment.memoryMb / ONE_VCPU_MB);
  const each: Estimate[] = sizes.map((s) => estimateSeconds(spec, avifEffort, s));
  const resizeSeconds = each.reduce((t, e) => t + e.seconds / cpuShare, 0);
  const gbSeconds = resizeSeconds * (deployment.memoryMb / 1024);
  const photos = sizes.length;
  const presigns = Math.ceil(photos / deployment.presignBatch);
  const requests = {
    api: presigns,
    lambda: presigns + photos, // the presign calls, and one resize invocation per photo (batch size 1 at worst)
    // The upload's PUT and dedupe LIST; the resize's variant and record PUTs.
    s3Put: photos * (2 + variants + 1),
    // The resize's GET of the source and its HEAD before writing.
    s3Get: photos * 2,
    // S3's send, the mapping's receive and delete.
    sqs: photos * 3,
  };
  const lambda = gbSeconds * PRICES.lambdaGbSecond[deployment.arch];
  const requestDollars =
    requests.lambda * PRICES.lambdaRequest + requests.s3Put * PRICES.s3Put + requests.s3Get * PRICES.s3Get + requests.sqs * PRICES.sqsRequest + requests.api * PRICES.httpApiRequest;
  // Greedy: each photo to the resize that frees first; the longest photo bounds it too.
  const lanes = Array<number>(Math.max(1, deployment.concurrency)).fill(0);
  for (const e of [...each].sort((a, b) => b.seconds - a.seconds)) {
    const i = lanes.indexOf(Math.min(...lanes));
    lanes[i] += e.seconds / cpuShare;
  }
  return { photos, resizeSeconds, gbSeconds, requests, dollars: { lambda, requests: requestDollars, total: lambda + requestDollars }, wallSeconds: Math.max(0, ...lanes) };
}

const dollars = (n: number) => (n >= 1 ? `$${n.toFixed(2)}` : n >= 0.01 ? `$${n.toFixed(3)}` : n > 0 ? `$${n.toPrecision(2)}` : '$0');
const duration = (s: number) => (s < 90 ? `${Math.max(1, Math.round(s))} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

/** `on AWS: ~12 GB-s of resize ($0.00016) and 1,234 requests ($0.0058): $0.0060; about 2 min at 10 resizes at once (us-east-1 prices of 2025-06)` */
export function costLine(c: BatchCost, d: Deployment): string {
  const requests = Object.values(c.requests).reduce((a, b) => a + b, 0);
  return (
    `on AWS: ~${c.gbSeconds < 10 ? c.gbSeconds.toFixed(1) : Math.round(c.gbSeconds).toLocaleString('en-US')} GB-s of resize at ${d.memoryMb} MB ${d.arch} (${dollars(c.dollars.lambda)})` +
    ` and ${requests.toLocaleString('en-US')} requests (${dollars(c.dollars.requests)}): ${dollars(c.dollars.total)};` +
    ` about ${duration(c.wallSeconds)} of resizing at ${d.concurrency} at once (${PRICES.region} prices of ${PRICES.checked}, before free tiers)`
  );
}
