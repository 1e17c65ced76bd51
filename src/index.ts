// imgpipe as a library (package.json's "."): the upload job, the embedded local stack it runs
// against, and the spec both take. examples/api/upload.mjs uses them; the Lambda handlers are
// `imgpipe/lambda/presign` and `imgpipe/lambda/resize`, the S3 server `@imgpipe/local-s3`.
export { runUpload, type UploadEvent, type UploadOptions, type UploadRecord, type UploadResult, type UploadStage } from './jobs/upload.js';
export type { Destination } from './core/destination.js';
export type { FileStatus } from './core/file-status.js';
export { startLocalStack, type LocalStack, type LocalStackOptions } from './local/stack.js';
export { DEFAULT_SPEC, parseSpec, type Spec, type SpecInput } from './core/spec.js';
