// Client of the presign API (POST /uploads), retried on 5xx and network errors.
import type { CompleteRequest, CompleteResponse, FileRequest, ReprocessAnswer, ReprocessRequest, SpecResponse, UploadAnswer } from './contract.js';
import { ImgpipeError } from '../core/errors.js';
import { DEFAULT_RETRY, backoffMs, isNetworkError, pause } from '../s3/retry.js';

/** ApiRefused: a 4xx, which asking again cannot change. ApiUnavailable: 5xx or 429. ApiUnreachable: no answer. */
export type ApiErrorCode = 'ApiRefused' | 'ApiUnavailable' | 'ApiUnreachable';

const apiErrorCode = (status: number | undefined): ApiErrorCode =>
  status === undefined ? 'ApiUnreachable' : status >= 500 || status === 429 ? 'ApiUnavailable' : 'ApiRefused';

export class ApiError extends ImgpipeError {
  override name = 'ApiError';
  declare readonly code: ApiErrorCode;
  constructor(
    message: string,
    readonly status?: number,
    /** ApiUnreachable: why no answer came (ECONNREFUSED, ENOTFOUND, a TLS code, TimeoutError…). */
    readonly networkCode?: string,
  ) {
    super(message, apiErrorCode(status));
  }
}

export interface PresignClientOptions {
  api: string;
  /** Sent as x-api-key; read from IMGPIPE_API_KEY by the CLI, never printed. */
  apiKey?: string;
  signal?: AbortSignal;
  /** Give up on (and retry) a call that has not answered in this long. */
  timeoutMs?: number;
  onRetry?: (reason: string) => void;
}

export function uploadsUrl(api: string): string {
  return api.replace(/\/+$/, '').replace(/\/uploads$/, '') + '/uploads';
}

export async function requestUploads(files: FileRequest[], opts: PresignClientOptions): Promise<UploadAnswer[]> {
  return postBatch<UploadAnswer>('uploads', { files }, files.length, opts);
}

/** POST /reprocess: queue a resize of each key whose variants are not this spec's (dryRun: only say which). */
export async function requestReprocess(keys: string[], dryRun: boolean, opts: PresignClientOptions): Promise<ReprocessAnswer[]> {
  return postBatch<ReprocessAnswer>('reprocess', { keys, ...(dryRun ? { dryRun } : {}) } satisfies ReprocessRequest, keys.length, opts);
}

/** POST /uploads/complete: join a multipart upload's parts; ApiRefused (PartsMissing, NoSuchUpload…) when it cannot. */
export async function requestComplete(req: CompleteRequest, opts: PresignClientOptions): Promise<CompleteResponse> {
  return postJson('uploads/complete', req, opts, (doc) => (doc.completed === true ? (doc as unknown as CompleteResponse) : undefined));
}

/** POST /ROUTE with `body`; the answer's ROUTE field holds one entry per item asked about. */
function postBatch<T>(route: 'uploads' | 'reprocess', body: unknown, count: number, opts: PresignClientOptions): Promise<T[]> {
  return postJson(route, body, opts, (doc) => {
    const answers = doc[route];
    return Array.isArray(answers) && answers.length === count ? (answers as T[]) : undefined;
  });
}

/** POST /ROUTE with `body`, retried; `accept` picks the answer out of a good reply (undefined: it is not one). */
async function postJson<T>(route: string, body: unknown, opts: PresignClientOptions, accept: (doc: Record<string, unknown>) => T | undefined): Promise<T> {
  const url = uploadsUrl(opts.api).replace(/\/uploads$/, `/${route}`);
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(opts.apiKey ? { 'x-api-key': opts.apiKey } : {}) },
        body: JSON.stringify(body),
        signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs ?? 30_000)]) : AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      let doc: Record<string, unknown> & { error?: { code: string; message: string } } = {};
      try {
        doc = JSON.parse(text);
      } catch {
        /* not JSON: reported below */
      }
      const answer = accept(doc); // a 400 of POST /uploads still answers each file
      if (answer !== undefined) return answer;
      const detail = doc.error ? `${doc.error.code}: ${doc.error.message}` : text.slice(0, 200);
      const refused = apiErrorCode(res.status) === 'ApiRefused';
      throw new ApiError(refused ? `presign API refused the request (${res.status}): ${detail}` : `presign API ${res.status}: ${detail}`, res.status);
    } catch (err) {
      const retryable = !opts.signal?.aborted && (err instanceof ApiError ? err.code !== 'ApiRefused' : isNetworkError(err));
      if (!retryable || i + 1 >= DEFAULT_RETRY.attempts) {
        if (err instanceof ApiError) throw err;
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        throw new ApiError(`cannot reach the presign API at ${url}: ${cause ?? (err as Error).message}`, undefined, cause ?? (err as Error).name);
      }
      opts.onRetry?.((err as Error).message);
      await pause(backoffMs(i), opts.signal);
    }
  }
}

/** The spec the pipeline runs (GET /spec), or undefined when the API does not say (an older deployment). */
export async function fetchSpec(opts: Pick<PresignClientOptions, 'api' | 'apiKey' | 'signal' | 'timeoutMs'>): Promise<SpecResponse | undefined> {
  const url = uploadsUrl(opts.api).replace(/\/uploads$/, '/spec');
  const res = await fetch(url, {
    headers: opts.apiKey ? { 'x-api-key': opts.apiKey } : {},
    signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs ?? 30_000)]) : AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  }).catch(() => undefined);
  if (!res?.ok) return undefined;
  const doc = (await res.json().catch(() => undefined)) as SpecResponse | undefined;
  return typeof doc?.specHash === 'string' ? doc : undefined;
}
