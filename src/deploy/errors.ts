// AWS failures turned into one clear line: what was being done, what went wrong, what to do.
import { ImgpipeError } from '../core/errors.js';
import { LocalKeysError } from '../core/local-keys.js';

/** `code`: ours (NoCredentials, MissingRole, …) or the AWS error's name. Exit 1: the deploy did not happen. */
export class DeployError extends ImgpipeError {
  override name = 'DeployError';
  constructor(message: string, code: string) {
    super(message, code);
  }
}

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

/** `action` names the call and its target, e.g. "lambda:UpdateFunctionCode on imgpipe-resize". */
export function explainAwsError(err: unknown, action: string): DeployError {
  if (err instanceof DeployError) return err;
  if (err instanceof LocalKeysError) return new DeployError(err.message, err.code); // already the one line
  const e = (err ?? {}) as AwsFailure;
  const name = e.name ?? e.Code ?? 'Error';
  const detail = e.message ?? String(err);
  const status = e.$metadata?.httpStatusCode;
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(detail)) {
    return new DeployError(
      'no AWS credentials found: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      'NoCredentials',
    );
  }
  if (/region is missing/i.test(detail)) return new DeployError('no AWS region: pass --region or set AWS_REGION', 'NoRegion');
  if (BAD_CREDENTIALS.has(name)) return new DeployError(`AWS rejected the credentials during ${action}: ${detail}`, 'InvalidCredentials');
  if (EXPIRED.has(name)) return new DeployError(`the AWS credentials have expired (${action}); log in again`, 'ExpiredCredentials');
  if (DENIED.has(name) || status === 403) {
    return new DeployError(`access denied: ${action} is not allowed for these credentials (${detail})`, 'AccessDenied');
  }
  if (THROTTLING.has(name) || status === 429) {
    const attempts = e.$metadata?.attempts;
    return new DeployError(`${action}: still throttled by AWS after ${attempts ?? 'several'} attempts; try again in a minute`, 'Throttled');
  }
  if (name === 'ResourceNotFoundException' || name === 'NoSuchBucket') return new DeployError(`${action}: ${detail}`, 'NotFound');
  return new DeployError(`${action} failed: ${name}: ${detail}`, name);
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
