// What a request body must be (planBody, from the verified headers) and the check of the bytes as
// they arrive (BodyVerifier): framing, length, x-amz-content-sha256, Content-MD5, x-amz-checksum-*.
import { createHash, type Hash } from 'node:crypto';
import { AwsChunkedDecoder } from './chunked.js';
import { CHECKSUM_ALGORITHMS, checksumAlgorithmOfHeader, createChecksum, validChecksumValue, type ChecksumAlgorithm, type Hasher } from './checksums.js';
import { S3Error } from './errors.js';
import { STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER, type AuthContext } from './sigv4.js';

export interface BodyPlan {
  /** aws-chunked framing (x-amz-content-sha256: STREAMING-*). */
  chunked: boolean;
  /** Bytes the decoded body must have (Content-Length, or x-amz-decoded-content-length when chunked). */
  expectedLength: number | undefined;
  /** The declared checksum, if any; `value` is undefined when it arrives in the trailer. */
  checksum?: { algorithm: ChecksumAlgorithm; header: string; value: string | undefined };
  contentMd5?: Buffer;
  /** Hex x-amz-content-sha256 to compare with, if the payload is signed. */
  payloadSha256?: string;
  /** Content-Encoding to keep once aws-chunked is removed (undefined: drop the header). */
  contentEncoding?: string;
}

export interface BodyResult {
  length: number;
  /** MD5 of the payload: the ETag of a single PUT or a part (computed once, with Content-MD5's check). */
  md5: Buffer;
  /** Checksum header and base64 value that was verified (echoed back like S3 does). */
  checksum?: { header: string; value: string };
}

type DeclaredChecksum = NonNullable<BodyPlan['checksum']>;

/**
 * Work out, from the verified headers, what the body must look like. Throws for what S3 refuses before
 * reading a byte: missing lengths, malformed or conflicting checksum declarations, bad Content-MD5.
 * `headers` maps lower-case names to a single value and already includes hoisted pre-signed params.
 */
export function planBody(
  method: string,
  headers: Map<string, string>,
  auth: AuthContext,
  opts: { requireLength: boolean; maxBytes: number },
): BodyPlan {
  const payloadHash = auth.payloadHash;
  const chunked = payloadHash.startsWith('STREAMING-');
  // Called in this order so that a request with several faults gets the error S3 gives first.
  const contentEncoding = contentEncodingAfterChunked(headers, chunked);
  const expectedLength = planLength(method, headers, chunked, opts);
  const checksum = planChecksum(headers, payloadHash);
  const contentMd5 = parseContentMd5(headers);
  return {
    chunked,
    expectedLength,
    checksum,
    contentMd5,
    payloadSha256: /^[0-9a-fA-F]{64}$/.test(payloadHash) ? payloadHash.toLowerCase() : undefined,
    contentEncoding,
  };
}

