// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, ListObjects(V2), DeleteObjects.
import { S3Error, xmlEscape } from '../errors.js';
import { validateKey } from '../keys.js';
import { listPage, listXml, parseListRequest } from '../list.js';
import { plan, receive, receiveSmall, requireBucket, sendEmpty, sendXml, type RequestContext } from './context.js';
import { removeObject } from './objects.js';
import { parseDeleteRequest, parseXml } from './xml.js';

const OWNER = '<Owner><ID>imgpipe-local</ID><DisplayName>imgpipe-local</DisplayName></Owner>';

export async function listBuckets(ctx: RequestContext): Promise<void> {
  await receive(ctx, plan(ctx, false), () => undefined);
  const buckets = ctx.server.store
    .bucketNames()
    .map((b) => `<Bucket><Name>${xmlEscape(b.name)}</Name><CreationDate>${new Date(b.created).toISOString()}</CreationDate></Bucket>`)
    .join('');
  sendXml(ctx, `<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${OWNER}<Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`);
}

/** A CreateBucketConfiguration may only leave the location out: this server is us-east-1, which
 *  refuses its own name (as S3 does) and any other region's. */
function checkLocation(body: Buffer, region: string): void {
  if (!body.toString('utf8').trim()) return;
  const doc = parseXml(body).CreateBucketConfiguration as { LocationConstraint?: unknown } | string | undefined;
  if (doc === undefined) throw new S3Error('MalformedXML');
  const location = typeof doc === 'object' ? doc.LocationConstraint : undefined;
  if (location === undefined || location === '') return;
  const name = typeof location === 'string' ? location.trim() : '';
  if (/^[a-z]{2}(-[a-z]+)+-\d+$/.test(name) && name !== region) {
    throw new S3Error('IllegalLocationConstraintException', `The ${name} location constraint is incompatible for the region specific endpoint this request was sent to.`);
  }
  throw new S3Error('InvalidLocationConstraint', { LocationConstraint: name });
}

export async function createBucket(ctx: RequestContext): Promise<void> {
  checkLocation(await receiveSmall(ctx), ctx.server.region);
  await ctx.server.store.createBucket(ctx.target.bucket!); // us-east-1 answers 200 to its owner when it exists
  sendEmpty(ctx, 200, { location: `/${ctx.target.bucket}` });
}

export async function headBucket(ctx: RequestContext): Promise<void> {
  requireBucket(ctx);
  await receive(ctx, plan(ctx, false), () => undefined);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.server.region });
}

export async function deleteBucket(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  await receive(ctx, plan(ctx, false), () => undefined);
  if (!ctx.server.store.isEmpty(bucket)) throw new S3Error('BucketNotEmpty', { BucketName: bucket });
  await ctx.server.store.deleteBucket(bucket);
  sendEmpty(ctx, 204);
}

export async function bucketLocation(ctx: RequestContext): Promise<void> {
  requireBucket(ctx);
  await receive(ctx, plan(ctx, false), () => undefined);
  sendXml(ctx, '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>');
}

export async function listObjects(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const req = parseListRequest(bucket, [...ctx.params]);
  await receive(ctx, plan(ctx, false), () => undefined);
  const store = ctx.server.store;
  const page = listPage(req, store.keys(bucket)!, (k) => store.get(bucket, k));
  const body = listXml(bucket, req, page);
  ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

/** Every key passes the same checks as a key in a path; a refused one is an <Error> entry, like S3's. */
export async function deleteObjects(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const { keys, quiet } = parseDeleteRequest(await receiveSmall(ctx));
  let xml = '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  for (const key of keys) {
    try {
      validateKey(key);
      await removeObject(ctx, bucket, key);
      if (!quiet) xml += `<Deleted><Key>${xmlEscape(key)}</Key></Deleted>`;
    } catch (err) {
      const e = err instanceof S3Error ? err : new S3Error('InternalError');
      xml += `<Error><Key>${xmlEscape(key)}</Key><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error>`;
    }
  }
  sendXml(ctx, xml + '</DeleteResult>');
}
