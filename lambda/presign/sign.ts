// One PUT, pre-signed: the URL signs the content type, length and SHA-256 as headers the client
// must send (not query parameters it could drop), so S3 refuses a body of another type, size or
// content; the file's path relative to its folder, if given, goes into the object's metadata.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FileRequest, UploadGranted } from '../../src/api/contract.js';
import { SOURCE_PATH_HEADER, SOURCE_PATH_META, encodeSourcePath } from '../../src/core/source-path.js';
import type { PresignConfig } from './config.js';

export async function signPut(file: FileRequest, key: string, config: Pick<PresignConfig, 'bucket' | 's3' | 'signer' | 'expiresIn'>, now: Date): Promise<UploadGranted> {
  const sourcePath = file.path === undefined ? undefined : encodeSourcePath(file.path);
  const command = new PutObjectCommand({
    Bucket: config.bucket,
    Key: key,
    ContentType: file.contentType,
    ContentLength: file.size,
    ChecksumSHA256: file.sha256,
    ...(sourcePath ? { Metadata: { [SOURCE_PATH_META]: sourcePath } } : {}),
  });
  const url = await getSignedUrl(config.signer ?? config.s3, command, {
    expiresIn: config.expiresIn,
    signableHeaders: new Set(['content-type', 'content-length']),
    unhoistableHeaders: new Set(['x-amz-checksum-sha256', SOURCE_PATH_HEADER]),
    signingDate: now,
  });
  return {
    name: file.name,
    key,
    url,
    method: 'PUT',
    headers: {
      'content-type': file.contentType,
      'content-length': String(file.size),
      'x-amz-checksum-sha256': file.sha256,
      ...(sourcePath ? { [SOURCE_PATH_HEADER]: sourcePath } : {}),
    },
    expiresAt: new Date(now.getTime() + config.expiresIn * 1000).toISOString(),
  };
}
