// The resize's concurrency bound against the account's: the verdict (pure), and the one request
// `deploy` makes for it, lambda:GetAccountSettings, against a small HTTP stub that records it
// exactly (moto does not implement that call). Then a whole deploy, against the project's fake
// CloudFormation, saying when the bound is over what the account leaves unreserved.
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';
import { rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { buildPackage, type LambdaPackage } from '../src/deploy/package.js';
import { accountConcurrency, checkConcurrency, concurrencyNote } from '../src/deploy/stack/concurrency.js';
import { deployStack } from '../src/deploy/stack/deploy.js';
import { DeployProgress } from '../src/deploy/progress.js';
import { DeployView } from '../src/ui/deploy-view.js';
import type { HandlerName } from '../src/core/pipeline-defaults.js';
import { createS3Client } from '../src/s3/client.js';
import { CREDENTIALS, REGION, startFakeCloudFormation, type FakeCloudFormation } from './helpers/fake-cloudformation.js';
import { tempDir } from './helpers/images.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Answers GetAccountSettings with `limit` and `unreserved`, recording every request. */
async function startLambdaStub(limit: number, unreserved: number): Promise<{ endpoint: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      // The shape of AWS's answer (Lambda API reference, GetAccountSettings).
      res.end(JSON.stringify({ AccountLimit: { ConcurrentExecutions: limit, UnreservedConcurrentExecutions: unreserved, CodeSizeUnzipped: 262144000, CodeSizeZipped: 52428800, TotalCodeSize: 80530636800 }, AccountUsage: { FunctionCount: 3, TotalCodeSize: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the resize concurrency bound against the account', () => {
  it('fits when it is at most what is unreserved; over it, one line says so and what to pass', () => {
    expect(checkConcurrency(5, { limit: 10, unreserved: 10 })).toEqual({ wanted: 5, limit: 10, unreserved: 10, fits: true });
    expect(concurrencyNote(checkConcurrency(10, { limit: 10, unreserved: 10 }))).toBeUndefined();
    const over = checkConcurrency(50, { limit: 1000, unreserved: 20 });
    expect(over.fits).toBe(false);
    expect(concurrencyNote(over)).toBe(
      "ResizeConcurrency 50 is over this account's 20 unreserved concurrent executions (of 1000): resizes beyond 20 would be throttled, and the presign API with them; pass --resize-concurrency 10 or ask AWS for a higher limit",
    );
    // Never below SQS's least.
    expect(concurrencyNote(checkConcurrency(5, { limit: 10, unreserved: 2 }))).toMatch(/pass --resize-concurrency 2 /);
  });

  it('reads the limit with one signed GET of /2016-08-19/account-settings, no body', async () => {
    const stub = await startLambdaStub(10, 7);
    const lambda = new LambdaClient({ endpoint: stub.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
    try {
      expect(await accountConcurrency(lambda)).toEqual({ limit: 10, unreserved: 7 });
      expect(stub.seen).toHaveLength(1);
      const [req] = stub.seen;
      expect([req.method, req.url, req.body]).toEqual(['GET', '/2016-08-19/account-settings', '']);
      expect(req.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/lambda/aws4_request, `));
    } finally {
      lambda.destroy();
      await stub.close();
    }
  });

  describe('in a deploy', () => {
    let fake: FakeCloudFormation;
    let dir: string;
    const packages: Partial<Record<HandlerName, LambdaPackage>> = {};

    beforeAll(async () => {
      for (const handler of ['resize', 'presign', 'failure-recorder'] as const) packages[handler] = await buildPackage({ handler, arch: 'x86_64', runtime: 'nodejs22.x' });
      fake = await startFakeCloudFormation();
      dir = await tempDir('imgpipe-deploy-concurrency-');
    }, 180_000);
    afterAll(async () => {
      await fake?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('says, once, that the bound is over what the account leaves unreserved, and deploys it all the same', async () => {
      const stub = await startLambdaStub(10, 4);
      const common = { endpoint: fake.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
      const clients = { cfn: new CloudFormationClient(common), sts: new STSClient(common), s3: createS3Client(common), lambda: new LambdaClient({ ...common, endpoint: stub.endpoint }) };
      const configFile = path.join(dir, 'imgpipe.config.json');
      await writeFile(configFile, '{}\n');
      let text = '';
      const out = new Writable({ write: (chunk, _enc, cb) => ((text += String(chunk)), cb()) });
      try {
        const summary = await deployStack(
          { stack: 'photos', arch: 'x86_64', runtime: 'nodejs22.x', dryRun: false, keyPrefix: 'uploads', spec: DEFAULT_SPEC, dedupe: true, corsOrigins: [], resizeConcurrency: 6, configFile },
          new DeployProgress(new DeployView({ json: false, interactive: false, stdout: out, stderr: out }).onEvent),
          { clients, timing: { pollMs: 10, timeoutMs: 20_000 }, build: async (h) => packages[h]! },
        );
        expect(summary.action).toBe('created');
        expect(summary.concurrency).toEqual({ wanted: 6, limit: 10, unreserved: 4, fits: false });
        expect(summary.parameters.ResizeConcurrency).toBe('6');
        expect(summary.calls.filter((c) => c.startsWith('lambda:'))).toEqual(['lambda:GetAccountSettings']);
        expect(text.split('\n').filter((l) => l.includes('ResizeConcurrency'))).toEqual([
          "  note: ResizeConcurrency 6 is over this account's 4 unreserved concurrent executions (of 10): resizes beyond 4 would be throttled, and the presign API with them; pass --resize-concurrency 2 or ask AWS for a higher limit",
        ]);
        expect(stub.seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /2016-08-19/account-settings']);
      } finally {
        for (const c of Object.values(clients)) c.destroy();
        await stub.close();
      }
    }, 120_000);
  });
});
