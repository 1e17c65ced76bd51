// `imgpipe reprocess`: options → runReprocess (→ runWatch with --wait).
import { Command, Option, type OptionValues } from 'commander';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import { specHash } from '../core/spec.js';
import { DEFAULT_MANIFEST, readManifest, storedKeys } from '../files/manifest.js';
import { Reporter } from '../ui/reporter.js';
import { EXIT, addExamples, addSpecOptions, addTargetOptions, seconds, withTarget } from './common.js';
import { abortOnSignals } from './signals.js';

export function reprocessCommand(): Command {
  const cmd = new Command('reprocess')
    .description(
      "queue a resize for every photo whose variants are not the pipeline's spec (made with another, failed, or none): those of the last upload, the keys given, or the whole source bucket; photos already this spec's are left alone",
    )
    .argument('[keys...]', 'source keys (default: every key of the manifest)')
    .option('--all', 'every photo in the source bucket (under uploads/)')
    .option('--source-bucket <name>', 'with --all on AWS: the source bucket (default: "sourceBucket" in imgpipe.config.json)')
    .option('--manifest <file>', 'manifest to take keys from', DEFAULT_MANIFEST)
    .option('-n, --dry-run', 'count what would be queued; queue nothing')
    .addOption(new Option('--dryrun', "aws s3's spelling of --dry-run").hideHelp())
    .option('--wait', "then wait until each queued photo has this spec's record, as watch does")
    .option('--timeout <seconds>', 'with --wait: give up after this long', seconds, 600)
    .option('-q, --quiet', 'print only errors and the summary lines')
    .option('--json', 'print one JSON document');
  addTargetOptions(cmd, true);
  addSpecOptions(cmd);
  addExamples(cmd, [
    ['imgpipe reprocess --local --dry-run', "how many photos of the last upload are not the local stack's spec"],
    ['imgpipe reprocess --local --all --wait', 'bring every photo of the local stack to its spec, and wait'],
    ['imgpipe reprocess uploads/k3x9/a.jpg --api https://abc123.execute-api.eu-west-1.amazonaws.com --dest-bucket my-resized --json', 'one photo of a deployed pipeline; one JSON document'],
  ]);
  return cmd.action(reprocessAction);
}

async function reprocessAction(keys: string[], opts: OptionValues): Promise<void> {
  const { spec: asked, specGiven, pipeline } = await loadConfig(opts.config, opts);
  const [{ resolveTarget }, { runReprocess, listSourceKeys }, { runWatch }, { ReprocessView }, { WatchView }] = await Promise.all([
    import('../jobs/target.js'),
    import('../jobs/reprocess.js'),
    import('../jobs/watch.js'),
    import('../ui/reprocess-view.js'),
    import('../ui/watch-view.js'),
  ]);
  const manifest = keys.length || opts.all ? undefined : await readManifest(opts.manifest).catch((err) => {
    throw new UsageError((err as Error).message);
  });
  const reporter = new Reporter({ json: !!opts.json, quiet: !!opts.quiet });
  const signals = abortOnSignals();
  const target = await resolveTarget(opts, { ...pipeline, ...(opts.sourceBucket ? { sourceBucket: opts.sourceBucket } : {}) }, asked, { needApi: true, manifest });
  await withTarget(signals, target, async () => {
    if (!target.api) throw new UsageError('no presign API: pass --api URL, or use --local');
    // The spec the pipeline runs is the one photos are brought to; a --widths that disagrees is refused.
    const { agreeOnSpec } = await import('../jobs/spec-check.js');
    const spec = await agreeOnSpec({ api: target.api, apiKey: target.apiKey, spec: asked, specGiven, signal: signals.signal });
    let sourceKeys = keys;
    if (opts.all) {
      if (!target.sourceBucket) throw new UsageError('--all needs the source bucket: pass --source-bucket NAME (or "sourceBucket" in imgpipe.config.json)');
      sourceKeys = await listSourceKeys(await target.s3(), target.sourceBucket, 'uploads', signals.signal);
    } else if (!keys.length) {
      sourceKeys = storedKeys(manifest);
      if (!sourceKeys.length) throw new UsageError(manifest ? `${opts.manifest} lists no uploaded keys` : `no keys given, no --all, and no manifest at ${opts.manifest}`);
    }
    const dryRun = !!(opts.dryRun || opts.dryrun);
    const view = new ReprocessView(reporter); // the jobs' events → bars, lines; they print nothing themselves
    const result = await runReprocess({ keys: sourceKeys, api: target.api, apiKey: target.apiKey, dryRun, onEvent: view.onEvent, signal: signals.signal });
    view.finish(result);
    let wait;
    if (opts.wait && !dryRun && result.queued.length && !signals.signal.aborted) {
      const queued = result.queued.map((q) => q.key);
      const waitView = new WatchView(reporter);
      wait = await runWatch({
        sourceKeys: queued,
        spec,
        target,
        timeoutMs: opts.timeout * 1000,
        staleBefore: new Map(queued.map((k) => [k, result.startedAt])),
        specHash: specHash(spec),
        details: true,
        onEvent: waitView.onEvent,
        signal: signals.signal,
      });
      waitView.finish(wait);
    }
    const ok = result.ok && (!wait || wait.ok);
    reporter.result({ ...result, ok, wait });
    process.exitCode = signals.exitCode() ?? (ok ? EXIT.ok : EXIT.failed);
  });
}
