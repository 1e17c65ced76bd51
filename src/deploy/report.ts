// The human-readable summary of a deployment (the --json document is the summary itself).
import { formatBytes } from '../ui/format.js';
import type { DeploySummary } from './run.js';

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
