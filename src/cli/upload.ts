// `imgpipe upload`: options → runUpload (→ runWatch with --wait).
import { Command, Option, type OptionValues } from 'commander';
import { type PathFilter } from '../files/scan.js';
import { loadConfig, type PipelineConfig, type SpecFlags } from '../config/load.js';
import type { Spec } from '../core/spec.js';
import { DEFAULT_MANIFEST } from '../files/manifest.js';
import { Reporter } from '../ui/reporter.js';
import { resumeHint, watchHint } from '../ui/hints.js';
import { DEFAULT_DATA_DIR } from '../local/state.js';
import { EXIT, addExamples, addSpecOptions, addTargetOptions, positiveInt, seconds, withTarget } from './common.js';
import { abortOnSignals } from './signals.js';
import { cliName } from './invocation.js';

export function uploadCommand(): Command {
  const filters: PathFilter[] = []; // --exclude and --include together, in command-line order
  const cmd = new Command('upload')
    .description('upload images through pre-signed URLs; --wait for the resized variants, --download them')
    .argument('<paths...>', 'image files or folders (folders are walked recursively)')
    .option('-c, --concurrency <n>', 'uploads in flight at once (default: 8 per CPU, at least 8)', positiveInt)
    .option('--manifest <file>', 'where the record of this upload is kept', DEFAULT_MANIFEST)
    .option('--wait', 'then wait until every variant exists in the destination bucket')
    .option('--download <dir>', 'wait, then download every variant into DIR/<variant>/<file> (implies --wait)')
    .option('--timeout <seconds>', 'with --wait: give up after this long', seconds, 300)
    .option('--request-timeout <seconds>', 'abandon and retry a request that makes no progress for this long', seconds, Number(process.env.IMGPIPE_REQUEST_TIMEOUT_MS ?? 60_000) / 1000)
    .option('--verify', 'ask the API about every file, even those the ledger knows uploaded here and resized with this spec')
    .option('--json', 'print one JSON document with every file, key and error');
  addAwsStyleOptions(cmd, filters);
  addTargetOptions(cmd, true);
  addSpecOptions(cmd);
  addExamples(cmd, [
    ['imgpipe upload examples/photos --local --wait --download ./resized', 'the whole pipeline on this machine'],
    ['imgpipe upload examples/photos -n', 'what would be sent (and cost, on AWS); sends nothing'],
    ["imgpipe upload examples/photos --exclude '*' --include '*.jpg' -q", 'only the JPEGs; errors and the summary'],
    ['imgpipe upload examples/photos --api https://abc123.execute-api.eu-west-1.amazonaws.com --dest-bucket my-resized --wait', 'a deployed pipeline, no config file'],
    ['imgpipe upload examples/photos --verify --json', 'ask the API about every file; one JSON document'],
  ]);
  return cmd.action((paths: string[], opts) => uploadAction(paths, opts, filters));
}

/** commander's parsed flags; --data always has its default. */
type UploadFlags = OptionValues & SpecFlags & { data: string };

/**
 * --dry-run: the upload's own stages with the sending ones left out — the scan, the checks, the
 * ledger and the twins rule; no request (the pipeline is found without one), nothing written.
 */
async function dryRun(paths: string[], opts: UploadFlags, filters: PathFilter[], o: { spec: Spec; pipeline: PipelineConfig; reporter: Reporter }): Promise<void> {
  // Loaded here, not at the top: its AWS SDK clients cost every other verb ~0.6 s CPU and ~40 MB at start.
  const [{ dryRunDestination }, { runUpload }, { UploadView }] = await Promise.all([import('../jobs/upload/dry-run.js'), import('../jobs/upload.js'), import('../ui/upload-view.js')]);
  const destination = await dryRunDestination(opts, o.pipeline, o.spec);
  const view = new UploadView(o.reporter, true);
  const signals = abortOnSignals();
  try {
    const result = await runUpload({ paths, spec: o.spec, api: '', manifestPath: opts.manifest, destination, dryRun: true, filters, onEvent: view.onEvent, signal: signals.signal });
    view.finish(result);
    o.reporter.result(result);
    process.exitCode = signals.exitCode() ?? (result.ok ? EXIT.ok : EXIT.failed);
  } finally {
    signals.dispose();
  }
}

