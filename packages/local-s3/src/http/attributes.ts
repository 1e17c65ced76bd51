// GetObjectAttributes (GET ?attributes): what x-amz-object-attributes asks for, of ETag (without
// quotes, as S3 writes it here), Checksum, ObjectParts, StorageClass and ObjectSize.
import { S3Error, xmlEscape } from '../errors.js';
import type { ObjectMeta } from '../storage/records.js';
import { plan, receive, requireBucket, sendXml, type RequestContext } from './context.js';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'];

function asked(ctx: RequestContext): Set<string> {
  const raw = ctx.headers.get('x-amz-object-attributes') ?? '';
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.find((n) => !ATTRIBUTES.includes(n));
  if (!names.length || unknown !== undefined) {
    throw new S3Error('InvalidArgument', 'Invalid attribute name specified.', { ArgumentName: 'x-amz-object-attributes', ArgumentValue: raw });
  }
  return new Set(names);
}

function integerHeader(ctx: RequestContext, name: string, fallback: number): number {
  const raw = ctx.headers.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: raw });
  return Number(raw.trim());
}

/** The object's checksum as GetObjectAttributes gives it: a composite one without its "-<parts>". */
function checksumXml(meta: ObjectMeta): string {
  const c = meta.checksum;
  if (!c) return '';
  return `<Checksum><Checksum${c.algorithm}>${c.value.replace(/-\d+$/, '')}</Checksum${c.algorithm}><ChecksumType>${c.type ?? 'FULL_OBJECT'}</ChecksumType></Checksum>`;
}

function partsXml(ctx: RequestContext, meta: ObjectMeta): string {
  if (!meta.parts) return '';
  const max = Math.min(1000, integerHeader(ctx, 'x-amz-max-parts', 1000));
  const marker = integerHeader(ctx, 'x-amz-part-number-marker', 0);
  const after = meta.parts.map((p, i) => ({ n: i + 1, ...p })).filter((p) => p.n > marker);
  const page = after.slice(0, max);
  const next = page.length ? page[page.length - 1].n : marker;
  const alg = meta.checksum?.algorithm;
  const parts = page
    .map((p) => `<Part><PartNumber>${p.n}</PartNumber><Size>${p.size}</Size>${alg && p.checksum ? `<Checksum${alg}>${p.checksum}</Checksum${alg}>` : ''}</Part>`)
    .join('');
  return (
    `<ObjectParts><PartsCount>${meta.parts.length}</PartsCount><PartNumberMarker>${marker}</PartNumberMarker>` +
    `<NextPartNumberMarker>${next}</NextPartNumberMarker><MaxParts>${max}</MaxParts><IsTruncated>${after.length > page.length}</IsTruncated>${parts}</ObjectParts>`
  );
}

export async function getObjectAttributes(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const want = asked(ctx);
  await receive(ctx, plan(ctx, false), () => undefined);
  const meta = ctx.server.store.get(bucket, ctx.target.key!);
  if (!meta) throw new S3Error('NoSuchKey', { Key: ctx.target.key! });
  const xml =
    (want.has('ETag') ? `<ETag>${xmlEscape(meta.etag)}</ETag>` : '') +
    (want.has('Checksum') ? checksumXml(meta) : '') +
    (want.has('ObjectParts') ? partsXml(ctx, meta) : '') +
    (want.has('StorageClass') ? '<StorageClass>STANDARD</StorageClass>' : '') +
    (want.has('ObjectSize') ? `<ObjectSize>${meta.size}</ObjectSize>` : '');
  sendXml(ctx, `<GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${xml}</GetObjectAttributesResponse>`, 200, {
    'last-modified': new Date(meta.lastModified).toUTCString(),
  });
}
