// The local API's `GET /health?challenge=NONCE`: the stack answers HMAC-SHA256 of the nonce and
// its pid, keyed by its data folder's S3 secret, so a client holding `.imgpipe/dev.json` learns
// that the server at `apiUrl` is the `dev` the file names, not something that merely answers 200.
//
// Why a challenge on the API and not a SigV4-signed request to the S3 port: the file's `apiUrl` is
// where the photos' presign requests go (and the presigned URLs come from), so the proof must come
// from that very endpoint; and an S3 server that answers 200 to every signature would pass a
// SigV4 probe, while no server can answer this one without the secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a nonce may look like (base64url, 128 bits or more): the server signs nothing else. */
export const CHALLENGE = /^[A-Za-z0-9_-]{22,128}$/;

export const newChallenge = (): string => randomBytes(24).toString('base64url');

/** The proof of a stack whose process is `pid` and whose S3 secret is `secret` (domain-separated). */
export function healthProof(secret: string, pid: number, challenge: string): string {
  return createHmac('sha256', secret).update(`imgpipe-dev-health\n${pid}\n${challenge}`).digest('hex');
}

export function proofMatches(answer: unknown, expected: string): boolean {
  if (typeof answer !== 'string' || answer.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(answer), Buffer.from(expected));
}
