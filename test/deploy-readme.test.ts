// README's "Deploy to AWS" block as written: two lines. The first runs against moto in
// test/deploy-stack-moto.test.ts; here the second, `upload examples/photos --wait` with no flags, runs
// against a pipeline reached as a deployment is (an API URL and a bucket behind the standard AWS
// chain), configured only by what `deploy` writes into imgpipe.config.json.
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePipelineConfig } from '../src/config/write.js';
import { CLEAN_ENV } from './helpers/aws-env.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import { tempDir } from './helpers/images.js';
import { readmeBlock, ROOT } from './helpers/readme.js';


describe("README's Deploy to AWS block", () => {
  let dev: DevProcess;
  let cwd: string;

  beforeAll(async () => {
    cwd = await tempDir('imgpipe-deploy-readme-');
    dev = await startDev(await tempDir('imgpipe-deploy-readme-dev-'), { env: { IMGPIPE_API_KEY: undefined } });
  }, 60_000);
  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
  });

  it('is two lines: deploy, then an upload that needs no flags once deploy has written the config', async () => {
    const lines = await readmeBlock('Deploy to AWS');
    expect(lines).toEqual(['npm install && npx imgpipe deploy --stack imgpipe', 'npx imgpipe upload examples/photos --wait']);

    await cp(path.join(ROOT, 'examples/photos'), path.join(cwd, 'examples/photos'), { recursive: true });
    // What deploy writes after a stack comes up, with the outputs of this pipeline.
    await writePipelineConfig(path.join(cwd, 'imgpipe.config.json'), { api: dev.state.apiUrl, destBucket: dev.state.destBucket, region: 'us-east-1', stack: 'imgpipe' });
    const env = {
      ...CLEAN_ENV,
      AWS_ACCESS_KEY_ID: dev.state.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dev.state.credentials.secretAccessKey,
      // The standard chain's endpoint setting stands in for AWS itself.
      AWS_ENDPOINT_URL: dev.state.s3Endpoint,
    };
    const r = await runCli(lines[1].replace(/^npx imgpipe /, '').split(' '), { cwd, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/4 uploaded, 0 already there, 0 failed of 4 files/);
    expect(r.stdout).toMatch(/12\/12 variants present in imgpipe-dest/);
    expect(await dev.list(dev.state.destBucket)).toHaveLength(12 + 4); // the variants and one record per image
  }, 120_000);
});
