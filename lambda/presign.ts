// The presign API behind API Gateway (REST proxy integration or HTTP API payload 2.0), the entry
// the deploy bundles. Its rooms are in lambda/presign/: routes (method and path to handler), auth
// (x-api-key), validate (the wire checks, with the contract's schemas), uploads (POST /uploads and
// /uploads/complete), dedupe (bytes already there), sign (a PUT) and multipart (a plan in parts),
// variants (the read side), pages (GET / and GET /spec), config (its settings and environment).
import { route } from './presign/routes.js';
import { fail, type ApiEvent, type ApiResult } from './presign/http.js';
import { presignConfigFromEnv, type PresignConfig } from './presign/config.js';

export { PRESIGN_DEFAULTS, presignConfigFromEnv, type PresignConfig } from './presign/config.js';
export type { ApiEvent, ApiResult } from './presign/http.js';

/**
 * The handler for one configuration: an API Gateway event in, its answer out, never a throw.
 * examples/api/lambdas.mjs runs it on a local S3 server (test/api-examples.test.ts runs that file).
 *
 * @example
 * const presign = createPresignHandler({ ...PRESIGN_DEFAULTS, bucket: 'photos', s3: new S3Client({}) });
 * const sha256 = createHash('sha256').update(bytes).digest('base64');
 * const answer = await presign({ httpMethod: 'POST', path: '/uploads', body: JSON.stringify({ files: [{ name: 'a.jpg', size: bytes.length, contentType: 'image/jpeg', sha256 }] }) });
 * // answer.body: {"uploads":[{"name":"a.jpg","key":"uploads/<sha256 in base32>/a.jpg","url":…,"method":"PUT","headers":{…},"expiresAt":…}]}
 */
export function createPresignHandler(config: PresignConfig) {
  return async function presign(event: ApiEvent): Promise<ApiResult> {
    try {
      return await route(event, config);
    } catch (err) {
      // Only our own faults get here (signing, credentials): say so without details.
      console.error(JSON.stringify({ level: 'error', msg: 'presign failed', error: (err as Error).message }));
      return fail(500, 'InternalError', 'could not presign the request');
    }
  };
}

let deployed: ReturnType<typeof createPresignHandler> | undefined;

/** The Lambda entry point: configured from the environment on first call. */
export async function handler(event: ApiEvent): Promise<ApiResult> {
  deployed ??= createPresignHandler(presignConfigFromEnv());
  return deployed(event);
}
