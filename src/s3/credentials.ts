// A read that these credentials can never make ends the wait at once, saying why: no record
// appears by waiting, and a silent time-out would blame the pipeline for a missing profile.
import os from 'node:os';
import path from 'node:path';
import { ImgpipeError } from '../core/errors.js';

/** S3's answers to a request signed with keys it does not accept (a 403, like "no such key" without ListBucket). */
const REFUSED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired']);

/** Whether `err` says the credentials cannot work (none found, or keys S3 refuses). */
export function isCredentialsFailure(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  return name === 'CredentialsProviderError' || REFUSED.has(name);
}

/** Where the SDK looks for named profiles, as it resolves them. */
const sharedFiles = (): string => {
  const home = os.homedir();
  return `${process.env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config')} and ${process.env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials')}`;
};

/** The one clear line for a credentials failure reading `bucket`, naming the profile in use. */
export function explainCredentials(err: unknown, bucket: string): ImgpipeError {
  const e = err as { name?: string; message?: string };
  const profile = process.env.AWS_PROFILE;
  if (e?.name === 'CredentialsProviderError') {
    if (profile) return new ImgpipeError(`no AWS credentials for profile "${profile}" (looked in ${sharedFiles()}): ${e.message}`, 'NoCredentials');
    return new ImgpipeError(
      'no AWS credentials found: pass --profile NAME (after `aws configure` or `aws sso login`), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      'NoCredentials',
    );
  }
  const whose = profile ? ` of profile "${profile}"` : '';
  return new ImgpipeError(`s3://${bucket} refused the credentials${whose}: ${e?.name}: ${e?.message}`, 'InvalidCredentials');
}
