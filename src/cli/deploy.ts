// `imgpipe deploy`: options → deployStack / deleteStack (src/deploy/stack/), their events → DeployView.
import { Command, Option } from 'commander';
import path from 'node:path';
import { CONFIG_FILE, loadConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import { ORIGINALS_STORAGE_CLASSES, type Lifecycle } from '../deploy/stack/lifecycle.js';
import { ARCHES, DEFAULT_RESIZE_CONCURRENCY, RESIZE_CONCURRENCY_RANGE, RUNTIMES } from '../core/pipeline-defaults.js';
import { refuseLocalKeysInEnv } from '../s3/local-keys.js';
import { haltWidgets } from '../ui/live.js';
import { EXIT, addExamples, addSpecOptions, endWithFailure } from './common.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function deployCommand(): Command {
  const cmd = new Command('deploy')
    .description('deploy the whole pipeline to AWS with CloudFormation: build and stage both Lambda zips, show the change set, apply it, and write the API URL and buckets into imgpipe.config.json')
    .option('--stack <name>', 'stack name (default: "stack" of the config, else imgpipe)')
    .option('--region <region>', 'AWS region (default: from the AWS environment or profile)')
    .option('--profile <name>', 'AWS named profile for credentials and region')
    .addOption(new Option('--arch <arch>', 'Lambda architecture; arm64 costs less per second (default: "arch" of the config, else x86_64)').choices(ARCHES))
    .addOption(new Option('--runtime <runtime>', 'Lambda runtime (default: "runtime" of the config, else nodejs22.x)').choices(RUNTIMES))
    .option('--source-bucket <name>', 'bucket uploads land in (default: <stack>-uploads-<account>-<region>)')
    .option('--dest-bucket <name>', 'bucket the variants land in (default: <stack>-variants-<account>-<region>)')
    .option('--code-bucket <name>', 'existing bucket for the zips (default: imgpipe-artifacts-<account>-<region>, made on first use)')
    .option('--prefix <prefix>', 'key prefix of uploads; only these trigger the resize (default: "keyPrefix" of the config, else uploads)')
    .option('--cors-origin <origin>', 'a web origin allowed to PUT uploads from a browser, besides the stack\'s own page (repeatable)', collect)
    .option('--resize-concurrency <n>', `the most resizes at once: the queue's maximum concurrency, ${RESIZE_CONCURRENCY_RANGE.min}-${RESIZE_CONCURRENCY_RANGE.max} (default: the stack's, else ${DEFAULT_RESIZE_CONCURRENCY})`)
    .option('--originals-transition-days <n>', 'days after upload when the originals move to --originals-storage-class; 0 keeps them in STANDARD (default: the stack\'s, else 0)')
    .addOption(new Option('--originals-storage-class <class>', 'where --originals-transition-days moves the originals; all three still read at once, for reprocess (default: the stack\'s, else STANDARD_IA)').choices(ORIGINALS_STORAGE_CLASSES))
    .option('--failed-record-days <n>', 'days after which failure records (_imgpipe/failed/) expire; 0 keeps them (default: the stack\'s, else 0)')
    .option('--cdn', 'a CloudFront distribution in front of the variants, the bucket kept private (the default on a new stack)')
    .option('--no-cdn', 'no CloudFront distribution; the stack keeps this choice until --cdn')
    .option('--no-dedupe', 'upload identical bytes again instead of answering "already there" (no s3:ListBucket for the API)')
    .option('--dry-run', 'build, then show the change set and delete it: nothing is staged or changed')
    .option('--delete', 'delete the stack (asks first); its two buckets and their objects are kept')
    .option('--empty-buckets', 'with --delete: also delete both buckets and every object in them')
    .option('-y, --yes', 'with --delete: do not ask (needed without a terminal)')
    .option('--json', 'print one JSON document: the change set, the events, the outputs, the AWS calls made');
  addSpecOptions(cmd);
  cmd.addHelpText(
    'after',
    `
The variant spec (--config, --widths, …) becomes the stack's VariantSpec, so the Lambda writes exactly
the keys \`imgpipe watch\` waits for. IMGPIPE_API_KEY, when set, becomes the key POST /uploads requires
(never printed); unset on a later deploy keeps the stack's key. Credentials come from the standard
AWS chain. After a deploy, \`imgpipe upload examples/photos --wait\` needs no flags. See infra/README.md.`,
  );
  addExamples(cmd, [
    ['imgpipe deploy --stack imgpipe', 'create or update the whole stack, then write imgpipe.config.json'],
    ['imgpipe deploy --dry-run', 'build and show the change set; change nothing'],
    ['imgpipe deploy --widths 480,1200 --format webp', 'another spec for the resize'],
    ['imgpipe deploy --originals-transition-days 30 --failed-record-days 90', 'originals to --originals-storage-class (STANDARD_IA unless set) after 30 days; failure records kept 90'],
    ['imgpipe deploy --delete --yes', 'remove the stack, keep both buckets'],
  ]);
  return cmd.action(async (opts) => runDeployCommand(opts));
}

