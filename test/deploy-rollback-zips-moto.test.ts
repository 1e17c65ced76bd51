// A deploy that replaces a function's zip keeps the zip it replaces for a rollback: the artifacts
// bucket expires staged zips (src/deploy/stack/artifacts.ts), and a failed update rolls the
// function back to the zip it ran before. Against moto, through the built CLI, in a moto of its
// own: after these updates (made outside deploy) a stack made later in the same moto did not come
// up (DescribeStackResources answered 500; not traced further). test/deploy-stack-moto.test.ts
// holds the other deploys and says what moto cannot check.
import { CloudFormationClient, CreateChangeSetCommand, DescribeStacksCommand, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/deploy/paths.js';
import { runCli } from './helpers/cli.js';
import { MOTO_ACCOUNT, MOTO_REGION, noApiLine, startDeployMoto, type DeployMoto, type Moto } from './helpers/moto.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_MOTO = have(TOOLS.moto, 'deploy-rollback-zips-moto.test');

const ACCOUNT = MOTO_ACCOUNT;
const REGION = MOTO_REGION;
const NO_API = noApiLine();

describe.skipIf(!HAS_MOTO)('imgpipe deploy keeps the zips a rollback needs, against moto', () => {
  let moto: Moto;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let clientConfig: DeployMoto['clientConfig'];
  // --no-cdn: moto creates no CloudFront resources (see test/deploy-stack-moto.test.ts).
  const deploy = (args: string[]) => runCli(['deploy', '--no-cdn', ...args], { cwd, env, timeoutMs: 300_000 });

  beforeAll(async () => {
    ({ moto, cwd, env, clientConfig } = await startDeployMoto('imgpipe-deploy-rollback-'));
    const made = await deploy([]);
    expect(made.stdout).toMatch(/stack imgpipe created in us-east-1/);
  }, 300_000);
  afterAll(async () => {
    await moto?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('an update that replaces a zip first starts that zip\'s days again, so a rollback finds it; one already expired is said', async () => {
    const artifacts = `imgpipe-artifacts-${ACCOUNT}-${REGION}`;
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const cfn = new CloudFormationClient(clientConfig);
    // The stack as an earlier build left it: its resize runs another zip (a copy under another key).
    const earlier = `imgpipe/resize-x86_64-${'0'.repeat(64)}.zip`;
    const runEarlierZip = async () => {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'imgpipe' }))).Stacks![0];
      const current = stack.Parameters!.find((p) => p.ParameterKey === 'ResizeCodeKey')!.ParameterValue!;
      if (current !== earlier) await s3.send(new CopyObjectCommand({ Bucket: artifacts, Key: earlier, CopySource: `${artifacts}/${current}` }));
      const Parameters = stack.Parameters!.map((p) => (p.ParameterKey === 'ResizeCodeKey' ? { ParameterKey: p.ParameterKey, ParameterValue: earlier } : { ParameterKey: p.ParameterKey, UsePreviousValue: true }));
      // Through a change set, as deploy itself changes the stack (moto answers UpdateStack with a 500).
      const TemplateBody = await readFile(path.join(projectRoot(), 'infra', 'template.yaml'), 'utf8');
      const ChangeSetName = `earlier-zip-${Date.now()}`;
      await cfn.send(new CreateChangeSetCommand({ StackName: 'imgpipe', ChangeSetName, ChangeSetType: 'UPDATE', TemplateBody, Parameters, Capabilities: ['CAPABILITY_IAM'] }));
      await cfn.send(new ExecuteChangeSetCommand({ StackName: 'imgpipe', ChangeSetName }));
      const now = (await cfn.send(new DescribeStacksCommand({ StackName: 'imgpipe' }))).Stacks![0];
      expect(now.Parameters!.find((p) => p.ParameterKey === 'ResizeCodeKey')!.ParameterValue).toBe(earlier);
    };
    const modified = async () => (await s3.send(new HeadObjectCommand({ Bucket: artifacts, Key: earlier }))).LastModified!.getTime();
    try {
      await runEarlierZip();
      const before = await modified();
      await new Promise((r) => setTimeout(r, 1100)); // S3's Last-Modified counts whole seconds
      const r = await deploy(['--json']);
      expect(r.stderr).toBe(NO_API);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ action: 'updated', changedParameters: ['ResizeCodeKey'] });
      // The replaced zip only: copied onto itself, once; the other two keys did not change.
      expect(s.calls.filter((c: string) => c === 's3:CopyObject')).toHaveLength(1);
      expect(await modified()).toBeGreaterThan(before);

      // Gone already (expired): the deploy says so, and goes on.
      await runEarlierZip();
      await s3.send(new DeleteObjectCommand({ Bucket: artifacts, Key: earlier }));
      const gone = await deploy([]);
      expect(gone.stderr).toBe(NO_API);
      expect(gone.stdout).toContain(`  note: the resize zip the stack runs now is no longer in s3://${artifacts} (staged zips expire after 30 days): should this update fail, CloudFormation cannot roll resize back to it\n`);
      expect(gone.stdout).toMatch(/stack imgpipe updated in us-east-1/);
      // A deploy that replaces no zip copies nothing.
      const same = await deploy(['--originals-transition-days', '60', '--json']);
      expect(JSON.parse(same.stdout).calls).not.toContain('s3:CopyObject');
    } finally {
      s3.destroy();
      cfn.destroy();
    }
  }, 300_000);

});
