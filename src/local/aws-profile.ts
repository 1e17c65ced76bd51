// aws-cli against the local stack without its keys in the user's shell: `dev` writes a profile
// into `.imgpipe/aws-config` (mode 0600, as the keys' own file) and `dev --aws-cli` prints the one
// command that uses it. `--profile` makes aws-cli ignore any AWS_ACCESS_KEY_ID in the environment,
// and `--endpoint-url` any AWS_ENDPOINT_URL, so what the shell holds never mixes in.
import path from 'node:path';
import { LOCAL_AWS_PROFILE } from '../core/local-keys.js';
import { shellWord } from '../core/shell-word.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { DevState } from './dev-state.js';

const AWS_CONFIG_FILE = '.imgpipe/aws-config';

function awsProfileText(state: Pick<DevState, 'credentials' | 'region' | 's3Endpoint'>): string {
  return [
    '# Written by `imgpipe dev`: aws-cli against the local stack, as `imgpipe dev --aws-cli` prints it.',
    `[profile ${LOCAL_AWS_PROFILE}]`,
    `aws_access_key_id = ${state.credentials.accessKeyId}`,
    `aws_secret_access_key = ${state.credentials.secretAccessKey}`,
    `region = ${state.region}`,
    `endpoint_url = ${state.s3Endpoint}`,
    // The server verifies the SHA-256 imgpipe signs; aws-cli's default CRC trailers are not needed.
    'request_checksum_calculation = when_required',
    'response_checksum_validation = when_required',
    '',
  ].join('\n');
}

/** Write the profile beside the stack's dev.json; returns its path. */
export async function writeAwsProfile(state: DevState, root = state.root ?? process.cwd()): Promise<string> {
  const file = path.join(root, AWS_CONFIG_FILE);
  await writeFileAtomic(file, awsProfileText(state), 0o600);
  return file;
}

/** The command line, for `$(imgpipe dev --aws-cli) s3 ls …`: `env` takes the assignment after expansion. */
export function awsCliCommand(file: string, state: Pick<DevState, 's3Endpoint'>, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  return `env AWS_CONFIG_FILE=${shellWord(shown)} aws --profile ${LOCAL_AWS_PROFILE} --endpoint-url ${state.s3Endpoint}`;
}
