// Shared CLI plumbing: exit codes and option parsers every verb uses.
import { InvalidArgumentError, type Command } from 'commander';

/** 0: all work succeeded. 1: some work failed. 2: bad usage (flags, config). 130/143: interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

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
