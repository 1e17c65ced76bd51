// One S3 client factory for the CLI, the handlers and the local stack.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { configuredS3Endpoint, guardLocalKeys, localKeysMayGo } from './local-keys.js';

export interface S3Target {
  region?: string;
  /** Any S3-compatible endpoint (the local stack, MinIO…); path-style addressing is used with it. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
}

/**
 * The region the SDK's own chain names (AWS_REGION, then the `region` of the profile in use, so
 * --profile brings its region), else us-east-1: S3's home, and what S3-compatible stores accept.
 */
async function chainRegion(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}

export function createS3Client(target: S3Target = {}): S3Client {
  const config: S3ClientConfig = {
    region: target.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? chainRegion,
    // The SDK's default ('WHEN_SUPPORTED') adds a CRC32 of an *empty* body to every pre-signed
    // URL, which S3 then holds against the real upload; and it frames streamed bodies as
    // aws-chunked, which S3-compatible stores handle badly. We send SHA-256 ourselves.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: target.maxAttempts ?? 3,
  };
  if (target.endpoint) {
    config.endpoint = target.endpoint;
    config.forcePathStyle = true;
  }
  if (target.credentials) config.credentials = target.credentials;
  const client = new S3Client(config);
  // The chain's keys may be the local stack's (left in the shell): only a loopback S3 gets them.
  if (!target.credentials && !localKeysMayGo(target.endpoint)) guardLocalKeys(client, `S3 at ${target.endpoint ?? configuredS3Endpoint() ?? 'AWS'}`);
  return client;
}
