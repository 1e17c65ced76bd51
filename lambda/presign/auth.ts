// The API key: when the function has one, every POST carries it in `x-api-key`. Compared in
// constant time, so the answer's timing says nothing of how much of a guess was right.
import { timingSafeEqual } from 'node:crypto';
import { header, type ApiEvent } from './http.js';

function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the request may go on: no key configured, or the one configured. */
export function authorized(event: ApiEvent, apiKey: string | undefined): boolean {
  return apiKey === undefined || sameSecret(header(event, 'x-api-key'), apiKey);
}
