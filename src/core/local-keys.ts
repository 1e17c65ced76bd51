// The local stack's keys: `packages/local-s3` makes one random pair per data folder, its access
// key id always `LOCAL` and 15 hex digits (never an AWS shape: AKIA…, ASIA…). They open only that
// folder's S3 server on loopback, so imgpipe sends them nowhere else: `eval "$(imgpipe dev
// --show-credentials)"` leaves them in a shell, where a later `deploy` would offer them to AWS.
import { EXIT, ImgpipeError } from './errors.js';

const LOCAL_KEY_ID = /^LOCAL[0-9A-F]{15}$/;

export function isLocalStackKey(accessKeyId: string | undefined): boolean {
  return !!accessKeyId && LOCAL_KEY_ID.test(accessKeyId);
}

/** Whether a URL names this machine (127.0.0.0/8, ::1, localhost): where the local stack listens. */
export function isLoopbackUrl(url: string | undefined): boolean {
  if (!url) return false;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** How aws-cli reaches the local stack without the keys in the shell (written by `dev`). */
export const LOCAL_AWS_PROFILE = 'imgpipe-local';

export class LocalKeysError extends ImgpipeError {
  override name = 'LocalKeysError';
  constructor(where: string, fromEnv: boolean) {
    const whose = fromEnv ? 'AWS_ACCESS_KEY_ID is' : 'the AWS credentials in use are';
    const fix = fromEnv
      ? 'unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL (or pass --profile NAME)'
      : 'pass --profile NAME for your AWS account';
    super(
      `${whose} the local stack's key (from \`imgpipe dev --show-credentials\`), which imgpipe sends only to the local stack, not to ${where}: ${fix}; aws-cli against the local stack: imgpipe dev --aws-cli`,
      'LocalKeys',
      EXIT.usage,
    );
  }
}
