// Every verb's --help ends with examples (as s5cmd's and rclone's do), and every example parses:
// read from the help a user sees, split as a shell would, and given to that verb's own command (the
// one main.ts puts in the program) with its action replaced, so an option renamed or removed
// breaks this test, not a user.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// The built CLI, as users run it.
// @ts-expect-error -- built JavaScript, typed by its source
import { bareLocalStaysBare } from '../dist/src/cli/common.js';
import type { Command } from 'commander';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { ROOT } from './helpers/readme.js';

const VERBS = ['upload', 'watch', 'reprocess', 'resize-local', 'dev', 'deploy', 'deploy-lambda'];

/** A command line as sh splits it: words, '…' and "…" quoted. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** A verb's command as its file builds it for main.ts: `deploy-lambda` is cli/deploy-lambda.js's deployLambdaCommand(). */
async function verbCommand(verb: string): Promise<Command> {
  const factory = `${verb.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}Command`;
  const made = ((await import(path.join(ROOT, 'dist/src/cli', `${verb}.js`))) as Record<string, () => Command>)[factory]();
  expect(made.name()).toBe(verb);
  return made;
}

/** Parse `words` (a verb and its arguments) with that verb's real command, no action run: what commander would refuse, it throws. */
async function parses(words: string[]): Promise<string | undefined> {
  const cmd = await verbCommand(words[0]);
  cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let ran = false;
  cmd.action(() => void (ran = true));
  const profile = process.env.AWS_PROFILE; // --profile sets it, in this process
  try {
    await cmd.parseAsync(bareLocalStaysBare(words).slice(1), { from: 'user' });
  } catch (err) {
    return (err as Error).message;
  } finally {
    if (profile === undefined) delete process.env.AWS_PROFILE;
    else process.env.AWS_PROFILE = profile;
  }
  return ran ? undefined : 'ran nothing';
}

describe('--help examples', () => {
  it('the verbs checked here are the ones `imgpipe --help` lists', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    const commands = help.stdout.split('\nCommands:\n')[1].split('\n').map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter((c) => c && c !== 'help');
    expect(commands.sort()).toEqual([...VERBS].sort());
  });

  it.each(VERBS)('imgpipe %s --help ends with examples that parse', async (verb) => {
    const help = await runCli([verb, '--help']);
    expect(help.code).toBe(0);
    const block = help.stdout.split('\nExamples:\n')[1];
    expect(block, 'an Examples block').toBeDefined();
    const commands = block.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('imgpipe '));
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const c of commands) {
      const words = shellWords(c).slice(1);
      expect(words[0]).toBe(verb);
      expect(await parses(words), c).toBeUndefined();
    }
  });

  it('the check can fail: an unknown option and a bad value are refused', async () => {
    expect(await parses(['upload', 'examples/photos', '--no-such-flag'])).toMatch(/unknown option/);
    expect(await parses(['watch', '--timeout', 'soon'])).toMatch(/positive number of seconds/);
  });

  it("aws s3's --dryrun and -n run the dry run; watch takes -q; deploy-lambda takes --endpoint-url and --profile", async () => {
    const cwd = await img.tempDir('imgpipe-help-');
    for (const flag of ['--dryrun', '-n']) {
      const r = await runCli(['upload', `${ROOT}/examples/photos`, flag, '--local'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\(dryrun\) 4 to upload .*; nothing sent$/m);
    }
    expect(await parses(['watch', '-q', '--local'])).toBeUndefined();
    expect(await parses(['deploy-lambda', '--endpoint-url', 'http://127.0.0.1:1', '--profile', 'work', '--dry-run'])).toBeUndefined();
  });
});
