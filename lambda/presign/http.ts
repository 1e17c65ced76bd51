// The API Gateway side of the presign API: the proxy event it reads (REST v1 or HTTP API payload
// 2.0), the result it answers, and the JSON body of a POST with its two refusals.

/** The parts of an API Gateway proxy event (v1 REST or v2 HTTP API) the handler reads. */
export interface ApiEvent {
  version?: string;
  httpMethod?: string;
  path?: string;
  rawPath?: string;
  requestContext?: { http?: { method?: string; path?: string } };
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface ApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const json = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** A refusal: `{error: {code, message}}` with its status. */
export const fail = (statusCode: number, code: string, message: string) => json(statusCode, { error: { code, message } });

export const isResult = (v: unknown): v is ApiResult => typeof v === 'object' && v !== null && 'statusCode' in v;

/** A request header, whatever the case API Gateway passed its name in. */
export function header(event: ApiEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name) return v ?? undefined;
  return undefined;
}

/** The method and the path without trailing slashes (with the stage, for an HTTP API). */
export function methodAndPath(event: ApiEvent): { method: string; path: string } {
  const method = (event.requestContext?.http?.method ?? event.httpMethod ?? '').toUpperCase();
  const path = (event.rawPath ?? event.path ?? event.requestContext?.http?.path ?? '').replace(/\/+$/, '');
  return { method, path };
}

/** The JSON body of a POST, or the 4xx answer that refuses it. */
export function jsonBody(event: ApiEvent, maxBodyBytes: number): { body: unknown } | ApiResult {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > maxBodyBytes) return fail(413, 'BodyTooLarge', `request body over ${maxBodyBytes} bytes`);
  try {
    return { body: JSON.parse(text) };
  } catch {
    return fail(400, 'MalformedJSON', 'the body is not valid JSON');
  }
}
