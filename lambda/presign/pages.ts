// The two GETs: the spec the resize runs with the API's limits (GET /spec), and the upload page (GET /).
import { PAGE_CSP, PAGE_HTML } from '../../src/web/page.generated.js';
import type { SpecResponse } from '../../src/api/contract.js';
import { specHash, type Spec } from '../../src/core/spec.js';
import { json, type ApiResult } from './http.js';
import type { PresignConfig } from './config.js';

export function getSpec(config: PresignConfig & { spec: Spec }): ApiResult {
  const limits = { maxFileBytes: config.maxFileBytes, maxFiles: config.maxFiles, allowedTypes: config.allowedTypes };
  return json(200, { specHash: specHash(config.spec), spec: config.spec, limits } satisfies SpecResponse);
}

/** The upload page: public (it holds no secret; the API key, if any, is typed into it). */
export function getPage(): ApiResult {
  return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff' }, body: PAGE_HTML };
}
