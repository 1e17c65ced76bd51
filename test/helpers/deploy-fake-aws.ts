// A local HTTP endpoint that answers the Lambda (REST-JSON) and S3 (REST-XML) control calls
// deploy-lambda makes, keeps the state they change, and records every request as it arrived.
// It behaves like the services where the flow depends on it: updates stay InProgress for a few
// GetFunctionConfiguration polls and any write meanwhile gets 409 (so only a real wait passes),
// PublishVersion honours CodeSha256 and returns the last version when nothing changed, and
// PutBucketNotificationConfiguration refuses a function that has not allowed S3 to invoke it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newBucket, s3Error, s3Op, sha256b64, type Answer, type FakeBucket } from './fake-s3.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'AKIDFAKEDEPLOY', secretAccessKey: 'fake-secret' };

export interface RecordedCall {
  /** e.g. "lambda:UpdateFunctionCode", "s3:PutBucketNotificationConfiguration" */
  op: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lambda: the JSON body (a ZipFile replaced by its size and SHA-256). S3: { xml } or { bytes }. */
  body: Record<string, unknown>;
  /** The SigV4 service in the Authorization header. */
  service?: string;
}

interface Version {
  version: string;
  codeSha256: string;
  config: string;
}

export interface FakeFunction {
  config: Record<string, unknown> & { FunctionName: string; FunctionArn: string; CodeSha256: string; LastUpdateStatus: string; State: string };
  zip?: Buffer;
  versions: Version[];
  aliases: Map<string, string>;
  /** Statements per qualifier ('' = unqualified). */
  policies: Map<string, Record<string, unknown>[]>;
  /** GetFunctionConfiguration polls left before an update settles. */
  pollsLeft: number;
  /** When set, the update in progress ends Failed with this reason. */
  failWith?: string;
}

interface Failure {
  op: string;
  status: number;
  type: string;
  message: string;
  times: number;
}

/**
 * Another protocol served on the same endpoint (CloudFormation, STS): given a request, the
 * operation it is and how to answer it, or undefined to leave it to Lambda/S3.
 */
export type ExtraRoute = (req: { method: string; path: string; service?: string; raw: Buffer }) =>
  | { op: string; body: Record<string, unknown>; run: () => Answer; error: (status: number, type: string, message: string) => Answer }
  | undefined;

