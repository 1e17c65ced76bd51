// The checksum a multipart upload declares at its start (x-amz-checksum-algorithm / -type), what
// each part must then carry, and the object's checksum at Complete: COMPOSITE is the checksum of
// the parts' raw digests with "-<parts>" after it, FULL_OBJECT the checksum of all the bytes.
import { CHECKSUM_ALGORITHMS, createChecksum, type ChecksumAlgorithm, type Hasher } from '../checksums.js';
import { S3Error } from '../errors.js';
import type { ChecksumType, PartMeta, UploadMeta } from '../storage/records.js';

export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  type: ChecksumType;
}

const invalid = (message: string) => new S3Error('InvalidRequest', message);

/** What CreateMultipartUpload's headers declare, checked as S3 checks them; undefined: no checksum. */
export function declaredUploadChecksum(headers: Map<string, string>): UploadChecksum | undefined {
  const rawAlg = headers.get('x-amz-checksum-algorithm');
  const rawType = headers.get('x-amz-checksum-type');
  if (rawAlg === undefined) {
    if (rawType !== undefined) throw invalid('The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    return undefined;
  }
  const algorithm = rawAlg.trim().toUpperCase() as ChecksumAlgorithm;
  if (!CHECKSUM_ALGORITHMS.includes(algorithm)) {
    throw invalid(`Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.join(', ')}]`);
  }
  // S3's defaults: CRC64NVME can only be FULL_OBJECT, the others default to COMPOSITE.
  const type = (rawType?.trim().toUpperCase() ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE')) as ChecksumType;
  if (type !== 'COMPOSITE' && type !== 'FULL_OBJECT') throw invalid('Value for x-amz-checksum-type header is invalid.');
  const fullOnly = algorithm === 'CRC64NVME';
  const compositeOnly = algorithm === 'SHA1' || algorithm === 'SHA256';
  if ((fullOnly && type === 'COMPOSITE') || (compositeOnly && type === 'FULL_OBJECT')) {
    throw invalid(`The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
  }
  return { algorithm, type };
}

export function checksumHeaders(c: { checksumAlgorithm?: string; checksumType?: string }): Record<string, string> {
  return c.checksumAlgorithm ? { 'x-amz-checksum-algorithm': c.checksumAlgorithm, 'x-amz-checksum-type': c.checksumType ?? 'COMPOSITE' } : {};
}

/** An UploadPart of an upload with a checksum must declare that checksum (checked before its body is read). */
export function requirePartChecksum(upload: UploadMeta, declared: { algorithm: string } | undefined): void {
  const alg = upload.checksumAlgorithm;
  if (alg && declared?.algorithm !== alg) {
    throw invalid(`Checksum Type mismatch occurred, expected checksum Type: ${alg.toLowerCase()}, actual checksum Type: ${declared?.algorithm.toLowerCase() ?? 'null'}`);
  }
}

/** The per-part checksum a Complete request names must be the stored part's (a COMPOSITE upload must name it). */
export function checkCompletePart(upload: UploadMeta, part: PartMeta, n: number, named: Record<string, string>): void {
  const alg = upload.checksumAlgorithm;
  if (!alg) return;
  const value = named[alg];
  if (value === undefined) {
    if (upload.checksumType === 'FULL_OBJECT') return;
    throw invalid(`The upload was created using a ${alg.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${n} in the request.`);
  }
  if (part.checksum?.value !== value) {
    throw new S3Error('InvalidPart', { PartNumber: n, ETag: part.etag });
  }
}

/** Computes the object's checksum as Complete takes the parts in order (reading their bytes only for FULL_OBJECT). */
export class ObjectChecksum {
  private readonly whole?: Hasher;
  private readonly ofParts?: Hasher;
  private parts = 0;

  constructor(private readonly declared: UploadChecksum | undefined) {
    if (declared?.type === 'FULL_OBJECT') this.whole = createChecksum(declared.algorithm);
    if (declared?.type === 'COMPOSITE') this.ofParts = createChecksum(declared.algorithm);
  }

  /** Whether the result needs every byte of the object (a full-object checksum), or only the parts' checksums. */
  get readsBytes(): boolean {
    return this.whole !== undefined;
  }

  bytes(chunk: Buffer): void {
    this.whole?.update(chunk);
  }

  part(part: PartMeta): void {
    this.parts += 1;
    if (this.ofParts && part.checksum) this.ofParts.update(Buffer.from(part.checksum.value, 'base64'));
  }

  async result(): Promise<{ algorithm: ChecksumAlgorithm; value: string; type: ChecksumType } | undefined> {
    if (!this.declared) return undefined;
    const { algorithm, type } = this.declared;
    if (this.whole) return { algorithm, type, value: (await this.whole.digest()).toString('base64') };
    return { algorithm, type, value: `${(await this.ofParts!.digest()).toString('base64')}-${this.parts}` };
  }
}

/** <ChecksumSHA256>…</ChecksumSHA256><ChecksumType>…</ChecksumType>, for Complete, ListParts and GetObjectAttributes. */
export function checksumXml(c: { algorithm: string; value: string; type?: string } | undefined, withType = true): string {
  if (!c) return '';
  return `<Checksum${c.algorithm}>${c.value}</Checksum${c.algorithm}>` + (withType ? `<ChecksumType>${c.type ?? 'FULL_OBJECT'}</ChecksumType>` : '');
}
