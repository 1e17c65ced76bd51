// infra/template.yaml: it parses as CloudFormation reads it, every reference resolves, the
// buckets are locked, the trigger and the API are wired to the right functions, and the roles
// grant exactly what the pipeline needs and nothing more.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { attemptKey, FAILURE_PREFIX, RECORD_PREFIX } from '../src/core/keys.js';
import { projectRoot } from '../src/deploy/paths.js';
import { checkConcurrency, concurrencyNote } from '../src/deploy/stack/concurrency.js';
import { DEFAULT_RESIZE_CONCURRENCY, FUNCTION_DEFAULTS, MAX_RECEIVE_COUNT } from '../src/core/pipeline-defaults.js';
import { checkLifecycle, LIFECYCLE_DEFAULTS, ORIGINALS_STORAGE_CLASSES } from '../src/deploy/stack/lifecycle.js';
import { parseCfnYaml, PSEUDO_PARAMETERS as PSEUDO, resolveFor, subNames, walk, type CfnNode as Node } from './helpers/cfn-yaml.js';
import { have, TOOLS } from './helpers/tools.js';

/** Where the resize's attempt notes go (core/keys.ts attemptKey): what the template's lifecycle rule expires. */
const ATTEMPT_PREFIX = path.posix.dirname(attemptKey('x')) + '/';

/** Every Allow statement of a role, with its actions sorted; `!If [cond, a, b]` read as a (the defaults hold every condition true). */
function allows(role: Node): { actions: string[]; resource: unknown; condition?: unknown }[] {
  return (role.Properties.Policies as Node[]).flatMap((p) =>
    (p.PolicyDocument.Statement as Node[]).map((raw) => {
      const s = raw['Fn::If'] ? raw['Fn::If'][1] : raw;
      expect(s.Effect).toBe('Allow');
      return { actions: [s.Action].flat().sort(), resource: s.Resource, ...(s.Condition ? { condition: s.Condition } : {}) };
    }),
  );
}

