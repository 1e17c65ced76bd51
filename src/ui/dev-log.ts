// `imgpipe dev`'s line per resize, for a person at a terminal. Keys are anyone's bytes (a direct
// PUT can name an object `\x1b]0;…\x07\x1b[2J`): printed through `printable`, so a key cannot
// retitle or clear the terminal it is shown in.
import { printable } from './format.js';

export function devLogLine(line: Record<string, unknown>): { stream: 'stdout' | 'stderr'; text: string } {
  const key = printable(String(line.key));
  if (line.level === 'error') {
    const what = line.msg === 'removal failed' ? 'removal failed' : 'resize failed';
    return { stream: 'stderr', text: `${what}: ${key}: ${printable(String(line.error))}\n` };
  }
  if (line.msg === 'superseded') {
    const why = line.reason ? printable(String(line.reason)) : 'overwritten since its event (the newer one resizes it)';
    return { stream: 'stdout', text: `skipped ${key}: ${why}\n` };
  }
  if (line.msg === 'removed') return { stream: 'stdout', text: `removed ${key}: its variants and records (source deleted)\n` };
  if (line.msg !== 'resized') return { stream: 'stdout', text: `${key}: ${printable(String(line.msg))}\n` };
  return { stream: 'stdout', text: `resized ${key} → ${(line.outputs as unknown[])?.length ?? 0} variants (${String(line.ms)} ms)\n` };
}
