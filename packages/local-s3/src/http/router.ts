// Which operation a verified request is, from its method, path and query; S3's own dispatch rules.
import { S3Error } from '../errors.js';
import { getObjectAttributes } from './attributes.js';
import { bucketLocation, createBucket, deleteBucket, deleteObjects, headBucket, listBuckets, listObjects } from './buckets.js';
import type { RequestContext } from './context.js';
import { completeUpload } from './multipart-complete.js';
import { listParts, listUploads } from './multipart-list.js';
import { abortUpload, createUpload, uploadPart } from './multipart.js';
import { deleteObject, getObject, putObject } from './objects.js';

type Handler = (ctx: RequestContext) => Promise<void>;

const BUCKET_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory', 'lifecycle', 'location',
  'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock',
  'replication', 'requestPayment', 'tagging', 'uploads', 'versioning', 'versions', 'website',
]);
const OBJECT_SUBRESOURCES = new Set(['acl', 'attributes', 'legal-hold', 'restore', 'retention', 'select', 'tagging', 'torrent', 'uploads', 'uploadId']);

/** A bucket POST that is not DeleteObjects: a browser form upload, refused signed or not. */
export const BROWSER_POST_REFUSED = 'Browser-based POST uploads are not supported by the local S3 server; use a pre-signed PUT.';

function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', `${what} is not supported by the local S3 server.`);
}

function bucketRoute(method: string, params: Map<string, string>): Handler {
  const sub = [...params.keys()].find((k) => BUCKET_SUBRESOURCES.has(k));
  if (method === 'POST') {
    if (sub === 'delete') return deleteObjects;
    throw new S3Error('NotImplemented', BROWSER_POST_REFUSED);
  }
  if (sub === 'location' && method === 'GET') return bucketLocation;
  if (sub === 'uploads' && method === 'GET') return listUploads;
  if (sub) throw notImplemented(`The bucket subresource ?${sub}`);
  switch (method) {
    case 'GET':
      return listObjects;
    case 'HEAD':
      return headBucket;
    case 'PUT':
      return createBucket;
    case 'DELETE':
      return deleteBucket;
  }
  throw new S3Error('MethodNotAllowed', { Method: method, ResourceType: 'BUCKET' });
}

function objectRoute(method: string, params: Map<string, string>): Handler {
  const sub = [...params.keys()].find((k) => OBJECT_SUBRESOURCES.has(k));
  if (method === 'POST' && sub === 'uploads') return createUpload;
  if (method === 'POST' && sub === 'uploadId') return completeUpload;
  if (method === 'PUT' && sub === 'uploadId') return uploadPart;
  if (method === 'DELETE' && sub === 'uploadId') return abortUpload;
  if (method === 'GET' && sub === 'uploadId') return listParts;
  if (method === 'GET' && sub === 'attributes') return getObjectAttributes;
  if (sub) throw notImplemented(`${method} on the object subresource ?${sub}`);
  if (params.has('partNumber')) throw notImplemented('partNumber without uploadId');
  switch (method) {
    case 'GET':
    case 'HEAD':
      return getObject;
    case 'PUT':
      return putObject;
    case 'DELETE':
      return deleteObject;
  }
  throw new S3Error('MethodNotAllowed', { Method: method, ResourceType: 'OBJECT' });
}

export function route(ctx: Pick<RequestContext, 'method' | 'target' | 'params'>): Handler {
  if (ctx.target.bucket === undefined) {
    if (ctx.method === 'GET') return listBuckets;
    throw new S3Error('MethodNotAllowed', { Method: ctx.method, ResourceType: 'SERVICE' });
  }
  return ctx.target.key === undefined ? bucketRoute(ctx.method, ctx.params) : objectRoute(ctx.method, ctx.params);
}