describe('infra/template.yaml', () => {
  let t: Node;
  let r: Node;
  const roleOf = (fn: string) => r[(r[fn].Properties.Role['Fn::GetAtt'] as string[])[0]];

  beforeAll(() => {
    t = parseCfnYaml(readFileSync(path.join(projectRoot(), 'infra/template.yaml'), 'utf8'));
    r = t.Resources;
  });

  it('parses, and every Ref, GetAtt and ${} in a Sub names a parameter, a resource or a pseudo parameter', () => {
    expect(t.AWSTemplateFormatVersion).toBe('2010-09-09');
    const known = new Set([...Object.keys(t.Parameters), ...Object.keys(r), ...PSEUDO]);
    const used: string[] = [];
    walk([r, t.Outputs], (o) => {
      if (typeof o.Ref === 'string') used.push(o.Ref);
      if (Array.isArray(o['Fn::GetAtt'])) used.push(o['Fn::GetAtt'][0]);
      if (typeof o['Fn::Sub'] === 'string') used.push(...subNames(o['Fn::Sub']));
      for (const dep of [o.DependsOn].flat()) if (typeof dep === 'string' && o.Type) used.push(dep);
    });
    expect(used.filter((u) => !known.has(u))).toEqual([]);
    expect(used.length).toBeGreaterThan(20);
  });

  it('both buckets block public access and encrypt, outlive the stack, and their policies only deny plain HTTP', () => {
    for (const b of ['SourceBucket', 'DestBucket']) {
      // Deleting the stack, or an update that would replace a bucket, keeps the photos.
      expect([r[b].DeletionPolicy, r[b].UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
      const p = r[b].Properties;
      expect(p.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      const policy = Object.values(r).find((x: Node) => x.Type === 'AWS::S3::BucketPolicy' && x.Properties.Bucket.Ref === b) as Node;
      // The destination's also carries the CDN's two statements (checked in the CDN test below).
      expect(policy.Properties.PolicyDocument.Statement[0]).toEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      expect(policy.Properties.PolicyDocument.Statement).toHaveLength(b === 'DestBucket' ? 3 : 1);
    }
    expect(Object.values(r).filter((x: Node) => x.Type === 'AWS::S3::BucketPolicy')).toHaveLength(2);
  });

  it('the CDN (Cdn, on by default): CloudFront with Origin Access Control on the private destination bucket, HTTPS only, CachingOptimized, GET/HEAD; the bucket grants that distribution alone and never its records', () => {
    expect(t.Parameters.Cdn).toMatchObject({ Type: 'String', Default: 'true', AllowedValues: ['true', 'false'] });
    expect(t.Conditions.CdnOn).toEqual({ 'Fn::Equals': [{ Ref: 'Cdn' }, 'true'] });
    const cloudfront = Object.entries(r).filter(([, x]) => (x as Node).Type.startsWith('AWS::CloudFront::')).map(([id]) => id);
    expect(cloudfront.sort()).toEqual(['VariantsDistribution', 'VariantsOriginAccessControl']);
    expect(r.VariantsOriginAccessControl).toEqual({
      Type: 'AWS::CloudFront::OriginAccessControl',
      Condition: 'CdnOn',
      Properties: {
        OriginAccessControlConfig: {
          Name: { 'Fn::Sub': '${AWS::StackName}-variants' },
          Description: "imgpipe's CDN reads the destination bucket, signing every request",
          OriginAccessControlOriginType: 's3',
          SigningBehavior: 'always',
          SigningProtocol: 'sigv4',
        },
      },
    });
    expect(r.VariantsDistribution).toEqual({
      Type: 'AWS::CloudFront::Distribution',
      Condition: 'CdnOn',
      Properties: {
        DistributionConfig: {
          Enabled: true,
          Comment: { 'Fn::Sub': 'imgpipe variants (${AWS::StackName})' },
          HttpVersion: 'http2and3',
          IPV6Enabled: true,
          PriceClass: 'PriceClass_100',
          // One origin, the destination bucket, read only through the OAC (no legacy OAI, no website endpoint).
          Origins: [{ Id: 'variants', DomainName: { 'Fn::GetAtt': ['DestBucket', 'RegionalDomainName'] }, OriginAccessControlId: { 'Fn::GetAtt': ['VariantsOriginAccessControl', 'Id'] }, S3OriginConfig: { OriginAccessIdentity: '' } }],
          DefaultCacheBehavior: {
            TargetOriginId: 'variants',
            ViewerProtocolPolicy: 'redirect-to-https',
            CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6', // the managed CachingOptimized
            AllowedMethods: ['GET', 'HEAD'],
            CachedMethods: ['GET', 'HEAD'],
            Compress: true,
          },
        },
      },
    });
    // The bucket itself stays private: no public access, reachable by the CDN only through the policy.
    expect(r.DestBucket.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets).toBe(true);
    const cdnOnly = (s: Node) => ({ 'Fn::If': ['CdnOn', s, { Ref: 'AWS::NoValue' }] });
    expect(r.DestBucketPolicy.Properties.PolicyDocument.Statement.slice(1)).toEqual([
      cdnOnly({
        Sid: 'CdnReadsVariants',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': '${DestBucket.Arn}/*' },
        Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${VariantsDistribution}' } } },
      }),
      // An explicit Deny wins over the Allow: the records are never served, whatever their key.
      cdnOnly({ Sid: 'CdnNeverReadsRecords', Effect: 'Deny', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject', Resource: { 'Fn::Sub': `\${DestBucket.Arn}/${RECORD_PREFIX.replace(/\/.*$/, '')}/*` } }),
    ]);
    // The records' prefix the Deny names is the one core/keys.ts writes them under.
    expect(RECORD_PREFIX.startsWith('_imgpipe/')).toBe(true);
    expect(t.Outputs.CdnUrl).toEqual({ Condition: 'CdnOn', Description: "The variants' public base URL: <this>/<variant key>", Value: { 'Fn::Sub': 'https://${VariantsDistribution.DomainName}' } });
    // The presign API is told the same URL (POST /variants answers with it), and nothing without the CDN.
    expect(r.PresignFunction.Properties.Environment.Variables.CDN_URL).toEqual(cdnOnly(t.Outputs.CdnUrl.Value));
  });

  it("CORS: the page's origin (the HTTP API itself) and the configured origins may PUT to the source bucket, the page may GET/HEAD the destination, nothing more", () => {
    const page = { 'Fn::Sub': 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}' };
    expect(t.Outputs.ApiUrl.Value).toEqual(page);
    const put = { AllowedMethods: ['PUT'], AllowedHeaders: ['content-type', 'x-amz-checksum-sha256', 'x-amz-meta-path'], ExposedHeaders: ['ETag'], MaxAge: 600 };
    expect(r.SourceBucket.Properties.CorsConfiguration).toEqual({
      CorsRules: [
        { Id: 'upload-page-put', AllowedOrigins: [page], ...put },
        // Only when CorsOrigins is set (imgpipe deploy --cors-origin, which refuses '*').
        { 'Fn::If': ['HasCorsOrigins', { Id: 'configured-origins-put', AllowedOrigins: { 'Fn::Split': [',', { Ref: 'CorsOrigins' }] }, ...put }, { Ref: 'AWS::NoValue' }] },
      ],
    });
    expect(t.Conditions.HasCorsOrigins).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'CorsOrigins' }, ''] }] });
    expect(r.DestBucket.Properties.CorsConfiguration).toEqual({
      CorsRules: [{ Id: 'upload-page-get', AllowedOrigins: [page], AllowedMethods: ['GET', 'HEAD'], MaxAge: 600 }],
    });
    // The buckets now depend on the API: the API must depend on nothing (else a cycle could form).
    const apiRefs: string[] = [];
    walk(r.HttpApi, (o) => {
      if (typeof o.Ref === 'string') apiRefs.push(o.Ref);
      if (o['Fn::GetAtt'] || o.DependsOn) apiRefs.push(JSON.stringify(o));
      if (typeof o['Fn::Sub'] === 'string') for (const m of o['Fn::Sub'].matchAll(/\$\{([^}!]+)\}/g)) apiRefs.push(m[1]);
    });
    expect(apiRefs.filter((x) => !x.startsWith('AWS::'))).toEqual([]);
    expect(r.HttpApi.DependsOn).toBeUndefined();
  });

  it('the source bucket sends s3:ObjectCreated:* and s3:ObjectRemoved:* under the upload prefix to the queue, which only that bucket of this account may send to', () => {
    const src = r.SourceBucket;
    expect(src.Properties.NotificationConfiguration).toEqual({
      QueueConfigurations: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'].map((Event) => ({
        Event,
        Queue: { 'Fn::GetAtt': ['ResizeQueue', 'Arn'] },
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: { 'Fn::Sub': '${KeyPrefix}/' } }] } },
      })),
    });
    // S3 checks it may send when the notification is made: the policy comes first.
    expect(src.DependsOn).toBe('ResizeQueuePolicy');
    expect(r.ResizeQueuePolicy.Properties).toEqual({
      Queues: [{ Ref: 'ResizeQueue' }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'SourceBucketEvents',
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': ['ResizeQueue', 'Arn'] },
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}' } }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    });
    // Nothing invokes the resize directly any more: S3 has no permission on it.
    expect(Object.values(r).filter((x: Node) => x.Type === 'AWS::Lambda::Permission' && x.Properties.Principal === 's3.amazonaws.com')).toEqual([]);
    expect(r.DestBucket.Properties.NotificationConfiguration).toBeUndefined();
  });

  it('the queue: visibility six times the function timeout, redrive to the dead-letter queue after 3 receives, which keeps messages longer; one message per resize, partial failures, concurrency from ResizeConcurrency', () => {
    const q = r.ResizeQueue.Properties;
    const timeout = r.ResizeFunction.Properties.Timeout as number;
    expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    // The local stack (src/local/resize-queue.ts) takes the timeout and the receives from these constants.
    expect(timeout).toBe(FUNCTION_DEFAULTS.resize.timeout);
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['ResizeDeadLetterQueue', 'Arn'] }, maxReceiveCount: MAX_RECEIVE_COUNT });
    // A message keeps its first enqueue time when dead-lettered: the DLQ must keep it longer.
    expect(r.ResizeDeadLetterQueue.Properties.MessageRetentionPeriod).toBeGreaterThan(q.MessageRetentionPeriod);
    expect([q.SqsManagedSseEnabled, r.ResizeDeadLetterQueue.Properties.SqsManagedSseEnabled]).toEqual([true, true]);
    expect(r.ResizeEventSourceMapping.Properties).toEqual({
      EventSourceArn: { 'Fn::GetAtt': ['ResizeQueue', 'Arn'] },
      FunctionName: { Ref: 'ResizeFunction' },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: { Ref: 'ResizeConcurrency' } },
    });
    // SQS's published bounds for an event source's MaximumConcurrency; the deploy's note never suggests less.
    expect(t.Parameters.ResizeConcurrency).toMatchObject({ Type: 'Number', Default: DEFAULT_RESIZE_CONCURRENCY, MinValue: 2, MaxValue: 1000 });
    expect(concurrencyNote(checkConcurrency(5, { limit: 10, unreserved: 1 }))).toContain(`pass --resize-concurrency ${t.Parameters.ResizeConcurrency.MinValue} `);
    // The recorder: the dead-letter queue's only consumer, told the same receive count.
    expect(r.FailureRecorderEventSourceMapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['ResizeDeadLetterQueue', 'Arn'] },
      FunctionName: { Ref: 'FailureRecorderFunction' },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(r.FailureRecorderFunction.Properties.Environment.Variables.MAX_RECEIVE_COUNT).toBe(String(q.RedrivePolicy.maxReceiveCount));
    expect(Object.values(r).filter((x: Node) => x.Type === 'AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    // The resize's notes for the recorder expire; with the defaults, nothing else in the destination does.
    expect(resolveFor(t, {}).Resources.DestBucket.Properties.LifecycleConfiguration.Rules).toEqual([{ Id: 'expire-attempt-notes', Status: 'Enabled', Prefix: ATTEMPT_PREFIX, ExpirationInDays: 15 }]);
  });

  it("lifecycle: off by default; OriginalsTransitionDays moves the uploads (only) to OriginalsStorageClass, FailedRecordDays expires the failure records (only); the other rules stay either way", () => {
    // The parameters, and the CLI's defaults and choices, are the same.
    expect(t.Parameters.OriginalsTransitionDays).toMatchObject({ Type: 'Number', Default: LIFECYCLE_DEFAULTS.originalsTransitionDays, MinValue: 0 });
    expect(t.Parameters.OriginalsStorageClass).toMatchObject({ Type: 'String', Default: LIFECYCLE_DEFAULTS.originalsStorageClass, AllowedValues: [...ORIGINALS_STORAGE_CLASSES] });
    expect(t.Parameters.FailedRecordDays).toMatchObject({ Type: 'Number', Default: LIFECYCLE_DEFAULTS.failedRecordDays, MinValue: 0 });
    // Every class offered reads back at once (GetObject): the archive classes would need a restore first.
    for (const c of ORIGINALS_STORAGE_CLASSES) expect(['GLACIER', 'DEEP_ARCHIVE']).not.toContain(c);
    const abort = { Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } };
    const notes = { Id: 'expire-attempt-notes', Status: 'Enabled', Prefix: ATTEMPT_PREFIX, ExpirationInDays: 15 };
    const rules = (given: Record<string, string>) => {
      const x = resolveFor(t, given).Resources;
      return [x.SourceBucket.Properties.LifecycleConfiguration.Rules, x.DestBucket.Properties.LifecycleConfiguration.Rules];
    };
    expect(rules({})).toEqual([[abort], [notes]]);
    expect(rules({ OriginalsTransitionDays: '0', FailedRecordDays: '0', OriginalsStorageClass: 'GLACIER_IR' })).toEqual([[abort], [notes]]);
    expect(rules({ OriginalsTransitionDays: '30', FailedRecordDays: '90' })).toEqual([
      [abort, { Id: 'transition-originals', Status: 'Enabled', Prefix: { 'Fn::Sub': '${KeyPrefix}/' }, Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: '30' }] }],
      [notes, { Id: 'expire-failure-records', Status: 'Enabled', Prefix: FAILURE_PREFIX, ExpirationInDays: '90' }],
    ]);
    // Each on its own: one parameter never turns the other's rule on.
    expect(rules({ OriginalsTransitionDays: '1', OriginalsStorageClass: 'GLACIER_IR' })).toEqual([
      [abort, { Id: 'transition-originals', Status: 'Enabled', Prefix: { 'Fn::Sub': '${KeyPrefix}/' }, Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: '1' }] }],
      [notes],
    ]);
    expect(rules({ FailedRecordDays: '7' })).toEqual([[abort], [notes, { Id: 'expire-failure-records', Status: 'Enabled', Prefix: FAILURE_PREFIX, ExpirationInDays: '7' }]]);
  });

  it("the CLI refuses what S3 would refuse mid-update: STANDARD_IA before 30 days; the other classes take any day", () => {
    const at = (originalsTransitionDays: number, originalsStorageClass: (typeof ORIGINALS_STORAGE_CLASSES)[number]) => checkLifecycle({ ...LIFECYCLE_DEFAULTS, originalsTransitionDays, originalsStorageClass });
    expect(at(29, 'STANDARD_IA')).toMatch(/^--originals-transition-days: S3 moves nothing to STANDARD_IA before 30 days \(29 given\)/);
    expect([at(0, 'STANDARD_IA'), at(30, 'STANDARD_IA'), at(1, 'GLACIER_IR'), at(1, 'INTELLIGENT_TIERING')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('the functions run the deploy-lambda zips and set only variables the handlers read', () => {
    const source = (f: string) => readFileSync(path.join(projectRoot(), 'lambda', f), 'utf8');
    const reads = (text: string) => new Set([...text.matchAll(/env\.([A-Z_]+)|intEnv\(env, '([A-Z_]+)'/g)].map((m) => m[1] ?? m[2]));
    const runtimeOnly = ['MALLOC_ARENA_MAX'];
    for (const [fn, file, codeKey, required] of [
      ['ResizeFunction', 'resize.ts', 'ResizeCodeKey', ['DEST_BUCKET', 'SOURCE_BUCKET', 'IMGPIPE_SPEC', 'MALLOC_ARENA_MAX']],
      ['PresignFunction', 'presign/config.ts', 'PresignCodeKey', ['SOURCE_BUCKET', 'KEY_PREFIX', 'API_KEY', 'DEDUPE', 'IMGPIPE_SPEC', 'DEST_BUCKET', 'RESIZE_QUEUE_URL']],
      ['FailureRecorderFunction', 'failure-recorder.ts', 'FailureRecorderCodeKey', ['DEST_BUCKET', 'IMGPIPE_SPEC', 'MAX_RECEIVE_COUNT']],
    ] as const) {
      const p = r[fn].Properties;
      expect(p).toMatchObject({ Handler: 'index.handler', Runtime: { Ref: 'Runtime' }, Architectures: [{ Ref: 'Architecture' }], Code: { S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: codeKey } } });
      const vars = Object.keys(p.Environment.Variables);
      expect(vars).toEqual(expect.arrayContaining([...required]));
      const handlerReads = reads(source(file));
      expect(vars.filter((v) => !handlerReads.has(v) && !runtimeOnly.includes(v))).toEqual([]);
    }
    expect(r.ResizeFunction.Properties.Environment.Variables.MALLOC_ARENA_MAX).toBe('1');
    expect(r.ResizeFunction.Properties.Environment.Variables.DEST_BUCKET).not.toEqual(r.ResizeFunction.Properties.Environment.Variables.SOURCE_BUCKET);
    expect(t.Parameters.ResizeMemory.Default).toBe(1769);
    // What bench/presign.mjs measures the largest batch against is what the stack deploys.
    expect(r.PresignFunction.Properties).toMatchObject({ MemorySize: FUNCTION_DEFAULTS.presign.memory, Timeout: FUNCTION_DEFAULTS.presign.timeout });
    expect(r.FailureRecorderFunction.Properties).toMatchObject({ MemorySize: FUNCTION_DEFAULTS['failure-recorder'].memory, Timeout: FUNCTION_DEFAULTS['failure-recorder'].timeout });
  });

  it('POST /uploads, POST /uploads/complete and GET /spec on the HTTP API reach the presign function, which only these routes may invoke', () => {
    expect(r.HttpApi.Properties.ProtocolType).toBe('HTTP');
    expect(r.UploadsRoute.Properties).toEqual({ ApiId: { Ref: 'HttpApi' }, RouteKey: 'POST /uploads', Target: { 'Fn::Sub': 'integrations/${PresignIntegration}' } });
    expect(r.PresignIntegration.Properties).toEqual({ ApiId: { Ref: 'HttpApi' }, IntegrationType: 'AWS_PROXY', IntegrationUri: { 'Fn::GetAtt': ['PresignFunction', 'Arn'] }, PayloadFormatVersion: '2.0' });
    expect(r.PresignInvokePermission.Properties).toEqual({
      FunctionName: { 'Fn::GetAtt': ['PresignFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/POST/uploads' },
    });
    expect(r.SpecRoute.Properties).toEqual({ ApiId: { Ref: 'HttpApi' }, RouteKey: 'GET /spec', Target: { 'Fn::Sub': 'integrations/${PresignIntegration}' } });
    expect(r.PresignSpecInvokePermission.Properties.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/GET/spec' });
    expect(r.VariantsRoute.Properties.RouteKey).toBe('POST /variants');
    expect(r.PageRoute.Properties.RouteKey).toBe('GET /');
    expect(r.PresignVariantsInvokePermission.Properties.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/POST/variants' });
    expect(r.PresignPageInvokePermission.Properties.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/GET/' });
    expect(r.ReprocessRoute.Properties).toEqual({ ApiId: { Ref: 'HttpApi' }, RouteKey: 'POST /reprocess', Target: { 'Fn::Sub': 'integrations/${PresignIntegration}' } });
    expect(r.PresignReprocessInvokePermission.Properties.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/POST/reprocess' });
    expect(r.CompleteRoute.Properties).toEqual({ ApiId: { Ref: 'HttpApi' }, RouteKey: 'POST /uploads/complete', Target: { 'Fn::Sub': 'integrations/${PresignIntegration}' } });
    expect(r.PresignCompleteInvokePermission.Properties.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/POST/uploads/complete' });
    expect(Object.values(r).filter((x: Node) => x.Type === 'AWS::ApiGatewayV2::Route')).toHaveLength(6);
  });

  it('least privilege: presign may only put uploads (and list their prefix for dedupe, and re-queue a stranded one); resize may only read sources (and know a deleted one), write variants, records and notes, clear failure records, remove a deleted upload’s variants and done record and take from its queue; the recorder only reads records and notes, writes failure records and takes from the dead-letter queue; each logs to its own group', () => {
    const iam = Object.entries(r).filter(([, x]: [string, Node]) => x.Type.startsWith('AWS::IAM::'));
    expect(iam.map(([name, x]: [string, Node]) => `${name} ${x.Type}`).sort()).toEqual(['FailureRecorderRole AWS::IAM::Role', 'PresignRole AWS::IAM::Role', 'ResizeRole AWS::IAM::Role']);
    expect(Object.values(r).filter((x: Node) => x.Type === 'AWS::Lambda::Permission')).toHaveLength(6);
    for (const [, role] of iam as [string, Node][]) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    }
    const logs = (group: string) => ({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [group, 'Arn'] } });
    expect(allows(roleOf('PresignFunction'))).toEqual([
      { actions: ['s3:PutObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}/${KeyPrefix}/*' } },
      // The read side: records and pre-signed GETs of the variants, nothing in the source bucket.
      { actions: ['s3:GetObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/*' } },
      // Dedupe's lookup: list the source bucket, under the upload prefix only, and only when it is on.
      { actions: ['s3:ListBucket'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}' }, condition: { StringLike: { 's3:prefix': { 'Fn::Sub': '${KeyPrefix}/*' } } } },
      // Multipart: the uploads in progress in the source bucket, and the parts of those under the prefix.
      { actions: ['s3:ListBucketMultipartUploads'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}' } },
      { actions: ['s3:ListMultipartUploadParts'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}/${KeyPrefix}/*' } },
      // Heal: a stranded photo's S3 event back onto the resize's queue, and no other.
      { actions: ['sqs:SendMessage'], resource: { 'Fn::GetAtt': ['ResizeQueue', 'Arn'] } },
      logs('PresignLogGroup'),
    ]);
    expect(r.PresignFunction.Properties.Environment.Variables.RESIZE_QUEUE_URL).toEqual({ Ref: 'ResizeQueue' });
    const presignStatements = r.PresignRole.Properties.Policies[0].PolicyDocument.Statement as Node[];
    expect(presignStatements[2]['Fn::If'][0]).toBe('DedupeOn');
    expect(presignStatements[2]['Fn::If'][2]).toEqual({ Ref: 'AWS::NoValue' });
    expect(t.Conditions.DedupeOn).toEqual({ 'Fn::Equals': [{ Ref: 'Dedupe' }, 'true'] });
    expect(r.PresignFunction.Properties.Environment.Variables.DEDUPE).toEqual({ Ref: 'Dedupe' });
    expect(allows(roleOf('ResizeFunction'))).toEqual([
      { actions: ['s3:GetObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}/*' } },
      // A deleted upload answers 404 rather than 403 (a removal and a late create act on it).
      { actions: ['s3:ListBucket'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SourceBucketName}' } },
      { actions: ['s3:PutObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/*' } },
      { actions: ['s3:DeleteObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/_imgpipe/failed/*' } },
      // A deleted upload's variants (any version) and done record: no other key of the bucket.
      {
        actions: ['s3:DeleteObject'],
        resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/*/????????/${KeyPrefix}/*' }, { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/_imgpipe/done/${KeyPrefix}/*' }],
      },
      { actions: ['s3:PutObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/_imgpipe/attempts/*' } },
      { actions: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], resource: { 'Fn::GetAtt': ['ResizeQueue', 'Arn'] } },
      logs('ResizeLogGroup'),
    ]);
    expect(allows(roleOf('FailureRecorderFunction'))).toEqual([
      {
        actions: ['s3:GetObject'],
        resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/_imgpipe/done/*' }, { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/_imgpipe/attempts/*' }],
      },
      { actions: ['s3:PutObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${DestBucketName}/_imgpipe/failed/*' } },
      { actions: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], resource: { 'Fn::GetAtt': ['ResizeDeadLetterQueue', 'Arn'] } },
      logs('FailureRecorderLogGroup'),
    ]);
    // The prefixes in the roles are the ones the code writes (src/core/keys.ts).
    expect([RECORD_PREFIX, FAILURE_PREFIX, ATTEMPT_PREFIX]).toEqual(['_imgpipe/done/', '_imgpipe/failed/', '_imgpipe/attempts/']);
    expect(r.FailureRecorderFunction.Properties.FunctionName).toEqual({ 'Fn::Sub': '${AWS::StackName}-failure-recorder' });
    expect(r.FailureRecorderLogGroup.Properties.LogGroupName).toEqual({ 'Fn::Sub': '/aws/lambda/${AWS::StackName}-failure-recorder' });
    expect(r.ResizeLogGroup.Properties.LogGroupName).toEqual({ 'Fn::Sub': '/aws/lambda/${AWS::StackName}-resize' });
    expect(r.ResizeFunction.Properties.FunctionName).toEqual({ 'Fn::Sub': '${AWS::StackName}-resize' });
    expect(r.PresignLogGroup.Properties.LogGroupName).toEqual({ 'Fn::Sub': '/aws/lambda/${AWS::StackName}-presign' });
    expect(r.PresignFunction.Properties.FunctionName).toEqual({ 'Fn::Sub': '${AWS::StackName}-presign' });
  });
});

// AWS's own linter for CloudFormation, where the machine has it (.ci/run says whether it does).
const CFN_LINT = have(TOOLS.cfnLint, 'deploy-infra.test (cfn-lint)');
describe.skipIf(!CFN_LINT)('cfn-lint', () => {
  it('finds no error and no warning in infra/template.yaml', () => {
    const r = spawnSync('cfn-lint', [path.join(projectRoot(), 'infra/template.yaml')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