async function uploadAction(paths: string[], opts: UploadFlags, filters: PathFilter[]): Promise<void> {
  if (opts.download) opts.wait = true; // downloading the variants means waiting for them
  const { spec: asked, specGiven, pipeline } = await loadConfig(opts.config, opts);
  // Loaded here, not at the top: only the verb that runs pays for sharp; only --wait for the AWS SDK
  // (the upload itself sends pre-signed requests; the SDK's 0.3 s of loading went before every PUT).
  const [{ resolveTarget }, { runUpload }, { UploadView, alreadyResizedLine }, { keysToWaitFor, knownResized, rememberResized, requeuedAt }] = await Promise.all([
    import('../jobs/target.js'),
    import('../jobs/upload.js'),
    import('../ui/upload-view.js'),
    import('../jobs/upload/done.js'),
  ]);
  const reporter = new Reporter({ json: !!opts.json, quiet: !!opts.quiet, verbose: !!opts.verbose, interactive: opts.progress === false ? false : undefined });
  if (opts.dryRun || opts.dryrun) return dryRun(paths, opts, filters, { spec: asked, pipeline, reporter });
  const signals = abortOnSignals();
  const resizeErrors: string[] = [];
  // Starting the embedded stack takes a few seconds: say what the wait is.
  const stopStarting = reporter.spin(opts.local ? 'finding or starting the local stack' : 'reaching the pipeline');
  const target = await resolveTarget(opts, pipeline, asked, {
    needApi: true,
    refused: (line) => reporter.error(`imgpipe: ${line}`),
    log: (line) => {
      if (line.level === 'error') resizeErrors.push(`${line.key}: ${line.error}`);
    },
  }).finally(stopStarting);
  await withTarget(signals, target, async () => {
    const { agreeOnSpec } = await import('../jobs/spec-check.js');
    const spec = await agreeOnSpec({ api: target.api, apiKey: target.apiKey, spec: asked, specGiven, signal: signals.signal });
    reporter.info(`imgpipe: uploading to ${target.description}`);
    if (target.note) reporter.info(`imgpipe: ${target.note}`);
    const view = new UploadView(reporter); // the job's events → bar, lines, -v; it prints nothing itself
    const upload = await runUpload({
      paths,
      spec,
      api: target.api!,
      apiKey: target.apiKey,
      concurrency: opts.concurrency,
      manifestPath: opts.manifest,
      destination: { destBucket: target.destBucket, endpoint: target.endpoint, region: target.region, local: target.local, pipeline: target.pipeline },
      onEvent: view.onEvent,
      signal: signals.signal,
      timeoutMs: opts.requestTimeout * 1000,
      filters,
      verify: !!opts.verify,
    });
    view.finish(upload);
    if (upload.interrupted) reporter.error(resumeHint());
    let wait;
    const waitKeys = keysToWaitFor(upload, !!opts.download);
    if (opts.wait && !signals.signal.aborted && waitKeys.length) {
      const [{ runWatch, localNamesOf }, { WatchView }] = await Promise.all([import('../jobs/watch.js'), import('../ui/watch-view.js')]);
      const waitView = new WatchView(reporter);
      wait = await runWatch({
        sourceKeys: waitKeys,
        spec,
        target,
        timeoutMs: opts.timeout * 1000,
        downloadDir: opts.download,
        localNames: localNamesOf(upload.uploads),
        staleBefore: requeuedAt(upload.uploads),
        details: true, // each record's spec hash: what the ledger learns (jobs/upload/done.ts)
        onEvent: waitView.onEvent,
        signal: signals.signal,
      }).catch((err) => {
        if (signals.signal.aborted) return undefined;
        throw err;
      });
      if (wait) waitView.finish(wait);
    }
    const known = knownResized(upload, waitKeys);
    if (opts.wait && !signals.signal.aborted && known) reporter.summary(alreadyResizedLine(known, waitKeys.length > 0, spec.variants.length, target.destBucket));
    if (wait) await rememberResized({ pipeline: target.pipeline, upload, records: wait.records, spec }).catch((err: Error) => reporter.error(`warning: could not write the ledger: ${err.message}`));
    if (opts.wait && signals.signal.aborted && !upload.interrupted) reporter.error(watchHintFor(opts));
    const ok = upload.ok && (!opts.wait || waitKeys.length === 0 || !!wait?.ok);
    reporter.result({ ...upload, ok, wait });
    process.exitCode = signals.exitCode() ?? (ok ? EXIT.ok : upload.stopped ? EXIT.unreachable : EXIT.failed);
  });
}

/** Ctrl-C in the wait after the upload: the `watch` that waits where this upload went. */
function watchHintFor(opts: UploadFlags): string {
  const data = opts.data !== DEFAULT_DATA_DIR ? opts.data : undefined;
  return watchHint(cliName(), { local: opts.local, data, profile: opts.profile, config: opts.config, manifest: opts.manifest, download: opts.download });
}

/** The names and meanings users of `aws s3 cp/sync`, s5cmd and rclone reach for. */
function addAwsStyleOptions(cmd: Command, filters: PathFilter[]): Command {
  return cmd
    .option('-n, --dry-run', 'say what would be uploaded and what skipped, and what it would cost on AWS; send nothing, write no manifest or ledger (also --dryrun)')
    .addOption(new Option('--dryrun', "aws s3's spelling of --dry-run").hideHelp())
    .option('--exclude <glob>', 'leave out files whose path (relative to the folder given) matches; repeatable', filterOf('exclude', filters))
    .option('--include <glob>', 'take files back in that an earlier --exclude left out; repeatable (the last match decides)', filterOf('include', filters))
    .option('-q, --quiet', 'only errors and results (the summary, the wait\'s last line, where --download wrote); no bar, spinner or per-file line')
    .option('--no-progress', 'plain lines even on a terminal: no progress bar or spinner')
    .option('-v, --verbose', 'one line per request and retry, and every skipped entry (on stderr)');
}

/** Repeatable --exclude/--include, kept in command-line order in one list (aws s3 sync's rules). */
function filterOf(kind: PathFilter['kind'], filters: PathFilter[]) {
  return (pattern: string): PathFilter[] => {
    filters.push({ kind, pattern });
    return filters;
  };
}