export interface FakeAws {
  endpoint: string;
  calls: RecordedCall[];
  functions: Map<string, FakeFunction>;
  buckets: Map<string, FakeBucket>;
  /** Polls an update (or a creation) stays InProgress/Pending. */
  pollsPerUpdate: number;
  /** "lambda:GetFunction", … in order. */
  ops(): string[];
  addFunction(name: string, opts?: { zip?: Buffer; arch?: string; env?: Record<string, string>; memory?: number; timeout?: number; runtime?: string }): FakeFunction;
  addBucket(name: string, notificationXml?: string): void;
  /** The next `times` calls of `op` fail with this error. */
  failNext(op: string, error: { status: number; type: string; message: string }, times?: number): void;
  /** The next update of `name` ends with LastUpdateStatus Failed. */
  failNextUpdate(name: string, reason: string): void;
  reset(): void;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFakeAws(extra?: ExtraRoute): Promise<FakeAws> {
  const calls: RecordedCall[] = [];
  const functions = new Map<string, FakeFunction>();
  const buckets = new Map<string, FakeBucket>();
  let failures: Failure[] = [];
  let revision = 0;
  const fake = {} as FakeAws;

  const arnOf = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
  const configKey = (c: FakeFunction['config']) => JSON.stringify([c.Runtime, c.Handler, c.MemorySize, c.Timeout, c.Environment, c.Architectures]);

  function newFunction(name: string, init: Record<string, unknown>, zip?: Buffer): FakeFunction {
    const fn: FakeFunction = {
      config: {
        FunctionName: name,
        FunctionArn: arnOf(name),
        Runtime: 'nodejs22.x',
        Role: `arn:aws:iam::${ACCOUNT}:role/imgpipe`,
        Handler: 'index.handler',
        CodeSize: zip?.length ?? 0,
        CodeSha256: zip ? sha256b64(zip) : sha256b64(Buffer.from('old code')),
        Version: '$LATEST',
        MemorySize: 128,
        Timeout: 3,
        Architectures: ['x86_64'],
        State: 'Active',
        LastUpdateStatus: 'Successful',
        RevisionId: `rev-${++revision}`,
        ...init,
      },
      zip,
      versions: [],
      aliases: new Map(),
      policies: new Map(),
      pollsLeft: 0,
    };
    functions.set(name, fn);
    return fn;
  }

  function startUpdate(fn: FakeFunction): void {
    fn.config.LastUpdateStatus = 'InProgress';
    fn.config.RevisionId = `rev-${++revision}`;
    fn.pollsLeft = fake.pollsPerUpdate;
  }

  const json = (status: number, body: unknown): Answer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const lambdaError = (status: number, type: string, message: string): Answer => ({
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': type },
    body: JSON.stringify({ Type: 'User', message }),
  });
  const busy = (name: string) => lambdaError(409, 'ResourceConflictException', `The operation cannot be performed at this time. An update is in progress for resource: ${arnOf(name)}`);

  function lambdaOp(method: string, parts: string[], query: Record<string, string>, body: Record<string, unknown>): { op: string; run: () => Answer } {
    const [, , name, sub, subName] = parts; // ['2015-03-31', 'functions', name, sub, subName]
    const fn = name ? functions.get(name) : undefined;
    const missing = () => lambdaError(404, 'ResourceNotFoundException', `Function not found: ${arnOf(name)}`);
    const is = (m: string, s?: string, withName?: boolean) => method === m && sub === s && (withName === undefined || !!subName === withName);

    if (method === 'POST' && !name) {
      return {
        op: 'CreateFunction',
        run: () => {
          const n = String(body.FunctionName);
          if (functions.has(n)) return lambdaError(409, 'ResourceConflictException', `Function already exist: ${n}`);
          if (!String(body.Role ?? '').endsWith('/imgpipe')) return lambdaError(400, 'InvalidParameterValueException', 'The role defined for the function cannot be assumed by Lambda.');
          const code = body.Code as { ZipFile?: string; S3Bucket?: string; S3Key?: string };
          const zip = code.ZipFile ? Buffer.from(code.ZipFile, 'base64') : buckets.get(code.S3Bucket!)?.objects.get(code.S3Key!);
          if (!zip) return lambdaError(400, 'InvalidParameterValueException', 'Error occurred while GetObject.');
          const created = newFunction(
            n,
            { Runtime: body.Runtime, Role: body.Role, Handler: body.Handler, MemorySize: body.MemorySize, Timeout: body.Timeout, Environment: body.Environment, Architectures: body.Architectures ?? ['x86_64'], Description: body.Description, State: 'Pending', LastUpdateStatus: 'InProgress' },
            zip,
          );
          created.pollsLeft = fake.pollsPerUpdate;
          return json(201, created.config);
        },
      };
    }
    if (method === 'GET' && name && !sub) return { op: 'GetFunction', run: () => (fn ? json(200, { Configuration: fn.config, Code: { RepositoryType: 'S3', Location: 'https://example.invalid/code.zip' } }) : missing()) };
    if (is('GET', 'configuration')) {
      return {
        op: 'GetFunctionConfiguration',
        run: () => {
          if (!fn) return missing();
          if (query.Qualifier && query.Qualifier !== '$LATEST') {
            const v = fn.versions.find((x) => x.version === query.Qualifier);
            return v ? json(200, { ...fn.config, Version: v.version, CodeSha256: v.codeSha256, State: 'Active', LastUpdateStatus: 'Successful' }) : missing();
          }
          if (fn.pollsLeft > 0 && --fn.pollsLeft === 0) {
            if (fn.failWith) {
              fn.config.LastUpdateStatus = 'Failed';
              fn.config.LastUpdateStatusReason = fn.failWith;
              fn.config.LastUpdateStatusReasonCode = 'InvalidImage';
              fn.failWith = undefined;
            } else {
              fn.config.LastUpdateStatus = 'Successful';
            }
            fn.config.State = 'Active';
          }
          return json(200, fn.config);
        },
      };
    }
    if (is('PUT', 'code')) {
      return {
        op: 'UpdateFunctionCode',
        run: () => {
          if (!fn) return missing();
          if (fn.config.LastUpdateStatus === 'InProgress') return busy(name);
          const zip = body.ZipFile ? Buffer.from(String(body.ZipFile), 'base64') : buckets.get(String(body.S3Bucket))?.objects.get(String(body.S3Key));
          if (!zip) return lambdaError(400, 'InvalidParameterValueException', 'Error occurred while GetObject.');
          fn.zip = zip;
          fn.config.CodeSha256 = sha256b64(zip);
          fn.config.CodeSize = zip.length;
          if (body.Architectures) fn.config.Architectures = body.Architectures;
          startUpdate(fn);
          return json(200, fn.config);
        },
      };
    }
    if (is('PUT', 'configuration')) {
      return {
        op: 'UpdateFunctionConfiguration',
        run: () => {
          if (!fn) return missing();
          if (fn.config.LastUpdateStatus === 'InProgress') return busy(name);
          for (const k of ['Runtime', 'Handler', 'MemorySize', 'Timeout', 'Environment']) if (body[k] !== undefined) fn.config[k] = body[k];
          startUpdate(fn);
          return json(200, fn.config);
        },
      };
    }
    if (is('POST', 'versions')) {
      return {
        op: 'PublishVersion',
        run: () => {
          if (!fn) return missing();
          if (fn.config.LastUpdateStatus === 'InProgress' || fn.config.State !== 'Active') return busy(name);
          if (body.CodeSha256 && body.CodeSha256 !== fn.config.CodeSha256) {
            return lambdaError(412, 'PreconditionFailedException', 'CodeSHA256 does not match the current code.');
          }
          const last = fn.versions.at(-1);
          const key = configKey(fn.config);
          let v = last && last.codeSha256 === fn.config.CodeSha256 && last.config === key ? last : undefined;
          if (!v) {
            v = { version: String(fn.versions.length + 1), codeSha256: fn.config.CodeSha256, config: key };
            fn.versions.push(v);
          }
          return json(201, { ...fn.config, Version: v.version, FunctionArn: `${fn.config.FunctionArn}:${v.version}`, State: 'Active', Description: body.Description });
        },
      };
    }
    const aliasAnswer = (alias: string) => ({ AliasArn: `${arnOf(name)}:${alias}`, Name: alias, FunctionVersion: fn!.aliases.get(alias), RevisionId: `rev-${++revision}` });
    if (is('GET', 'aliases', true)) return { op: 'GetAlias', run: () => (fn?.aliases.has(subName) ? json(200, aliasAnswer(subName)) : lambdaError(404, 'ResourceNotFoundException', `Alias not found: ${arnOf(name)}:${subName}`)) };
    if (is('POST', 'aliases', false)) {
      return {
        op: 'CreateAlias',
        run: () => {
          if (!fn) return missing();
          const alias = String(body.Name);
          if (fn.aliases.has(alias)) return lambdaError(409, 'ResourceConflictException', `Alias already exists: ${arnOf(name)}:${alias}`);
          if (!fn.versions.some((v) => v.version === body.FunctionVersion)) return lambdaError(404, 'ResourceNotFoundException', 'Function version not found');
          fn.aliases.set(alias, String(body.FunctionVersion));
          return json(201, aliasAnswer(alias));
        },
      };
    }
    if (is('PUT', 'aliases', true)) {
      return {
        op: 'UpdateAlias',
        run: () => {
          if (!fn?.aliases.has(subName)) return lambdaError(404, 'ResourceNotFoundException', 'Alias not found');
          fn.aliases.set(subName, String(body.FunctionVersion));
          return json(200, aliasAnswer(subName));
        },
      };
    }
    if (is('GET', 'policy')) {
      return {
        op: 'GetPolicy',
        run: () => {
          const statements = fn?.policies.get(query.Qualifier ?? '');
          if (!fn || !statements?.length) return lambdaError(404, 'ResourceNotFoundException', 'The resource you requested does not exist.');
          return json(200, { Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }), RevisionId: `rev-${revision}` });
        },
      };
    }
    if (is('POST', 'policy')) {
      return {
        op: 'AddPermission',
        run: () => {
          if (!fn) return missing();
          const q = query.Qualifier ?? '';
          if (q && !fn.aliases.has(q) && !fn.versions.some((v) => v.version === q)) return lambdaError(404, 'ResourceNotFoundException', `Qualifier not found: ${q}`);
          const statements = fn.policies.get(q) ?? [];
          if (statements.some((s) => s.Sid === body.StatementId)) {
            return lambdaError(409, 'ResourceConflictException', `The statement id (${body.StatementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`);
          }
          const statement = {
            Sid: body.StatementId,
            Effect: 'Allow',
            Principal: { Service: body.Principal },
            Action: body.Action,
            Resource: q ? `${arnOf(name)}:${q}` : arnOf(name),
            Condition: { StringEquals: { 'AWS:SourceAccount': body.SourceAccount }, ArnLike: { 'AWS:SourceArn': body.SourceArn } },
          };
          fn.policies.set(q, [...statements, statement]);
          return json(201, { Statement: JSON.stringify(statement) });
        },
      };
    }
    return { op: `Unknown(${method} ${parts.join('/')})`, run: () => lambdaError(400, 'UnknownOperationException', 'unknown operation') };
  }

  /** Like S3: every Lambda destination must already let s3.amazonaws.com invoke it from this bucket. */
  function unvalidated(bucket: string, xml: string): string[] {
    const bad: string[] = [];
    for (const m of xml.matchAll(/<CloudFunction>([^<]+)<\/CloudFunction>/g)) {
      const arn = m[1];
      const [, , , , , , name, qualifier = ''] = arn.split(':');
      const statements = functions.get(name)?.policies.get(qualifier) ?? [];
      const ok = statements.some((s) => {
        const cond = s.Condition as { ArnLike?: Record<string, string> } | undefined;
        return (s.Principal as { Service?: string }).Service === 's3.amazonaws.com' && cond?.ArnLike?.['AWS:SourceArn'] === `arn:aws:s3:::${bucket}`;
      });
      if (!ok && arn.startsWith(`arn:aws:lambda:${REGION}:${ACCOUNT}:`)) bad.push(arn);
    }
    return bad;
  }

  const server = http.createServer(async (req, res) => {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const auth = String(req.headers.authorization ?? '');
    const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1];
    let op: string;
    let body: Record<string, unknown>;
    let run: () => Answer;
    let error: ((status: number, type: string, message: string) => Answer) | undefined;
    const routed = extra?.({ method: req.method!, path: url.pathname, service, raw });
    if (routed) ({ op, body, run, error } = routed);
    else if (req.method === 'GET' && parts[0] === '2016-08-19' && parts[1] === 'account-settings') {
      // What a default account answers: 1,000 concurrent executions, none reserved.
      op = 'lambda:GetAccountSettings';
      body = {};
      run = () => json(200, { AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000, CodeSizeUnzipped: 262144000, CodeSizeZipped: 52428800, TotalCodeSize: 80530636800 }, AccountUsage: { FunctionCount: functions.size, TotalCodeSize: 0 } });
    } else if (parts[0] === '2015-03-31' && parts[1] === 'functions') {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      ({ op, run } = lambdaOp(req.method!, parts, query, body));
      op = `lambda:${op}`;
      const recorded = { ...body };
      if (typeof recorded.ZipFile === 'string') recorded.ZipFile = { bytes: Buffer.from(recorded.ZipFile, 'base64').length, sha256: sha256b64(Buffer.from(recorded.ZipFile, 'base64')) };
      const code = recorded.Code as { ZipFile?: string } | undefined;
      if (code?.ZipFile) recorded.Code = { ...code, ZipFile: { bytes: Buffer.from(code.ZipFile, 'base64').length, sha256: sha256b64(Buffer.from(code.ZipFile, 'base64')) } };
      body = recorded;
    } else {
      const s3 = s3Op(buckets, unvalidated, { method: req.method!, bucket: parts[0] ?? '', key: parts.slice(1).join('/'), query, raw });
      ({ op, run, body } = s3);
      op = `s3:${op}`;
    }
    calls.push({ op, method: req.method!, path: url.pathname, query, body, service });
    let answer: Answer;
    const failure = failures.find((f) => f.op === op && f.times > 0);
    if (!auth.startsWith('AWS4-HMAC-SHA256 ')) answer = { status: 403, body: 'unsigned request' };
    else if (failure) {
      failure.times--;
      answer = error ? error(failure.status, failure.type, failure.message) : op.startsWith('s3:') ? s3Error(failure.status, failure.type, failure.message) : lambdaError(failure.status, failure.type, failure.message);
    } else answer = run();
    res.writeHead(answer.status, { 'x-amzn-requestid': `req-${calls.length}`, ...answer.headers });
    res.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(fake, {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    functions,
    buckets,
    pollsPerUpdate: 2,
    ops: () => calls.map((c) => c.op),
    addFunction(name: string, opts: { zip?: Buffer; arch?: string; env?: Record<string, string>; memory?: number; timeout?: number; runtime?: string } = {}) {
      return newFunction(
        name,
        {
          ...(opts.arch && { Architectures: [opts.arch] }),
          ...(opts.env && { Environment: { Variables: opts.env } }),
          ...(opts.memory && { MemorySize: opts.memory }),
          ...(opts.timeout && { Timeout: opts.timeout }),
          ...(opts.runtime && { Runtime: opts.runtime }),
        },
        opts.zip,
      );
    },
    addBucket(name: string, notificationXml?: string) {
      buckets.set(name, newBucket(notificationXml));
    },
    failNext(op: string, error: { status: number; type: string; message: string }, times = 1) {
      failures.push({ op, ...error, times });
    },
    failNextUpdate(name: string, reason: string) {
      functions.get(name)!.failWith = reason;
    },
    reset() {
      calls.length = 0;
      functions.clear();
      buckets.clear();
      failures = [];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
