// Method and path to handler. GET / (the page, when served) and GET /spec are public; every POST
// carries the API key when there is one, and a JSON body. The last segment of the path names the
// route, so a stage prefix (/prod/uploads) or a custom domain's base path routes the same.
import { DEFAULT_SPEC, type Spec } from '../../src/core/spec.js';
import type { Requeue } from '../heal.js';
import { answerReprocess } from '../reprocess.js';
import { authorized } from './auth.js';
import { fail, isResult, json, jsonBody, methodAndPath, type ApiEvent, type ApiResult } from './http.js';
import { getPage, getSpec } from './pages.js';
import { postComplete, postUploads } from './uploads.js';
import { validateReprocessBody, validateVariantsBody } from './validate.js';
import { answerVariants } from './variants.js';
import type { PresignConfig } from './config.js';

type Post = 'uploads' | 'uploads/complete' | 'variants' | 'reprocess';

/** The POSTs this configuration serves: the read side needs the destination, reprocess a queue too. */
function posts(config: PresignConfig): Post[] {
  return ['uploads', 'uploads/complete', ...(config.destBucket ? (['variants'] as const) : []), ...(config.destBucket && config.requeue ? (['reprocess'] as const) : [])];
}

async function postReprocess(body: unknown, config: PresignConfig & { destBucket: string; requeue: Requeue }): Promise<ApiResult> {
  const request = validateReprocessBody(body, config.maxFiles);
  if (isResult(request)) return request;
  return json(200, { reprocess: await answerReprocess({ ...config, spec: config.spec ?? DEFAULT_SPEC }, request.keys, request.dryRun) });
}

async function postVariants(body: unknown, config: PresignConfig & { destBucket: string }): Promise<ApiResult> {
  const keys = validateVariantsBody(body);
  if (isResult(keys)) return keys;
  const { s3, signer, destBucket, keyPrefix, expiresIn, cdn } = config;
  return json(200, { variants: await answerVariants({ s3, signer, destBucket, keyPrefix, expiresIn, spec: config.spec ?? DEFAULT_SPEC, cdn }, keys) });
}

function post(route: Post, body: unknown, config: PresignConfig): Promise<ApiResult> {
  if (route === 'uploads/complete') return postComplete(body, config);
  if (route === 'reprocess') return postReprocess(body, config as PresignConfig & { destBucket: string; requeue: Requeue });
  if (route === 'variants') return postVariants(body, config as PresignConfig & { destBucket: string });
  return postUploads(body, config);
}

/** The answer to one request; a throw is the caller's to turn into a 500. */
export async function route(event: ApiEvent, config: PresignConfig): Promise<ApiResult> {
  const { method, path } = methodAndPath(event);
  const name = /(^|\/)uploads\/complete$/.test(path) ? 'uploads/complete' : (path.split('/').pop() ?? '');
  if (method === 'GET' && (name === '' || path === '') && config.page) return getPage();
  if (method === 'GET' && name === 'spec' && config.spec) return getSpec(config as PresignConfig & { spec: Spec });
  const served = posts(config);
  if (!(served as string[]).includes(name)) return fail(404, 'NotFound', `served here: ${config.page ? 'GET /, ' : ''}GET /spec, ${served.map((p) => `POST /${p}`).join(', ')}`);
  if (method !== 'POST') return fail(405, 'MethodNotAllowed', `use POST /${name}`);
  if (!authorized(event, config.apiKey)) return fail(401, 'Unauthorized', 'missing or wrong x-api-key');
  const parsed = jsonBody(event, config.maxBodyBytes);
  if (isResult(parsed)) return parsed;
  return post(name as Post, parsed.body, config);
}