/** Ask on the terminal; anything but "yes" keeps everything. */
async function confirmDelete(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

/** The flags that can be wrong before anything runs: one UsageError naming each. */
function checkDeployFlags(
  opts: Record<string, any>,
  stack: string,
  corsOrigins: string[],
  checkOrigin: (o: string) => string | undefined,
): { corsOrigins: string[]; resizeConcurrency?: number; lifecycle: Partial<Lifecycle> } {
  if (opts.emptyBuckets && !opts.delete) throw new UsageError('--empty-buckets goes with --delete');
  if (opts.delete && !opts.yes && !process.stdin.isTTY) {
    throw new UsageError(
      opts.emptyBuckets
        ? '--empty-buckets deletes every photo in both buckets: pass --yes as well (there is no terminal to ask on)'
        : `--delete deletes the stack ${stack}: pass --yes as well (there is no terminal to ask on); its buckets and photos are kept`,
    );
  }
  if (opts.prefix !== undefined && !/^[A-Za-z0-9_-]+$/.test(opts.prefix)) throw new UsageError(`--prefix: "${opts.prefix}" must be letters, digits, _ or - (one folder)`);
  const bad = corsOrigins.map(checkOrigin).filter(Boolean);
  if (bad.length) throw new UsageError(bad.map((b) => `--cors-origin: ${b}`).join('\n'));
  const resizeConcurrency = opts.resizeConcurrency === undefined ? undefined : Number(opts.resizeConcurrency);
  const { min, max } = RESIZE_CONCURRENCY_RANGE;
  if (resizeConcurrency !== undefined && !(Number.isInteger(resizeConcurrency) && resizeConcurrency >= min && resizeConcurrency <= max)) {
    throw new UsageError(`--resize-concurrency: "${opts.resizeConcurrency}" must be a whole number from ${min} to ${max} (SQS's bounds for an event source's maximum concurrency)`);
  }
  return { corsOrigins, resizeConcurrency, lifecycle: lifecycleFlags(opts) };
}

/** --originals-transition-days, --originals-storage-class, --failed-record-days: whole days, 0 for never; unset keeps the stack's. */
function lifecycleFlags(opts: Record<string, any>): Partial<Lifecycle> {
  const days = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(/^\d+$/.test(value) && Number.isSafeInteger(n))) throw new UsageError(`${flag}: "${value}" must be a whole number of days (0: never)`);
    return n;
  };
  return {
    originalsTransitionDays: days('--originals-transition-days', opts.originalsTransitionDays),
    originalsStorageClass: opts.originalsStorageClass,
    failedRecordDays: days('--failed-record-days', opts.failedRecordDays),
  };
}

