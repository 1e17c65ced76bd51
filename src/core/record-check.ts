// What a record read back from the destination bucket must be before anything trusts it. Anyone
// who can write to that bucket (or answer as its endpoint) can plant one, and its fields end up
// in HTML (`watch --html`), in pre-signed URLs (POST /variants) and in scripts (`--json`): every
// field is checked for type and shape here, and a record that fails is that image's own error,
// never the batch's.
import { z } from 'zod';
import { outputKeyAt, VERSION_SEGMENT } from './keys.js';
import { RECORD_VERSION, type FailedRecord } from './failed-record.js';
import type { ImageRecord } from './record.js';
import { CONTENT_TYPES } from './validate.js';
import { MAX_SOURCE_PATH_BYTES, sourcePathProblem } from './source-path.js';

/** Larger than any record the resize writes (a few KB), small enough to read whole. */
export const MAX_RECORD_BYTES = 256 * 1024;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().max(max);
const variantFormat = z.enum(['jpeg', 'webp', 'avif', 'png']);

const variantSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/),
    key: text(1024),
    format: variantFormat,
    contentType: z.enum(['image/jpeg', 'image/webp', 'image/avif', 'image/png']),
    width: count,
    height: count,
    bytes: count,
  })
  .refine((v) => v.contentType === CONTENT_TYPES[v.format], { message: 'contentType does not match format' });

const doneSchema = z.object({
  version: count,
  status: z.literal('done'),
  source: z.object({ key: text(1024), path: text(MAX_SOURCE_PATH_BYTES).refine((p) => !sourcePathProblem(p), { message: 'not a relative path' }).optional(), sha256: text(64), format: z.string().regex(/^[a-z0-9]{1,12}$/), width: count, height: count, bytes: count }),
  specHash: text(128),
  variants: z.array(variantSchema).min(1).max(64),
  placeholder: z.string().regex(/^[A-Za-z0-9+/]{0,256}={0,2}$/),
  color: z.string().regex(/^#[0-9a-f]{6}$/i),
  taken: z.object({ at: text(64).optional(), camera: text(256).optional() }).optional(),
  createdAt: text(64),
});

const failedSchema = z.object({
  version: count,
  status: z.literal('failed'),
  source: z.object({ key: text(1024) }),
  specHash: text(128),
  code: z.string().regex(/^[a-z][a-z-]{0,39}$/),
  reason: text(4096),
  attempts: count.optional(),
  failedAt: text(64),
});

export type RecordCheck = { ok: true; record: ImageRecord } | { ok: false; reason: string };

/** `value` as the record of `sourceKey` of the kind its key says (a done one, or a failure). */
export function checkRecord(value: unknown, sourceKey: string, kind: 'done' | 'failed'): RecordCheck {
  const parsed = (kind === 'done' ? doneSchema : failedSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}` };
  }
  if (parsed.data.source.key !== sourceKey) return { ok: false, reason: 'it names another source key' };
  // A variant's key follows from the source key, its name, a version and its format (or the
  // source's own extension, for 'same'): nothing else, so a record cannot point a reader at any
  // other object.
  if (parsed.data.status === 'done') {
    const versionOf = (key: string) => {
      const version = key.split('/')[1] ?? '';
      return VERSION_SEGMENT.test(version) ? version : undefined;
    };
    const own = (v: { key: string; name: string; format: 'jpeg' | 'webp' | 'avif' | 'png' }) => {
      const version = versionOf(v.key);
      return version !== undefined && (v.key === outputKeyAt(sourceKey, v, version) || v.key === outputKeyAt(sourceKey, { name: v.name, format: 'same' }, version));
    };
    const stray = parsed.data.variants.find((v) => !own(v));
    if (stray) return { ok: false, reason: `variant ${JSON.stringify(stray.name)} names a key that is not its own` };
  }
  return { ok: true, record: parsed.data as ImageRecord };
}

/** The failure an image gets when its record cannot be trusted. */
export function malformedRecord(sourceKey: string, where: string, reason: string): FailedRecord {
  return { version: RECORD_VERSION, status: 'failed', source: { key: sourceKey }, specHash: '', code: 'malformed-record', reason: `its record ${where} is not one imgpipe wrote (${reason})`, failedAt: new Date().toISOString() };
}
