// When the run's first presign request gets no answer at all (connection refused, a name that does
// not resolve, TLS, a timeout), or an answer that says no presign API is there for us (401/403: the
// key; 404/405 or a 2xx that is not an upload list: the URL), every later batch would fail the
// same way: 2,000 files gave 2,002 error lines, 105 retries and a minute before exit 1. So the run
// stops after that batch with one line naming the URL and what to check, as `aws s3 sync` does,
// and every file stays pending (nothing was sent). Once the API has answered, a later failure is
// a batch's own (a deploy, a blip) and fails only that batch's files, as before.
import { ApiError, uploadsUrl } from '../../api/client.js';

/** Why a run stopped before sending anything: the one line the person sees, and a stable code. */
export interface UploadStopped {
  code: 'ApiUnreachable' | 'ApiRefused';
  message: string;
}

const TLS = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/;

/** What went wrong, in words, for a request that got no answer. */
function noAnswer(networkCode = ''): string {
  if (networkCode === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (networkCode === 'ENOTFOUND' || networkCode === 'EAI_AGAIN') return `its host name does not resolve (${networkCode})`;
  if (TLS.test(networkCode)) return `the TLS connection failed (${networkCode})`;
  if (networkCode === 'TimeoutError') return 'no answer before the request timeout';
  return `no answer (${networkCode || 'network error'})`;
}

/**
 * The stop for a first presign request that failed this way, or undefined when the failure is one
 * asking again may mend (5xx, 429, a 400 about the files), which fails only the batch's files.
 * `local`: the URL came from a running `imgpipe dev`, not from the user's flags or config.
 */
export function stopForFirstBatch(err: unknown, api: string, local: boolean): UploadStopped | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const url = uploadsUrl(api);
  const where = local
    ? 'check that `imgpipe dev` is still running (its address is in .imgpipe/dev.json)'
    : 'check the URL (--api, IMGPIPE_API or "api" in imgpipe.config.json) and that the API is deployed';
  const nothing = 'nothing was uploaded';
  if (err.code === 'ApiUnreachable') return { code: err.code, message: `cannot reach the presign API at ${url}: ${noAnswer(err.networkCode)}; ${where}; ${nothing}` };
  if (err.code !== 'ApiRefused' || err.status === undefined) return undefined;
  if (err.status === 401 || err.status === 403) {
    return { code: err.code, message: `the presign API at ${url} refused the request (${err.status}): check IMGPIPE_API_KEY (the key \`imgpipe deploy\` made) and the URL; ${nothing}` };
  }
  if (err.status === 404 || err.status === 405 || (err.status >= 200 && err.status < 300)) {
    return { code: err.code, message: `no presign API at ${url} (it answered ${err.status}, not a list of uploads): ${where}; ${nothing}` };
  }
  return undefined;
}
