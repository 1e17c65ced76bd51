// Streaming decoder for aws-chunked bodies (SigV4 streaming uploads), chunk and trailer signatures.
import { createHash, type Hash } from 'node:crypto';
import { BODY_ENDED_EARLY, S3Error } from './errors.js';
import { chunkStringToSign, hmacHex, sameHex, sha256Hex, trailerStringToSign } from './sigv4.js';
import { LIMITS } from './limits.js';

const CRLF = Buffer.from('\r\n');
const MAX_LINE = 16 * 1024;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/**
 * Streaming decoder for `Content-Encoding: aws-chunked` bodies:
 *   hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailer-lines\r\n] \r\n
 * Verifies chunk signatures (signed variants) and collects trailing headers.
 */
export class AwsChunkedDecoder {
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  private line: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private currentSize = -1;
  private previousSize = -1;
  private currentSig = '';
  private chunkHash: Hash | undefined;
  private crlfSeen = 0;
  private prevSig: string;
  private readonly trailerLines: Array<[string, string]> = [];
  private trailerBytes = 0;
  /** Trailing headers this body may carry: those x-amz-trailer names (and, signed, the signature). */
  private readonly allowedTrailers: Set<string>;
  readonly trailers = new Map<string, string>();
  decodedLength = 0;

  constructor(
    private readonly signed: boolean,
    private readonly withTrailer: boolean,
    private readonly signing?: ChunkSigning,
    announcedTrailers: string[] = [],
  ) {
    this.prevSig = signing?.seedSignature ?? '';
    this.allowedTrailers = new Set([...announcedTrailers, ...(signed ? [TRAILER_SIGNATURE] : [])]);
  }

  /** Feed encoded bytes; calls `out` with decoded payload bytes. Throws S3Error on malformed input. */
  push(buf: Buffer, out: (data: Buffer) => void): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'size':
        case 'trailer':
          pos = this.readLine(buf, pos);
          break;
        case 'data':
          pos = this.readData(buf, pos, out);
          break;
        case 'data-crlf':
          pos = this.readDataCrlf(buf, pos);
          break;
        case 'done':
          throw incomplete();
      }
    }
  }

  /** Call after the last byte; throws unless the terminating chunk (and trailer) arrived. */
  finish(): void {
    if (this.state !== 'done') throw incomplete();
  }

  // The read* steps consume from `buf` at `pos` and return the position after what they consumed.

  /** A size or trailer line, which may arrive split over several pushes. */
  private readLine(buf: Buffer, pos: number): number {
    const idx = buf.indexOf(CRLF, pos);
    // A CRLF split across pushes: line ends with \r and this buffer starts with \n.
    if (this.line.length && this.line[this.line.length - 1] === 0x0d && buf[pos] === 0x0a) {
      const l = this.line.subarray(0, this.line.length - 1).toString('latin1');
      this.line = Buffer.alloc(0);
      this.onLine(l);
      return pos + 1;
    }
    if (idx === -1) {
      this.line = Buffer.concat([this.line, buf.subarray(pos)]);
      if (this.line.length > MAX_LINE) throw incomplete();
      return buf.length;
    }
    const l = Buffer.concat([this.line, buf.subarray(pos, idx)]).toString('latin1');
    this.line = Buffer.alloc(0);
    this.onLine(l);
    return idx + 2;
  }

  private readData(buf: Buffer, pos: number, out: (data: Buffer) => void): number {
    const n = Math.min(this.remaining, buf.length - pos);
    const piece = buf.subarray(pos, pos + n);
    this.chunkHash?.update(piece);
    this.decodedLength += n;
    this.remaining -= n;
    if (n) out(piece);
    if (this.remaining === 0) {
      this.state = 'data-crlf';
      this.crlfSeen = 0;
    }
    return pos + n;
  }

  /** The CRLF after a chunk's data, one byte at a time since it too may be split. */
  private readDataCrlf(buf: Buffer, pos: number): number {
    const expect = CRLF[this.crlfSeen];
    if (buf[pos] !== expect) throw incomplete();
    this.crlfSeen += 1;
    if (this.crlfSeen === 2) {
      this.verifyChunk();
      this.state = 'size';
    }
    return pos + 1;
  }

  private onLine(l: string): void {
    if (this.state === 'size') this.onSizeLine(l);
    else this.onTrailerLine(l);
  }

  private onSizeLine(l: string): void {
    const [sizeHex, ...ext] = l.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) throw incomplete();
    const size = parseInt(sizeHex, 16);
    if (this.signed) {
      const sig = /^chunk-signature=([0-9a-f]{64})$/.exec(ext.join(';'));
      if (!sig) throw incomplete();
      this.currentSig = sig[1];
      // S3: every chunk but the last data chunk must be at least 8 KiB.
      if (size > 0 && this.previousSize >= 0 && this.previousSize < 8192) {
        throw new S3Error('InvalidChunkSizeError', {
          BadChunkSize: this.previousSize,
        });
      }
      this.chunkHash = createHash('sha256');
    }
    this.previousSize = size;
    this.currentSize = size;
    if (size === 0) {
      this.verifyChunk();
      this.state = 'trailer';
    } else {
      this.remaining = size;
      this.state = 'data';
    }
  }

  /** A trailing header line, or the empty line that ends the body (also when there is no trailer). */
  private onTrailerLine(l: string): void {
    if (l === '') {
      this.finishTrailer();
      this.state = 'done';
      return;
    }
    if (!this.withTrailer) throw incomplete();
    this.trailerBytes += l.length + 2;
    const colon = l.indexOf(':');
    if (colon <= 0 || this.trailerBytes > LIMITS.trailerBytes) throw malformedTrailer();
    const name = l.slice(0, colon).trim().toLowerCase();
    const value = l.slice(colon + 1).trim();
    // Only what x-amz-trailer announced, each once: nothing else is kept, so nothing else can pile up.
    if (!this.allowedTrailers.has(name) || this.trailerLines.some(([n]) => n === name)) throw malformedTrailer();
    this.trailerLines.push([name, value]);
  }

  private verifyChunk(): void {
    if (!this.signed || !this.signing) return;
    const hash = (this.chunkHash ?? createHash('sha256')).digest('hex');
    this.chunkHash = undefined;
    const expected = hmacHex(this.signing.signingKey, chunkStringToSign(this.signing.amzDate, this.signing.scope, this.prevSig, hash));
    if (!sameHex(expected, this.currentSig)) {
      throw new S3Error('SignatureDoesNotMatch', { ChunkSize: this.currentSize });
    }
    this.prevSig = expected;
  }

  private finishTrailer(): void {
    let trailerSig: string | undefined;
    for (const [name, value] of this.trailerLines) {
      if (name === 'x-amz-trailer-signature') trailerSig = value;
      else this.trailers.set(name, value);
    }
    if (this.signed && this.withTrailer && this.signing) {
      if (!trailerSig) throw new S3Error('MalformedTrailerError');
      const canonical = this.trailerLines
        .filter(([n]) => n !== 'x-amz-trailer-signature')
        .map(([n, v]) => `${n}:${v}\n`)
        .join('');
      const expected = hmacHex(
        this.signing.signingKey,
        trailerStringToSign(this.signing.amzDate, this.signing.scope, this.prevSig, sha256Hex(canonical)),
      );
      if (!sameHex(expected, trailerSig)) {
        throw new S3Error('SignatureDoesNotMatch');
      }
    }
  }
}

function malformedTrailer(): S3Error {
  return new S3Error('MalformedTrailerError');
}

function incomplete(): S3Error {
  return new S3Error('IncompleteBody', BODY_ENDED_EARLY);
}

