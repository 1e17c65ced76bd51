// PUT one file to a pre-signed URL, streamed from disk, retried on what is worth retrying.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { DEFAULT_RETRY, backoffMs, isNetworkError, pause, type RetryPolicy } from './retry.js';

export interface SignedPut {
  url: string;
  headers: Record<string, string>;
}

export class PutError extends Error {
  override name = 'PutError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string,
    readonly expired = false,
  ) {
    super(message);
  }
}

export interface PutOptions {
  /** Gets a URL; called again with `fresh` when the last one expired. */
  sign: (fresh: boolean) => Promise<SignedPut>;
  path: string;
  size: number;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  /** A request that makes no progress for this long is abandoned and retried. */
  timeoutMs?: number;
  onRetry?: (reason: string) => void;
  onBytes?: (n: number) => void;
}

/** S3 answers errors as XML: pull out Code and Message. */
export function parseS3Error(body: string): { code: string; message: string } {
  const pick = (tag: string) => body.match(new RegExp(`<${tag}>([^<]*)</${tag}>`))?.[1];
  return { code: pick('Code') ?? 'Unknown', message: pick('Message') ?? body.slice(0, 200).trim() };
}

async function attempt(target: SignedPut, opts: PutOptions): Promise<void> {
  const timeout = new AbortController();
  let timer = setTimeout(() => timeout.abort(new DOMException('request made no progress', 'TimeoutError')), opts.timeoutMs ?? 60_000);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => timeout.abort(new DOMException('request made no progress', 'TimeoutError')), opts.timeoutMs ?? 60_000);
  };
  const file = createReadStream(opts.path);
  let fileError: NodeJS.ErrnoException | undefined;
  file.on('error', (err) => (fileError = err));
  let sent = 0;
  file.on('data', (chunk) => {
    sent += chunk.length;
    opts.onBytes?.(chunk.length);
    touch();
  });
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
  try {
    const res = await fetch(target.url, {
      method: 'PUT',
      headers: target.headers,
      body: Readable.toWeb(file) as ReadableStream,
      duplex: 'half',
      signal,
    } as RequestInit);
    const text = await res.text();
    if (res.ok) return;
    const { code, message } = parseS3Error(text);
    const expired = res.status === 403 && /expired/i.test(message);
    if (/BadDigest|ChecksumMismatch|IncompleteBody/i.test(code)) {
      throw new PutError(`file changed during upload: refused by S3 (${code}: ${message})`, res.status, code);
    }
    throw new PutError(`${res.status} ${code}: ${message}`, res.status, code, expired);
  } catch (err) {
    // Give back what this attempt counted, so a retry does not count the bytes twice.
    if (sent) opts.onBytes?.(-sent);
    if (err instanceof PutError) throw err;
    // The file itself failed (deleted, unreadable): no retry will help.
    if (fileError) {
      const why = fileError.code === 'ENOENT' ? 'file deleted during upload' : `cannot read the file: ${fileError.message}`;
      throw new PutError(why, undefined, 'FileError');
    }
    if (timeout.signal.aborted && !opts.signal?.aborted) throw new PutError('timed out (no progress)', undefined, 'Timeout');
    throw err;
  } finally {
    clearTimeout(timer);
    file.destroy();
  }
}

/** Upload; returns the number of retries it took. Throws PutError when it gives up. */
export async function putWithRetry(opts: PutOptions): Promise<number> {
  const policy = opts.retry ?? DEFAULT_RETRY;
  let target = await opts.sign(false);
  let retries = 0;
  for (let i = 0; ; i++) {
    try {
      await attempt(target, opts);
      return retries;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const put = err instanceof PutError ? err : undefined;
      const transient =
        put?.expired ||
        put?.code === 'Timeout' ||
        (put?.status !== undefined && (put.status >= 500 || put.status === 429)) ||
        (!put && isNetworkError(err));
      if (!transient || i + 1 >= policy.attempts) {
        if (put && transient) throw new PutError(`${put.message} (after ${i + 1} attempts)`, put.status, put.code);
        if (put) throw put;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const what = cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET' ? 'connection reset by the server' : 'network error';
        throw new PutError(`${what} (${cause?.code ?? cause?.message ?? (err as Error).message}) after ${i + 1} attempts`, undefined, 'NetworkError');
      }
      retries++;
      opts.onRetry?.(put ? put.message : `network error: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
      if (put?.expired) target = await opts.sign(true);
      else await pause(backoffMs(i, policy), opts.signal);
    }
  }
}