async function runDeployCommand(opts: Record<string, any>): Promise<void> {
  if (opts.profile !== undefined) process.env.AWS_PROFILE = opts.profile;
  refuseLocalKeysInEnv('AWS CloudFormation, STS and S3');
  const { spec, pipeline } = await loadConfig(opts.config, opts);
  const configFile = path.resolve(opts.config ?? CONFIG_FILE);
  const stack = opts.stack ?? pipeline.stack ?? 'imgpipe';
  const region = opts.region ?? pipeline.region;
  // Loaded here: only this verb pays for esbuild and the CloudFormation client.
  const [{ checkStackName }, { checkOrigin }, { DeployProgress }, { DeployView }, report] = await Promise.all([
    import('../deploy/stack/names.js'),
    import('../deploy/stack/parameters.js'),
    import('../deploy/progress.js'),
    import('../ui/deploy-view.js'),
    import('../ui/deploy-report.js'),
  ]);
  checkStackName(stack);
  const { corsOrigins, resizeConcurrency, lifecycle } = checkDeployFlags(opts, stack, [...(pipeline.corsOrigins ?? []), ...(opts.corsOrigin ?? [])], checkOrigin);
  const view = new DeployView({ json: !!opts.json });
  const steps = new DeployProgress(view.onEvent);
  const stopOnSignals = onInterrupt('deploy', `a change CloudFormation already started on stack ${stack} carries on (\`imgpipe deploy --dry-run\` shows where it stands)`);
  try {
    if (opts.delete) {
      const { deleteStack } = await import('../deploy/stack/remove.js');
      const confirm = opts.yes ? undefined : (plan: Parameters<typeof report.deletePrompt>[0]) => confirmDelete(report.deletePrompt(plan));
      const summary = await deleteStack({ stack, region, configFile, codeBucket: opts.codeBucket ?? pipeline.codeBucket, emptyBuckets: !!opts.emptyBuckets, confirm }, steps);
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${report.formatDelete(summary)}\n`);
    } else {
      const { deployStack } = await import('../deploy/stack/deploy.js');
      const apiKey = process.env.IMGPIPE_API_KEY || undefined;
      const summary = await deployStack(
        {
          stack,
          region,
          arch: opts.arch ?? pipeline.arch ?? 'x86_64',
          runtime: opts.runtime ?? pipeline.runtime ?? 'nodejs22.x',
          dryRun: !!opts.dryRun,
          codeBucket: opts.codeBucket ?? pipeline.codeBucket,
          sourceBucket: opts.sourceBucket ?? pipeline.sourceBucket,
          destBucket: opts.destBucket ?? (pipeline.stack === stack ? pipeline.destBucket : undefined),
          keyPrefix: opts.prefix ?? pipeline.keyPrefix ?? 'uploads',
          spec,
          dedupe: opts.dedupe !== false,
          // With both --cdn and --no-cdn declared commander leaves it undefined unless one is given:
          // the stack keeps its choice (creating or removing a distribution takes minutes).
          cdn: opts.cdn as boolean | undefined,
          corsOrigins,
          resizeConcurrency,
          lifecycle,
          apiKey,
          configFile,
        },
        steps,
      );
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${report.formatDeploy(summary, !apiKey)}\n`);
      const missing = report.missingOutputsLine(summary);
      if (missing) {
        process.stderr.write(`imgpipe deploy: ${missing}\n`);
        process.exitCode = EXIT.failed;
        return;
      }
    }
    process.exitCode = EXIT.ok;
  } catch (err) {
    endWithFailure('deploy', err, !!opts.json, steps.records);
  } finally {
    view.stop();
    stopOnSignals();
  }
}

/**
 * Ctrl-C only stops imgpipe: what AWS has started goes on without it, and the user is told so in
 * one line (`carriesOn`), with how to see where it got to. Exit 130 / 143 as for every verb.
 */
export function onInterrupt(verb: string, carriesOn: string): () => void {
  const handler = (sig: NodeJS.Signals) => {
    haltWidgets();
    const start = process.stderr.isTTY ? '\r\x1b[2K' : '';
    process.stderr.write(`${start}imgpipe ${verb}: ${sig}: stopped; ${carriesOn}\n`);
    process.exit(sig === 'SIGTERM' ? 143 : 130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
