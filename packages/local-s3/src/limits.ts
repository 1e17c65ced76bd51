// The sizes past which the server refuses a request, with S3's own error, before it holds more of
// it. All but one are S3's published limits, so that what works here works on S3; README's
// "Limits" says the same numbers (test/local-s3-limits.test.ts holds both to them).

/** What one request may carry, in bytes. */
export const LIMITS = {
  /** An object key, UTF-8 (KeyTooLongError). */
  keyBytes: 1024,
  /** User metadata: every name (without `x-amz-meta-`) and value, UTF-8, summed (MetadataTooLarge). */
  userMetadataBytes: 2048,
  /** The header section and the query together, cookies not counted (RequestHeaderSectionTooLarge). */
  headerSectionBytes: 8 * 1024,
  /** One PutObject or UploadPart body (EntityTooLarge). */
  bodyBytes: 5 * 1024 ** 3,
  /** An aws-chunked body's trailer in all: a checksum and a signature fit, a flood of lines does not (MalformedTrailerError). */
  trailerBytes: 4 * 1024,
  /** Not S3's: an XML body (CreateBucket, DeleteObjects, CompleteMultipartUpload), held in memory (MaxMessageLengthExceeded). */
  xmlBodyBytes: 2 * 1024 * 1024,
} as const;
