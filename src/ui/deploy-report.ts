// The end of every deploy job as a person reads it: `deploy-lambda`'s package and publish, `deploy`'s
// stack and outputs, `deploy --delete`'s kept buckets, and the question that delete asks. The
// --json document is the report itself (DeployReport and its three shapes), never these lines.
import type { DeploySummary } from '../deploy/run.js';
import type { StackDeploySummary } from '../deploy/stack/deploy.js';
import type { DeletePlan, StackDeleteSummary } from '../deploy/stack/remove.js';
import { formatBytes } from '../core/bytes.js';

/** `deploy-lambda`. */
export function formatSummary(s: DeploySummary): string {
  const p = s.package;
  const lines = [
    `package   ${p.handler} · ${p.arch} · ${p.runtime} · handler ${p.lambdaHandler}`,
    `  zip       ${formatBytes(p.bytes)} (${p.bytes} bytes), ${formatBytes(p.unzippedBytes)} unzipped, ${p.entries} files`,
    `  sha256    ${p.sha256} (CodeSha256 ${p.codeSha256})`,
    `  bundle    ${formatBytes(p.bundleBytes)} from ${p.entry}, AWS SDK bundled`,
    `  sharp     ${p.sharp ? `${p.sharp.version}: ${p.sharp.packages.filter((n) => n.startsWith('@img/sharp')).join(', ')}` : 'not used'}`,
  ];
  if (p.file) lines.push(`  written   ${p.file}`);
  if (p.needsS3Staging) lines.push(`  over Lambda's ${formatBytes(s.limits.directUploadBytes)} direct-upload limit: staged through --code-bucket`);
  if (s.plan) {
    lines.push('dry run: nothing was sent; a publish would call');
    for (const c of s.plan) lines.push(`  ${c.call} ${JSON.stringify(c.params)}${c.when ? `\n      (${c.when})` : ''}`);
  }
  const f = s.function;
  if (f) {
    const code = f.code.status === 'unchanged' ? 'code unchanged (upload skipped)' : `code ${f.code.status}`;
    const alias =
      f.alias.status === 'moved' ? `alias ${f.alias.name} → ${f.alias.version} (was ${f.alias.previousVersion})` : `alias ${f.alias.name} → ${f.alias.version}${f.alias.status === 'created' ? ' (created)' : ''}`;
    lines.push(`function  ${f.functionName}: ${code}, configuration ${f.configuration.status}, version ${f.version}, ${alias}`);
  }
  const t = s.trigger;
  if (t) {
    lines.push(`trigger   s3://${t.bucket} ObjectCreated → ${t.target} (permission ${t.permission}, notification ${t.notification}; kept: ${t.kept.length ? t.kept.join(', ') : 'none'})`);
  }
  if (!s.dryRun && !f) lines.push('nothing published (pass --function NAME to publish)');
  return lines.join('\n');
}

/** `deploy`. */
export function formatDeploy(s: StackDeploySummary, noApiKey: boolean): string {
  const head: Record<StackDeploySummary['action'], string> = {
    created: `stack ${s.stack} created in ${s.region}`,
    updated: `stack ${s.stack} updated in ${s.region}`,
    unchanged: `stack ${s.stack} in ${s.region}: nothing to change`,
    'dry-run': `dry run of stack ${s.stack} in ${s.region}: ${s.changeSet?.changes.length ?? 0} changes shown, nothing changed`,
  };
  const lines = [head[s.action]];
  const o = s.outputs;
  if (o) {
    lines.push(`  API        ${o.api ?? '(no ApiUrl output)'}${o.api ? '  (also the upload page)' : ''}`);
    if (o.sourceBucket) lines.push(`  uploads    s3://${o.sourceBucket}`);
    if (o.destBucket) lines.push(`  variants   s3://${o.destBucket}`);
    if (o.cdn) lines.push(`  CDN        ${o.cdn}/<variant key>`);
  }
  if (s.config) lines.push(`  config     ${s.config}: ${(s.configKeys ?? []).join(', ')}`);
  if (s.action === 'created' && noApiKey) {
    lines.push('  note       no IMGPIPE_API_KEY: anyone with the URL may upload; set it and deploy again');
  }
  if (s.action !== 'dry-run' && s.ok) lines.push('next: npx imgpipe upload photos/ --wait');
  return lines.join('\n');
}

/** Why a deploy whose stack came up still failed: the one line naming the missing output. */
export function missingOutputsLine(s: StackDeploySummary): string | undefined {
  if (!s.missingOutputs?.length) return undefined;
  return `the stack ${s.stack} gives no ${s.missingOutputs.join(', ')} output (nor an HttpApi resource to derive it from): the config has no "api", so \`imgpipe upload\` has no API to call; see the stack's outputs with \`aws cloudformation describe-stacks --stack-name ${s.stack}\``;
}

export function formatDelete(s: StackDeleteSummary): string {
  if (s.action === 'absent') return `no stack ${s.stack} in ${s.region}: nothing to delete`;
  const lines = [`stack ${s.stack} deleted from ${s.region}`];
  for (const r of s.removedBuckets ?? []) lines.push(`  removed s3://${r.bucket} and its ${r.objects} object${r.objects === 1 ? '' : 's'}`);
  if (s.keptBuckets.length) {
    lines.push(`  kept (with their objects): ${s.keptBuckets.map((b) => `s3://${b}`).join(', ')}`);
  }
  if (s.artifactsBucket) lines.push(`  kept: the artifacts bucket s3://${s.artifactsBucket} (the Lambda zips, for every stack of this account and region)`);
  return lines.join('\n');
}

const s3List = (buckets: string[]): string => buckets.map((b) => `s3://${b}`).join(' and ');

/** The question `deploy --delete` asks on a terminal: what goes, what stays, and how to delete the photos too. */
export function deletePrompt(p: DeletePlan): string {
  const artifacts = p.artifactsBucket ? ` the artifacts bucket s3://${p.artifactsBucket} (the Lambda zips)` : '';
  if (p.emptyBuckets) {
    const goes = p.buckets.length ? `, and ${s3List(p.buckets)} with every object in them, for good` : '';
    return `Delete stack ${p.stack} in ${p.region}${goes}?${artifacts ? ` Kept:${artifacts}.` : ''} Type yes: `;
  }
  const kept = p.buckets.length ? ` Kept, with their objects: ${s3List(p.buckets)} (--empty-buckets deletes them too)${artifacts ? `, and${artifacts}` : ''}.` : artifacts ? ` Kept:${artifacts}.` : '';
  return `Delete stack ${p.stack} in ${p.region}?${kept} Type yes: `;
}
