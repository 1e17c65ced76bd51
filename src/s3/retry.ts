// Bounded retries with exponential backoff and full jitter (AWS's recommended scheme).
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 200, maxMs: 5_000 };

export function backoffMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  return Math.random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}

export const pause = (ms: number, signal?: AbortSignal) => sleep(ms, undefined, { signal });

/** Whether a thrown fetch/network error is worth retrying: resets, refusals, timeouts. */
export function isNetworkError(err: unknown): boolean {
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'AbortError') return false; // our own abort (Ctrl-C): stop, do not retry
  if (e?.name === 'TimeoutError') return true;
  const code = e?.cause?.code ?? e?.code ?? '';
  return (
    e?.name === 'TypeError' ||
    /^(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ERR_STREAM_PREMATURE_CLOSE|UND_ERR_\w+)$/.test(code) ||
    e?.cause?.name === 'SocketError'
  );
}
