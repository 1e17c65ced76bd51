// Environments for CLI processes under test: nothing of the machine running the tests may pick
// the pipeline, the credentials, the region or a profile.
import path from 'node:path';

/** Every setting imgpipe and the AWS SDK's standard chain read, unset. */
export const CLEAN_ENV: NodeJS.ProcessEnv = {
  IMGPIPE_API: undefined,
  IMGPIPE_API_KEY: undefined,
  IMGPIPE_DEST_BUCKET: undefined,
  IMGPIPE_ENDPOINT: undefined,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_DEFAULT_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_ENDPOINT_URL_S3: undefined,
  AWS_CONFIG_FILE: undefined,
  AWS_SHARED_CREDENTIALS_FILE: undefined,
};

/**
 * Exactly these keys and this region: the shared config and credentials files point at names in
 * `dir` that do not exist, and instance metadata is off. `extra` adds endpoints and the like.
 */
export function keysOnlyEnv(dir: string, credentials: { accessKeyId: string; secretAccessKey: string }, region: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...CLEAN_ENV,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: region,
    AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}
