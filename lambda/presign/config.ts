// What the presign function is configured with, and how the deployed one reads it from its
// environment (src/deploy/ writes these variables; src/local/stack.ts builds the record directly).
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { MAX_FILES_PER_REQUEST } from '../../src/api/contract.js';
import { DEFAULT_SPEC, parseSpec, type Spec } from '../../src/core/spec.js';
import { CONTENT_TYPES, MAX_INPUT_BYTES } from '../../src/core/validate.js';
import { createS3Client } from '../../src/s3/client.js';
import { AWS_HEAL_AFTER_MS, sqsRequeue, type Requeue } from '../heal.js';

export interface PresignConfig {
  bucket: string;
  s3: S3Client;
  /**
   * Signs the URLs clients are handed, when they reach storage at another address than this
   * function does (the local stack behind a test's or a bench's proxy); default `s3`. The
   * function's own calls (lookups, Create, Complete) go through `s3`, as on AWS they stay in the region.
   */
  signer?: S3Client;
  /** Seconds a URL stays valid. */
  expiresIn: number;
  maxFileBytes: number;
  maxFiles: number;
  maxBodyBytes: number;
  keyPrefix: string;
  allowedTypes: string[];
  /** When set, requests must carry it in `x-api-key`. */
  apiKey?: string;
  /** The spec the resize runs (served at GET /spec); undefined: the route answers 404. */
  spec?: Spec;
  /** Where the variants and records are: enables POST /variants (the read side). */
  destBucket?: string;
  /** The CDN's base URL in front of destBucket: POST /variants answers its URLs, not pre-signed ones. */
  cdn?: string;
  /** Serve the upload page at GET / (default false). */
  page?: boolean;
  /**
   * Answer "exists" for content already in the bucket (default true). Costs one ListObjectsV2 per
   * file (IAM: s3:ListBucket on the key prefix); reveals to a caller with the API key whether
   * some exact bytes were uploaded.
   */
  dedupe?: boolean;
  /**
   * With dedupe and destBucket: how an "exists" whose resize never finished is queued again
   * (lambda/heal.ts); undefined: answered "exists" and left as it is.
   */
  requeue?: Requeue;
  /** With no record, how long after its upload an object counts as stranded (heal.ts). */
  healAfterMs?: number;
}

export const PRESIGN_DEFAULTS = {
  expiresIn: 15 * 60,
  maxFileBytes: MAX_INPUT_BYTES, // what the resize reads whole
  maxFiles: MAX_FILES_PER_REQUEST,
  maxBodyBytes: 512 * 1024,
  keyPrefix: 'uploads',
  allowedTypes: Object.values(CONTENT_TYPES),
};

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

export function presignConfigFromEnv(env: NodeJS.ProcessEnv = process.env, s3: S3Client = createS3Client()): PresignConfig {
  const bucket = env.SOURCE_BUCKET;
  if (!bucket) throw new Error('SOURCE_BUCKET is not set');
  return {
    bucket,
    s3,
    expiresIn: intEnv(env, 'URL_EXPIRES_SECONDS', PRESIGN_DEFAULTS.expiresIn),
    maxFileBytes: intEnv(env, 'MAX_FILE_BYTES', PRESIGN_DEFAULTS.maxFileBytes),
    maxFiles: intEnv(env, 'MAX_FILES', PRESIGN_DEFAULTS.maxFiles),
    maxBodyBytes: PRESIGN_DEFAULTS.maxBodyBytes,
    keyPrefix: env.KEY_PREFIX || PRESIGN_DEFAULTS.keyPrefix,
    allowedTypes: PRESIGN_DEFAULTS.allowedTypes,
    apiKey: env.API_KEY || undefined,
    dedupe: env.DEDUPE !== 'false',
    spec: env.IMGPIPE_SPEC ? parseSpec(JSON.parse(env.IMGPIPE_SPEC), 'IMGPIPE_SPEC') : DEFAULT_SPEC,
    destBucket: env.DEST_BUCKET || undefined,
    cdn: env.CDN_URL || undefined,
    page: env.SERVE_PAGE !== 'false',
    requeue: env.RESIZE_QUEUE_URL ? sqsRequeue(new SQSClient({}), env.RESIZE_QUEUE_URL, env.AWS_REGION ?? 'us-east-1') : undefined,
    healAfterMs: intEnv(env, 'HEAL_AFTER_SECONDS', AWS_HEAL_AFTER_MS / 1000) * 1000,
  };
}
