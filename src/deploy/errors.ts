// AWS failures turned into one clear line: what was being done, what went wrong, what to do.
import { ImgpipeError } from '../core/errors.js';
import { LocalKeysError } from '../core/local-keys.js';

interface AwsFailure {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'ThrottledException', 'SlowDown', 'RequestLimitExceeded', 'RequestThrottled']);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'AllAccessDisabled', 'UnauthorizedOperation']);
const BAD_CREDENTIALS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidClientTokenId']);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired']);

/**
 * `code`: ours (NoCredentials, MissingRole, …) or the AWS error's name; exit 1: the deploy did not happen.
 * `action` names the call and its target, e.g. "lambda:UpdateFunctionCode on imgpipe-resize".
 */
export function explainAwsError(err: unknown, action: string): ImgpipeError {
  if (err instanceof LocalKeysError) return new ImgpipeError(err.message, err.code); // already the one line
  if (err instanceof ImgpipeError) return err; // ours (NoCredentials, MissingRole, …): already explained
  const e = (err ?? {}) as AwsFailure;
  const name = e.name ?? e.Code ?? 'Error';
  const detail = e.message ?? String(err);
  const status = e.$metadata?.httpStatusCode;
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(detail)) {
    return new ImgpipeError(
      'no AWS credentials found: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      'NoCredentials',
    );
  }
  if (/region is missing/i.test(detail)) return new ImgpipeError('no AWS region: pass --region or set AWS_REGION', 'NoRegion');
  if (BAD_CREDENTIALS.has(name)) return new ImgpipeError(`AWS rejected the credentials during ${action}: ${detail}`, 'InvalidCredentials');
  if (EXPIRED.has(name)) return new ImgpipeError(`the AWS credentials have expired (${action}); log in again`, 'ExpiredCredentials');
  if (DENIED.has(name) || status === 403) {
    return new ImgpipeError(`access denied: ${action} is not allowed for these credentials (${detail})`, 'AccessDenied');
  }
  if (THROTTLING.has(name) || status === 429) {
    const attempts = e.$metadata?.attempts;
    return new ImgpipeError(`${action}: still throttled by AWS after ${attempts ?? 'several'} attempts; try again in a minute`, 'Throttled');
  }
  if (name === 'ResourceNotFoundException' || name === 'NoSuchBucket') return new ImgpipeError(`${action}: ${detail}`, 'NotFound');
  return new ImgpipeError(`${action} failed: ${name}: ${detail}`, name);
}

/** Lambda's answer when the execution role does not exist or does not trust lambda.amazonaws.com. */
export const isRoleNotAssumable = (err: unknown): boolean => {
  const e = err as AwsFailure;
  return e?.name === 'InvalidParameterValueException' && /role/i.test(e.message ?? '') && /assume/i.test(e.message ?? '');
};

export const isAwsError = (err: unknown, ...names: string[]): boolean => names.includes((err as AwsFailure)?.name ?? '');

/** Run one AWS call; its failure becomes the one clear line of explainAwsError. */
export async function awsCall<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explainAwsError(err, action);
  }
}
