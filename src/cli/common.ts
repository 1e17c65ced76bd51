// Shared CLI plumbing: exit codes and option parsers every verb uses.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT, ImgpipeError, UsageError } from '../core/errors.js';
import { printable } from '../ui/format.js';
import type { abortOnSignals } from './signals.js';

// The exit codes live beside the error model that maps to them.
export { EXIT };

/** A TCP port; 0 asks the system for a free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number (0–65535; 0 picks a free one)');
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Options that shape the variant spec, shared by every verb that resizes or waits. */
export function addSpecOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file (default: ./imgpipe.config.json when present)')
    .option('--widths <list>', 'comma-separated output widths, replacing the configured variants (default 320,1024,2048)')
    .option('--format <format>', 'output format: jpeg, webp, avif, png or same')
    .option('--quality <n>', 'output quality 1-100 (default 80)')
    .option('--fit <fit>', 'cover, contain, inside, outside or fill (default inside)')
    .option('--max-pixels <n>', 'refuse inputs over this many pixels (default 100000000)');
}

/** Where the pipeline is: the embedded local stack, or a deployed API and bucket. */
export function addTargetOptions(cmd: Command, withApi: boolean): Command {
  const local = new Option(
    '--local [where]',
    "use the embedded local stack: this folder's running `imgpipe dev` (started here or in a folder above, or on --data), " +
      "else one started for this run; =PATH or =URL: another folder's running `dev` (its folder, data folder, or page/API/S3 URL)",
  ).argParser((v: string) => (v === '' ? true : v));
  local.flags = '--local[=PATH|URL]'; // as help shows it: the value only ever follows `=` (bareLocalStaysBare)
  cmd.addOption(local);
  if (withApi) cmd.option('--api <url>', 'presign API base URL (POST <url>/uploads); x-api-key from IMGPIPE_API_KEY');
  return cmd
    .option('--dest-bucket <name>', 'bucket the resized variants land in')
    .option('--endpoint <url>', 'S3-compatible endpoint for the destination bucket (default: AWS)')
    .option('--endpoint-url <url>', 'the same as --endpoint (the name aws-cli uses)')
    .option('--region <region>', 'AWS region (default: from the AWS environment or profile)')
    .option('--profile <name>', 'AWS named profile for credentials and region (sets AWS_PROFILE)')
    .option('--data <dir>', 'data folder of the local stack', '.imgpipe/data')
    .hook('preAction', (_cmd, action) => applyAwsAliases(action));
}

/**
 * An "Examples:" block at the end of a verb's --help, as s5cmd and rclone give: each line a
 * command that runs as written from a clone (test/help-examples.test.ts parses every one).
 */
export function addExamples(cmd: Command, examples: [command: string, what: string][]): Command {
  // What each does above it, as a comment: a long command then needs no column to align to.
  return cmd.addHelpText('after', `\nExamples:\n${examples.map(([c, what]) => `  # ${what}\n  ${c}`).join('\n')}`);
}

/** --endpoint-url becomes --endpoint, and --profile is in the environment before any AWS client exists. */
export function applyAwsAliases(cmd: Command): void {
  const opts = cmd.opts();
  if (opts.endpointUrl !== undefined) {
    if (opts.endpoint !== undefined && opts.endpoint !== opts.endpointUrl) cmd.error('error: --endpoint and --endpoint-url name different endpoints; give one', { exitCode: EXIT.usage });
    cmd.setOptionValue('endpoint', opts.endpointUrl);
  }
  if (opts.profile !== undefined) process.env.AWS_PROFILE = opts.profile;
}

/**
 * A bare `--local` never takes the next word as its value (`upload --local photos/` names photos,
 * not a stack): it becomes `--local=`, so only `--local=PATH|URL` names a stack, as git's
 * `--color[=when]`. Words after `--` are left alone.
 */
export function bareLocalStaysBare(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '--local' && (end < 0 || i < end) ? '--local=' : a));
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

/**
 * How a deploy verb ends on an error: usage errors go up to main (exit 2 there); any other is one
 * `imgpipe <verb>:` line, under --json also the document with its code and the steps done, and
 * the error's own exit code.
 */
export function endWithFailure(verb: string, err: unknown, json: boolean, steps: unknown[]): void {
  if (err instanceof UsageError) throw err;
  const e = err as Error & { code?: string };
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: e.code ?? e.name, message: e.message }, steps }, null, 2)}\n`);
  process.stderr.write(`imgpipe ${verb}: ${printable(e.message)}\n`);
  process.exitCode = e instanceof ImgpipeError ? e.exit : EXIT.failed;
}

/**
 * A verb's work with its pipeline open: an error thrown after Ctrl-C is the interruption (exit
 * 130/143), not a failure to report; the signal handlers and the target are released either way.
 */
export async function withTarget(signals: ReturnType<typeof abortOnSignals>, target: { close(): Promise<void> }, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (!signals.signal.aborted) throw err;
    process.exitCode = signals.exitCode();
  } finally {
    signals.dispose();
    await target.close();
  }
}
