// `imgpipe deploy-lambda`: options → runDeploy (src/deploy/run.ts), its events → DeployView.
import { Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { loadConfig } from '../config/load.js';
import { ARCHES, HANDLERS, RUNTIMES } from '../core/pipeline-defaults.js';
import { refuseLocalKeysInEnv } from '../s3/local-keys.js';
import { onInterrupt } from './deploy.js';
import { EXIT, addExamples, addSpecOptions, applyAwsAliases, endWithFailure } from './common.js';

function intIn(min: number, max: number, unit: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be ${min}-${max} ${unit}`);
    return n;
  };
}

function envPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError('must be KEY=VALUE');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function deployLambdaCommand(): Command {
  const cmd = new Command('deploy-lambda')
    .description('bundle a handler with sharp\'s Linux binaries into a deterministic zip; publish it (create or update, wait, version, alias) and wire the S3 trigger')
    .addOption(new Option('--handler <name>', 'which handler').choices(HANDLERS).default('resize'))
    .addOption(new Option('--arch <arch>', 'Lambda architecture (sharp\'s binaries for it are staged from npm)').choices(ARCHES).default('x86_64'))
    .addOption(new Option('--runtime <runtime>', 'Lambda runtime').choices(RUNTIMES).default('nodejs22.x'))
    .option('--out <file.zip>', 'also write the zip to this file')
    .option('--dry-run', 'build and report the package and the calls a publish would make; touch nothing remote')
    .option('--function <name>', 'publish to this function: update its code, or create it with --create')
    .option('--create', 'create the function when it does not exist (needs --role)')
    .option('--role <arn>', 'with --create: the execution role the function runs as')
    .option('--alias <name>', 'alias moved to the published version', 'live')
    .option('--memory <mb>', 'memory (default: resize 1769 = one vCPU, presign 256)', intIn(128, 10240, 'MB'))
    .option('--timeout <seconds>', 'timeout (default: resize 60, presign 10)', intIn(1, 900, 'seconds'))
    .option('--source-bucket <name>', 'SOURCE_BUCKET; with --handler resize also wires its s3:ObjectCreated:* trigger')
    .option('--dest-bucket <name>', 'DEST_BUCKET, where resize writes the variants (default: destBucket of the config)')
    .option('--prefix <prefix>', 'trigger only for keys under this prefix')
    .option('--env <KEY=VALUE>', 'one more environment variable, e.g. API_KEY or CACHE_CONTROL (repeatable)', envPair)
    .option('--code-bucket <name>', 'stage zips over Lambda\'s 50 MB direct-upload limit in this S3 bucket')
    .option('--region <region>', 'AWS region (default: from the AWS environment or profile)')
    .option('--endpoint <url>', 'S3-compatible endpoint for the S3 calls (default: AWS)')
    .option('--endpoint-url <url>', 'the same as --endpoint (the name aws-cli uses)')
    .option('--profile <name>', 'AWS named profile for credentials and region (sets AWS_PROFILE)')
    .option('--json', 'print one JSON document: package, calls, version, alias, trigger')
    .hook('preAction', (_cmd, action) => applyAwsAliases(action));
  addSpecOptions(cmd);
  addExamples(cmd, [
    ['imgpipe deploy-lambda --out resize.zip --dry-run', 'build the resize zip and show what a publish would call'],
    ['imgpipe deploy-lambda --function imgpipe-resize --source-bucket my-photos --dest-bucket my-resized', "update a function's code and wire its trigger"],
    ['imgpipe deploy-lambda --handler presign --function imgpipe-presign --profile work', 'the presign API, with a named profile'],
  ]);
  cmd.addHelpText(
    'after',
    `
The variant spec (--config, --widths, …) becomes IMGPIPE_SPEC of both functions: the resize makes it
and the presign API serves it at GET /spec, so uploads can check it. Credentials come from the standard AWS chain.
See docs/deploy.md.`,
  );
  return cmd.action(deployLambdaAction);
}

async function deployLambdaAction(opts: OptionValues): Promise<void> {
  refuseLocalKeysInEnv('AWS Lambda and S3');
  const { spec, pipeline } = await loadConfig(opts.config, opts);
  // Loaded here, not at the top: only this verb pays for esbuild and the Lambda client.
  const [{ runDeploy }, { DeployProgress }, { DeployView }, { formatSummary }] = await Promise.all([
    import('../deploy/run.js'),
    import('../deploy/progress.js'),
    import('../ui/deploy-view.js'),
    import('../ui/deploy-report.js'),
  ]);
  const view = new DeployView({ json: !!opts.json });
  const steps = new DeployProgress(view.onEvent);
  const stopOnSignals = onInterrupt(
    'deploy-lambda',
    opts.function && !opts.dryRun
      ? `an update Lambda already received for ${opts.function} carries on (\`aws lambda get-function --function-name ${opts.function}\` shows where it stands)`
      : 'nothing was sent to AWS',
  );
  const resizeFunction = opts.function && opts.handler === 'resize';
  try {
    const summary = await runDeploy(
      {
        handler: opts.handler,
        arch: opts.arch,
        runtime: opts.runtime,
        out: opts.out,
        dryRun: !!opts.dryRun,
        functionName: opts.function,
        create: !!opts.create,
        role: opts.role,
        alias: opts.alias,
        memory: opts.memory,
        timeout: opts.timeout,
        sourceBucket: opts.sourceBucket,
        destBucket: opts.destBucket ?? (resizeFunction ? pipeline.destBucket : undefined),
        prefix: opts.prefix,
        codeBucket: opts.codeBucket,
        region: opts.region ?? pipeline.region,
        endpoint: opts.endpoint,
        env: opts.env ?? {},
        spec,
      },
      steps,
    );
    process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
    process.exitCode = EXIT.ok;
  } catch (err) {
    endWithFailure('deploy-lambda', err, !!opts.json, steps.records);
  } finally {
    view.stop();
    stopOnSignals();
  }
}
