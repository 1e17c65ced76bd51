// A test that needs a system tool (chromium, awscli, boto3, moto, cfn-lint, heif-enc, script): outside CI a
// missing tool skips the test with one line naming it; under CI=true it fails the run, so a green
// CI run never hides a suite that did not run. `.ci/run` installs what Debian has first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Tool {
  /** What the line names: the command. */
  name: string;
  /** Where it comes from, for the line that says it is missing. */
  from: string;
  /** True when the tool is there and answers. */
  present: () => boolean;
}

const answers = (cmd: string, args: string[]) => () => {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
};

export const TOOLS = {
  chromium: { name: '/usr/bin/chromium', from: "Debian's chromium (apt-get install chromium)", present: () => existsSync('/usr/bin/chromium') },
  aws: { name: '/usr/bin/aws', from: "Debian's awscli (apt-get install awscli)", present: () => existsSync('/usr/bin/aws') },
  heifEnc: { name: 'heif-enc', from: "Debian's libheif-examples (apt-get install libheif-examples)", present: answers('sh', ['-c', 'command -v heif-enc']) },
  moto: { name: 'moto_server', from: 'the Python package moto[server] 5', present: answers('moto_server', ['--help']) },
  // test/local-s3-boto3.test.ts: a second SDK against the local S3 server (Debian's, not pyenv's python3).
  boto3: { name: '/usr/bin/python3 (boto3)', from: "Debian's python3-boto3 (apt-get install python3-boto3)", present: answers('/usr/bin/python3', ['-c', 'import boto3']) },
  cfnLint: { name: 'cfn-lint', from: 'the Python package cfn-lint', present: answers('cfn-lint', ['--version']) },
  // test/helpers/pty.ts: a real pseudo-terminal for the CLI (util-linux's `script -qfec`).
  script: { name: 'script', from: "util-linux's script (apt-get install util-linux)", present: () => (spawnSync('script', ['--version'], { encoding: 'utf8', timeout: 60_000 }).stdout ?? '').includes('util-linux') },
} satisfies Record<string, Tool>;

/** Whether `tool` is here. Missing: one line naming it, or, under CI=true, an error that fails the file. */
export function have(tool: Tool, who: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (tool.present()) return true;
  const line = `${who}: needs ${tool.name}, from ${tool.from}`;
  if (isCi(env)) throw new Error(`${line} (missing under CI=true, where nothing may skip)`);
  console.log(`${who}: skipped, ${tool.name} is absent (${tool.from})`);
  return false;
}

/** CI=true (or any value but '' / 'false' / '0'), as GitHub Actions and most CI systems set it. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}
