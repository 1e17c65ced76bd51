// ListParts and ListMultipartUploads: pages of what the store keeps about uploads in progress, with
// S3's markers (part-number-marker; key-marker + upload-id-marker) and limits (1,000 a page).
import { S3Error, xmlEscape } from '../errors.js';
import type { Upload } from '../storage/store.js';
import { plan, receive, requireBucket, sendXml, type RequestContext } from './context.js';
import { checksumXml } from './multipart-checksums.js';
import { theUpload } from './multipart.js';

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const OWNER = '<ID>imgpipe-local</ID><DisplayName>imgpipe-local</DisplayName>';
const PEOPLE = `<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>`;

/** A non-negative integer parameter, capped at 1,000 (S3's page size), or S3's InvalidArgument. */
function pageSize(ctx: RequestContext, name: string): number {
  const raw = ctx.params.get(name);
  if (raw === undefined) return 1000;
  if (!/^\d+$/.test(raw) || Number(raw) > 2147483647) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: raw });
  }
  return Math.min(1000, Number(raw));
}

function partMarker(ctx: RequestContext): number {
  const raw = ctx.params.get('part-number-marker');
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) {
    throw new S3Error('InvalidArgument', 'Provided part-number-marker not an integer or within integer range', { ArgumentName: 'part-number-marker', ArgumentValue: raw });
  }
  return Number(raw);
}

function uploadChecksumXml(u: Upload): string {
  return u.checksumAlgorithm ? `<ChecksumAlgorithm>${u.checksumAlgorithm}</ChecksumAlgorithm><ChecksumType>${u.checksumType ?? 'COMPOSITE'}</ChecksumType>` : '';
}

export async function listParts(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const max = pageSize(ctx, 'max-parts');
  const marker = partMarker(ctx);
  await receive(ctx, plan(ctx, false), () => undefined);
  const { id, upload } = theUpload(ctx, bucket);
  const after = [...upload.parts].filter(([n]) => n > marker).sort(([a], [b]) => a - b);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  const next = page.length ? page[page.length - 1][0] : marker;
  const parts = page
    .map(([n, p]) => {
      const modified = new Date(p.lastModified ?? upload.initiated).toISOString();
      return `<Part><PartNumber>${n}</PartNumber><LastModified>${modified}</LastModified><ETag>"${p.etag}"</ETag><Size>${p.size}</Size>${checksumXml(p.checksum, false)}</Part>`;
    })
    .join('');
  sendXml(
    ctx,
    `<ListPartsResult ${XMLNS}><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(upload.key)}</Key><UploadId>${id}</UploadId>` +
      `<PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${next}</NextPartNumberMarker><MaxParts>${max}</MaxParts>` +
      `<IsTruncated>${truncated}</IsTruncated>${parts}${PEOPLE}<StorageClass>STANDARD</StorageClass>${uploadChecksumXml(upload)}</ListPartsResult>`,
  );
}

/** The uploads after the markers: keys after key-marker, or at key-marker after upload-id-marker (in list order). */
function afterMarkers(all: Array<{ id: string; upload: Upload }>, keyMarker: string, idMarker: string) {
  if (!keyMarker) return all;
  const at = idMarker ? all.findIndex((u) => u.upload.key === keyMarker && u.id === idMarker) : -1;
  return all.filter((u, i) => u.upload.key > keyMarker || (u.upload.key === keyMarker && (at !== -1 ? i > at : idMarker !== '' && u.id > idMarker)));
}

export async function listUploads(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const max = pageSize(ctx, 'max-uploads');
  const prefix = ctx.params.get('prefix') ?? '';
  const keyMarker = ctx.params.get('key-marker') ?? '';
  const idMarker = keyMarker ? (ctx.params.get('upload-id-marker') ?? '') : '';
  await receive(ctx, plan(ctx, false), () => undefined);
  const matching = afterMarkers(ctx.server.store.uploadsIn(bucket), keyMarker, idMarker).filter((u) => u.upload.key.startsWith(prefix));
  const page = matching.slice(0, max);
  const truncated = matching.length > page.length;
  const last = page[page.length - 1];
  const next = truncated && last ? `<NextKeyMarker>${xmlEscape(last.upload.key)}</NextKeyMarker><NextUploadIdMarker>${last.id}</NextUploadIdMarker>` : '';
  const uploads = page
    .map(({ id, upload: u }) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${id}</UploadId>${PEOPLE}<StorageClass>STANDARD</StorageClass>` +
      `<Initiated>${new Date(u.initiated).toISOString()}</Initiated>${u.checksumAlgorithm ? `<ChecksumAlgorithm>${u.checksumAlgorithm}</ChecksumAlgorithm><ChecksumType>${u.checksumType ?? 'COMPOSITE'}</ChecksumType>` : ''}</Upload>`)
    .join('');
  sendXml(
    ctx,
    `<ListMultipartUploadsResult ${XMLNS}><Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker>${xmlEscape(keyMarker)}</KeyMarker>` +
      `<UploadIdMarker>${xmlEscape(idMarker)}</UploadIdMarker>${next}<Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>${max}</MaxUploads>` +
      `<IsTruncated>${truncated}</IsTruncated>${uploads}</ListMultipartUploadsResult>`,
  );
}
