// The human-readable end of `imgpipe deploy` (the --json document is the summary itself).
import type { StackDeploySummary } from './deploy.js';
import type { StackDeleteSummary } from './remove.js';

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
  }
  if (s.config) lines.push(`  config     ${s.config}: api, destBucket, region, stack`);
  if (s.action === 'created' && noApiKey) {
    lines.push('  note       no IMGPIPE_API_KEY: anyone with the URL may upload; set it and deploy again');
  }
  if (s.action !== 'dry-run') lines.push('next: npx imgpipe upload photos/ --wait');
  return lines.join('\n');
}

export function formatDelete(s: StackDeleteSummary): string {
  if (s.action === 'absent') return `no stack ${s.stack} in ${s.region}: nothing to delete`;
  const lines = [`stack ${s.stack} deleted from ${s.region}`];
  for (const r of s.removedBuckets ?? []) lines.push(`  removed s3://${r.bucket} and its ${r.objects} object${r.objects === 1 ? '' : 's'}`);
  if (s.keptBuckets.length) {
    lines.push(`  kept (with their objects): ${s.keptBuckets.map((b) => `s3://${b}`).join(', ')}`);
    lines.push(`  to remove one for good: aws s3 rb s3://${s.keptBuckets[0]} --force`);
  }
  return lines.join('\n');
}
