// imgpipe's command line: one file per verb; this file only assembles them and maps errors
// to exit codes (each ImgpipeError says its own).
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { ImgpipeError } from '../core/errors.js';
import { printable } from '../ui/format.js';
import { carryOnWhenReaderLeaves } from './closed-pipe.js';
import { bareLocalStaysBare, EXIT } from './common.js';
import { deployCommand } from './deploy.js';
import { deployLambdaCommand } from './deploy-lambda.js';
import { devCommand } from './dev.js';
import { reprocessCommand } from './reprocess.js';
import { resizeLocalCommand } from './resize-local.js';
import { uploadCommand } from './upload.js';
import { watchCommand } from './watch.js';

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

function buildProgram(): Command {
  const program = new Command('imgpipe')
    .description('Upload folders of images through pre-signed S3 URLs, resize them with sharp, and wait for the variants.')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  for (const cmd of [uploadCommand(), watchCommand(), reprocessCommand(), resizeLocalCommand(), devCommand(), deployCommand(), deployLambdaCommand()]) program.addCommand(cmd.exitOverride());
  return program;
}

/** One `imgpipe: ` line per line of the message, each made printable on its own. */
function errorLines(message: string): string {
  return message
    .split('\n')
    .map((line) => `imgpipe: ${printable(line)}\n`)
    .join('');
}

export async function main(argv: string[]): Promise<void> {
  carryOnWhenReaderLeaves();
  const program = buildProgram();
  try {
    await program.parseAsync(bareLocalStaysBare(argv));
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version exit 0; anything else commander rejects is bad usage.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    // Every error of ours carries its exit code; anything else is a failure we did not foresee.
    process.stderr.write(errorLines((err as Error)?.message ?? String(err)));
    process.exitCode = err instanceof ImgpipeError ? err.exit : EXIT.failed;
  }
}
