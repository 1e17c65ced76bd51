// S3's error shape: a stable code, its HTTP status, and the XML <Error> document.

/**
 * Every code this server answers, with S3's status and S3's default <Message> for it (the shape of
 * versitygw's s3err table). The texts are S3's, byte for byte: SDKs and tests compare them.
 */
export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AccessForbidden: {
    status: 403,
    message:
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header you provided is invalid.' },
  AuthorizationQueryParametersError: { status: 400, message: 'The authorization query parameters you provided are invalid.' },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  BadRequest: { status: 400, message: 'An error occurred when parsing the HTTP request.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty' },
  ConditionalRequestConflict: {
    status: 409,
    message: 'A conflicting conditional operation is currently in progress against this resource. Please try again.',
  },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size' },
  IllegalLocationConstraintException: {
    status: 400,
    message: 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
  },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidChunkSizeError: { status: 403, message: 'Only the last chunk is allowed to have a size less than 8192 bytes' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified was invalid.' },
  InvalidLocationConstraint: { status: 400, message: 'The specified location-constraint is not valid' },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: 'Your key is too long' },
  MalformedTrailerError: {
    status: 400,
    message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.',
  },
  MalformedXML: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema' },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: {
    status: 404,
    message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  NotImplemented: { status: 501, message: 'A header you provided implies functionality that is not implemented' },
  PreconditionFailed: { status: 412, message: 'At least one of the pre-conditions you specified did not hold' },
  RequestHeaderSectionTooLarge: { status: 400, message: 'Your request header section exceeds the maximum allowed size.' },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the current time is too large.' },
  SignatureDoesNotMatch: {
    status: 403,
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  XAmzContentSHA256Mismatch: { status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed." },
} as const satisfies Record<string, { status: number; message: string }>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** S3's other IncompleteBody text: the one it sends when the connection ends before the body does. */
export const BODY_ENDED_EARLY = 'The request body terminated unexpectedly';

/** Detail elements after <Message>, in S3's names (Key, BucketName, ArgumentName, …). */
type S3ErrorDetail = Record<string, string | number>;

/**
 * An error answered as S3 answers it: the table's status, XML <Error> with Code, Message and detail.
 * The message is the table's unless S3 gives a more specific one; it comes before the detail, as in the XML.
 * @example new S3Error('NoSuchKey', { Key: key })
 * @example new S3Error('InvalidRequest', `Value for ${header} header is invalid.`)
 */
export class S3Error extends Error {
  readonly status: number;
  readonly detail: S3ErrorDetail;
  constructor(code: S3ErrorCode, detail?: S3ErrorDetail);
  constructor(code: S3ErrorCode, message: string, detail?: S3ErrorDetail);
  constructor(
    readonly code: S3ErrorCode,
    messageOrDetail?: string | S3ErrorDetail,
    detail: S3ErrorDetail = {},
  ) {
    super(typeof messageOrDetail === 'string' ? messageOrDetail : S3_ERRORS[code].message);
    this.name = 'S3Error';
    this.status = S3_ERRORS[code].status;
    this.detail = typeof messageOrDetail === 'object' ? messageOrDetail : detail;
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '&#13;',
  );
}

export function errorXml(err: S3Error, requestId: string, hostId: string): string {
  const detail = Object.entries(err.detail)
    .map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>${detail}` +
    `<RequestId>${requestId}</RequestId><HostId>${xmlEscape(hostId)}</HostId></Error>`
  );
}
