// `imgpipe resize-local`: options → runResizeLocal.
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { Reporter } from '../ui/reporter.js';
import { EXIT, addExamples, addSpecOptions, positiveInt } from './common.js';

export function resizeLocalCommand(): Command {
  const cmd = new Command('resize-local')
    .description('run the resize Lambda\'s exact code on local files or folders, writing every variant under --out')
    .argument('<paths...>', 'image files or folders (folders are walked recursively)')
    .option('-o, --out <dir>', 'where variants are written, under their output keys', './imgpipe-out')
    .option('-n, --dry-run', 'read headers only and print the plan (inputs, outputs, keys, sizes); write nothing')
    .option('-c, --concurrency <n>', 'images processed at once (default: number of CPUs)', positiveInt)
    .option('--json', 'print one JSON document with every input, output and error');
  addSpecOptions(cmd);
  addExamples(cmd, [
    ['imgpipe resize-local examples/photos --out ./resized', "every variant, by the Lambda's own code"],
    ['imgpipe resize-local examples/photos --widths 400,800 --format webp -n', 'the plan for another spec; writes nothing'],
    ['imgpipe resize-local examples/photos -c 1 --json', 'one at a time; one JSON document'],
  ]);
  return cmd.action(async (paths: string[], opts) => {
    const { spec } = await loadConfig(opts.config, opts);
    const [{ runResizeLocal }, { ResizeView }] = await Promise.all([import('../jobs/resize-local.js'), import('../ui/resize-view.js')]);
    const reporter = new Reporter({ json: !!opts.json });
    const view = new ResizeView(reporter); // the job's events → bar, lines; it prints nothing itself
    const result = await runResizeLocal({ paths, outDir: opts.out, dryRun: !!opts.dryRun, concurrency: opts.concurrency, spec, onEvent: view.onEvent });
    view.finish(result);
    reporter.result(result);
    process.exitCode = result.ok ? EXIT.ok : EXIT.failed;
  });
}
