// S3's error shape: a stable code, its HTTP status, and the XML <Error> document.

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketNotEmpty: 409,
  ConditionalRequestConflict: 409,
  EntityTooSmall: 400,
  EntityTooLarge: 400,
  IllegalLocationConstraintException: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidChunkSizeError: 403,
  InvalidDigest: 400,
  InvalidLocationConstraint: 400,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MalformedTrailerError: 400,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestHeaderSectionTooLarge: 400,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
};

/** An error answered as S3 answers it: status, XML <Error> with Code, Message and detail elements. */
export class S3Error extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly detail: Record<string, string | number> = {},
    status?: number,
  ) {
    super(message);
    this.name = 'S3Error';
    this.status = status ?? STATUS[code] ?? 400;
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
