// `imgpipe watch`: options → runWatch.
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import { DEFAULT_MANIFEST, readManifest, storedKeys } from '../files/manifest.js';
import { Reporter } from '../ui/reporter.js';
import { EXIT, addExamples, addSpecOptions, addTargetOptions, seconds, withTarget } from './common.js';
import { abortOnSignals } from './signals.js';

export function watchCommand(): Command {
  const cmd = new Command('watch')
    .description("wait until every image of the given source keys (default: the last upload) has its record, done or failed; exit 1 listing failures and what is missing")
    .argument('[keys...]', 'source keys (default: every key of the manifest)')
    .option('--manifest <file>', 'manifest to take keys and bucket from', DEFAULT_MANIFEST)
    .option('--timeout <seconds>', 'give up after this long', seconds, 300)
    .option('--download <dir>', 'then download every variant into DIR')
    .option('--html <file>', 'then write one self-contained HTML page of the batch: thumbnails, sizes, <picture> snippets, failures')
    .option('-q, --quiet', 'only errors and results (the last line, where --download and --html wrote); no bar, spinner or per-file line')
    .option('--json', 'print one JSON document');
  addTargetOptions(cmd, false);
  addSpecOptions(cmd);
  addExamples(cmd, [
    ['imgpipe watch --local', "wait for the last upload's variants on the local stack"],
    ['imgpipe watch --local --download ./resized --html batch.html', 'then fetch them and write one page of the batch'],
    ['imgpipe watch uploads/k3x9/a.jpg --dest-bucket my-resized --timeout 60', 'one image of a deployed pipeline, at most a minute'],
  ]);
  return cmd.action(async (keys: string[], opts) => {
    const { spec: asked, specGiven, pipeline } = await loadConfig(opts.config, opts);
    const [{ resolveTarget }, { runWatch, localNamesOf }, { requeuedAt }, { WatchView }] = await Promise.all([
      import('../jobs/target.js'),
      import('../jobs/watch.js'),
      import('../jobs/upload/done.js'),
      import('../ui/watch-view.js'),
    ]);
    const manifest = await readManifest(opts.manifest).catch((err) => {
      throw new UsageError((err as Error).message);
    });
    const sourceKeys = keys.length ? keys : storedKeys(manifest);
    if (!sourceKeys.length) throw new UsageError(manifest ? `${opts.manifest} lists no uploaded keys` : `no keys given and no manifest at ${opts.manifest}`);
    const reporter = new Reporter({ json: !!opts.json, quiet: !!opts.quiet });
    const signals = abortOnSignals();
    const target = await resolveTarget(opts, pipeline, asked, { needApi: false, manifest, refused: (line) => reporter.error(`imgpipe: ${line}`) });
    if (target.note) reporter.info(`imgpipe: ${target.note}`);
    await withTarget(signals, target, async () => {
      const { agreeOnSpec } = await import('../jobs/spec-check.js');
      const spec = await agreeOnSpec({ api: target.api, apiKey: target.apiKey, spec: asked, specGiven, signal: signals.signal });
      const view = new WatchView(reporter); // the job's events → bar, lines; it prints nothing itself
      const result = await runWatch({
        sourceKeys,
        spec,
        target,
        timeoutMs: opts.timeout * 1000,
        downloadDir: opts.download,
        localNames: keys.length ? undefined : localNamesOf(manifest?.files ?? []),
        staleBefore: requeuedAt(manifest?.files ?? []),
        details: !!(opts.json || opts.html),
        onEvent: view.onEvent,
        signal: signals.signal,
      });
      view.finish(result);
      if (opts.html) {
        const { writeReport } = await import('../jobs/report.js');
        // From the manifest (no keys given): each image under the paths it was uploaded from, and
        // the files refused before upload, which have no record to show.
        const files = keys.length ? [] : (manifest?.files ?? []);
        const refused = files.flatMap((f) => (f.status === 'failed' && !f.key ? [{ relPath: f.relPath, reason: f.error ?? 'refused' }] : []));
        await writeReport(opts.html, result, target, signals.signal, { names: keys.length ? undefined : localNamesOf(files), refused });
        reporter.summary(`wrote ${opts.html}`); // a result: -q prints it too
      }
      reporter.result(result);
      process.exitCode = signals.exitCode() ?? (result.ok ? EXIT.ok : EXIT.failed);
    });
  });
}
