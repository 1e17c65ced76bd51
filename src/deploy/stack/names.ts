// Names a deployment derives when the user gives none: stable per stack, account and region, so
// a second run finds what the first one made, and valid S3 bucket names (3-63, lowercase).
import { UsageError } from '../../core/errors.js';

export interface Place {
  stack: string;
  account: string;
  region: string;
}

/** CloudFormation's rule for stack names. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const BUCKET_NAME = /^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function checkStackName(stack: string): void {
  if (!STACK_NAME.test(stack)) throw new UsageError(`--stack: "${stack}" is not a stack name (a letter, then letters, digits or -, at most 128)`);
}

export function checkBucketName(bucket: string, what: string): void {
  if (!BUCKET_NAME.test(bucket)) throw new UsageError(`${what}: "${bucket}" is not a bucket name (3-63 lowercase letters, digits or -)`);
}

function derived(kind: string, p: Place, flag: string): string {
  const name = `${p.stack.toLowerCase()}-${kind}-${p.account}-${p.region}`;
  if (name.length > 63) throw new UsageError(`the derived bucket name ${name} is over 63 characters: pass ${flag} NAME (or a shorter --stack)`);
  return name;
}

/** Where uploads land: `<stack>-uploads-<account>-<region>`. */
export const defaultSourceBucket = (p: Place): string => derived('uploads', p, '--source-bucket');
/** Where variants land: `<stack>-variants-<account>-<region>`. */
export const defaultDestBucket = (p: Place): string => derived('variants', p, '--dest-bucket');
/** One artifacts bucket per account and region, shared by every imgpipe stack there. */
export const defaultCodeBucket = (p: Omit<Place, 'stack'>): string => `imgpipe-artifacts-${p.account}-${p.region}`;

/** A zip's key: content-addressed, so a rebuild with the same bytes reuses it and a new build changes the stack.
 * Only the resize carries native code, so only its key names an architecture. */
export function artifactKey(handler: string, arch: string, sha256: string): string {
  return handler === 'resize' ? `imgpipe/${handler}-${arch}-${sha256}.zip` : `imgpipe/${handler}-${sha256}.zip`;
}