/** The Content-Encoding left once aws-chunked is stripped, which only a STREAMING-* payload may use. */
function contentEncodingAfterChunked(headers: Map<string, string>, chunked: boolean): string | undefined {
  const encodings = (headers.get('content-encoding') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const hasAwsChunked = encodings.some((e) => e.toLowerCase() === 'aws-chunked');
  if (hasAwsChunked && !chunked) {
    throw new S3Error('InvalidRequest', 'Content-Encoding aws-chunked requires a STREAMING-* x-amz-content-sha256.');
  }
  const rest = encodings.filter((e) => e.toLowerCase() !== 'aws-chunked');
  return rest.length ? rest.join(',') : undefined;
}

/** The decoded length the body must have (undefined: unannounced and allowed), within maxBytes. */
function planLength(
  method: string,
  headers: Map<string, string>,
  chunked: boolean,
  opts: { requireLength: boolean; maxBytes: number },
): number | undefined {
  const te = headers.get('transfer-encoding');
  const cl = headers.get('content-length');
  let expectedLength: number | undefined;
  if (chunked) {
    const dl = headers.get('x-amz-decoded-content-length');
    if (dl === undefined) {
      throw new S3Error('MissingContentLength');
    }
    if (!/^\d+$/.test(dl)) throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length', { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: dl });
    expectedLength = Number(dl);
  } else if (cl !== undefined) {
    expectedLength = Number(cl);
  } else if (te !== undefined) {
    // A body of unannounced length (Transfer-Encoding: chunked): S3 wants Content-Length for uploads.
    if (opts.requireLength || method === 'PUT' || method === 'POST') {
      throw new S3Error('MissingContentLength');
    }
  } else {
    if (opts.requireLength) throw new S3Error('MissingContentLength');
    expectedLength = 0;
  }
  if (expectedLength !== undefined && expectedLength > opts.maxBytes) {
    throw new S3Error('EntityTooLarge', {
      ProposedSize: expectedLength,
      MaxSizeAllowed: opts.maxBytes,
    });
  }
  return expectedLength;
}

/** Checksums: one x-amz-checksum-<alg> header (or hoisted query param), or one announced trailer. */
function planChecksum(headers: Map<string, string>, payloadHash: string): DeclaredChecksum | undefined {
  const declared: DeclaredChecksum[] = [];
  for (const [name, value] of headers) {
    const alg = checksumAlgorithmOfHeader(name);
    if (alg) declared.push({ algorithm: alg, header: name, value });
  }
  const trailer = headers.get('x-amz-trailer');
  if (trailer !== undefined) {
    const name = trailer.trim().toLowerCase();
    const alg = checksumAlgorithmOfHeader(name);
    if (!alg || (payloadHash !== STREAMING_UNSIGNED_TRAILER && payloadHash !== STREAMING_SIGNED_TRAILER)) {
      throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
    }
    declared.push({ algorithm: alg, header: name, value: undefined });
  } else if (payloadHash === STREAMING_UNSIGNED_TRAILER || payloadHash === STREAMING_SIGNED_TRAILER) {
    throw new S3Error('InvalidRequest', 'x-amz-trailer is required with ' + payloadHash);
  }
  if (declared.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  const checksum = declared[0];
  if (checksum?.value !== undefined && !validChecksumValue(checksum.algorithm, checksum.value)) {
    throw new S3Error('InvalidRequest', `Value for ${checksum.header} header is invalid.`);
  }
  checkSdkChecksumAlgorithm(headers, checksum);
  return checksum;
}

/** x-amz-sdk-checksum-algorithm, when sent, must name the checksum actually declared. */
function checkSdkChecksumAlgorithm(headers: Map<string, string>, checksum: DeclaredChecksum | undefined): void {
  const sdkAlg = headers.get('x-amz-sdk-checksum-algorithm');
  if (sdkAlg === undefined) return;
  const alg = sdkAlg.toUpperCase() as ChecksumAlgorithm;
  if (!CHECKSUM_ALGORITHMS.includes(alg)) {
    throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
  }
  if (!checksum) {
    throw new S3Error(
      'InvalidRequest',
      'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
    );
  }
  if (checksum.algorithm !== alg) {
    throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
  }
}

/** Content-MD5 must be exactly 16 bytes in canonical base64. */
function parseContentMd5(headers: Map<string, string>): Buffer | undefined {
  const md5 = headers.get('content-md5');
  if (md5 === undefined) return undefined;
  const bytes = Buffer.from(md5, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== md5) {
    throw new S3Error('InvalidDigest', { 'Content-MD5': md5 });
  }
  return bytes;
}

/** Runs a request body through framing, length, digest and checksum checks. Decoded bytes go to `sink`. */
export class BodyVerifier {
  private readonly decoder?: AwsChunkedDecoder;
  // Each hash only where something needs it: a 1 MiB upload hashed three times (the payload's
  // SHA-256 for a presigned PUT that signs none, its MD5 twice) was a third of the stack's CPU.
  private readonly sha256?: Hash;
  private readonly md5 = createHash('md5');
  private readonly checksum?: Hasher;
  private received = 0;

  constructor(
    private readonly plan: BodyPlan,
    auth: AuthContext,
    private readonly maxBytes: number,
  ) {
    if (plan.chunked) {
      const signed = auth.payloadHash === STREAMING_SIGNED || auth.payloadHash === STREAMING_SIGNED_TRAILER;
      const withTrailer = auth.payloadHash === STREAMING_SIGNED_TRAILER || auth.payloadHash === STREAMING_UNSIGNED_TRAILER;
      this.decoder = new AwsChunkedDecoder(
        signed,
        withTrailer,
        signed ? { signingKey: auth.signingKey, amzDate: auth.amzDate, scope: auth.scope, seedSignature: auth.signature } : undefined,
        plan.checksum && plan.checksum.value === undefined ? [plan.checksum.header] : [],
      );
    }
    if (plan.payloadSha256 !== undefined) this.sha256 = createHash('sha256');
    if (plan.checksum) this.checksum = createChecksum(plan.checksum.algorithm);
  }

  /** Feed raw request bytes; returns the decoded payload pieces to store. */
  push(raw: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const take = (d: Buffer): void => {
      this.received += d.length;
      if (this.received > this.maxBytes) {
        throw new S3Error('EntityTooLarge', { MaxSizeAllowed: this.maxBytes });
      }
      if (this.plan.expectedLength !== undefined && this.received > this.plan.expectedLength) {
        throw new S3Error('IncompleteBody');
      }
      this.sha256?.update(d);
      this.md5.update(d);
      this.checksum?.update(d);
      out.push(d);
    };
    if (this.decoder) this.decoder.push(raw, take);
    else take(raw);
    return out;
  }

  /** After the last byte: every check that needs the whole body. Throws S3Error on mismatch. */
  async finish(): Promise<BodyResult> {
    this.decoder?.finish();
    const plan = this.plan;
    if (plan.expectedLength !== undefined && this.received !== plan.expectedLength) {
      throw new S3Error('IncompleteBody');
    }
    const sha = this.sha256?.digest('hex'); // made only when the request signs a payload hash
    if (sha !== undefined && sha !== plan.payloadSha256) {
      throw new S3Error('XAmzContentSHA256Mismatch', {
        ClientComputedContentSHA256: plan.payloadSha256!,
        S3ComputedContentSHA256: sha,
      });
    }
    const md5 = this.md5.digest();
    if (plan.contentMd5 && !md5.equals(plan.contentMd5)) {
      throw new S3Error('BadDigest', {
        ExpectedDigest: plan.contentMd5.toString('hex'),
        CalculatedDigest: md5.toString('base64'),
      });
    }
    let verified: BodyResult['checksum'];
    if (plan.checksum && this.checksum) {
      let expected = plan.checksum.value;
      if (expected === undefined) {
        expected = this.decoder?.trailers.get(plan.checksum.header);
        if (expected === undefined) {
          throw new S3Error('MalformedTrailerError');
        }
        if (!validChecksumValue(plan.checksum.algorithm, expected)) {
          throw new S3Error('InvalidRequest', `Value for ${plan.checksum.header} trailing header is invalid.`);
        }
      }
      const got = (await this.checksum.digest()).toString('base64');
      if (got !== expected) {
        throw new S3Error('BadDigest', `The ${plan.checksum.algorithm} you specified did not match the calculated checksum.`);
      }
      verified = { header: plan.checksum.header, value: got };
    }
    return { length: this.received, md5, checksum: verified };
  }
}
