// The guard that keeps the local stack's keys on this machine (src/core/local-keys.ts says why):
// checked before any request is built, from the environment at the start of a verb, and on every
// AWS client from the credentials it actually resolved.
import { isLocalStackKey, isLoopbackUrl, LocalKeysError } from '../core/local-keys.js';

/** The S3 endpoint a client without one of its own is sent to: the SDK honours these variables. */
export function configuredS3Endpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return undefined;
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * Refuse at once, before any work, when the environment's keys are the local stack's and would go
 * to `where`. Under AWS_PROFILE the SDK skips the environment's keys, so they would not be sent.
 */
export function refuseLocalKeysInEnv(where: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!env.AWS_PROFILE && isLocalStackKey(env.AWS_ACCESS_KEY_ID)) throw new LocalKeysError(where, true);
}

interface GuardedClient {
  config: { credentials: () => Promise<{ accessKeyId: string }> };
  middlewareStack: { add: (mw: never, opts: { step: 'initialize'; name: string; override: boolean }) => void };
}

/** Every call of `client` first checks the credentials it resolved (a profile may hold the local keys too). */
export function guardLocalKeys<C extends GuardedClient>(client: C, where: string): C {
  const mw = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    const { accessKeyId } = await client.config.credentials();
    if (isLocalStackKey(accessKeyId)) throw new LocalKeysError(where, accessKeyId === process.env.AWS_ACCESS_KEY_ID);
    return next(args);
  };
  client.middlewareStack.add(mw as never, { step: 'initialize', name: 'imgpipeLocalKeysStayLocal', override: true });
  return client;
}

/** Whether an S3 client from the default chain, sent to `endpoint` (or AWS), may carry the local keys. */
export function localKeysMayGo(endpoint: string | undefined): boolean {
  return isLoopbackUrl(endpoint ?? configuredS3Endpoint());
}
