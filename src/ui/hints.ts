// What to type next after Ctrl-C, one line each: an upload resumes by running the same command
// again (what is stored is found by its content and not sent again); a wait after the upload is
// picked up by `imgpipe watch`, which reads the keys (and where they went) from the manifest.
import { shellWord } from '../core/shell-word.js';
import { DEFAULT_MANIFEST } from '../files/manifest.js';

export function resumeHint(): string {
  return 'imgpipe: interrupted: run the same command again to resume (files already stored are not sent again)';
}

/** The flags of `upload --wait` that `watch` needs to wait where the upload went, as typed. */
export interface WaitFlags {
  local?: boolean | string;
  /** Only when not the default. */
  data?: string;
  profile?: string;
  config?: string;
  manifest: string;
  download?: string;
}

export function watchHint(cli: string, f: WaitFlags): string {
  const args = [
    ...(f.local === true ? ['--local'] : typeof f.local === 'string' ? [`--local=${shellWord(f.local)}`] : []),
    ...(f.data ? ['--data', shellWord(f.data)] : []),
    ...(f.profile ? ['--profile', shellWord(f.profile)] : []),
    ...(f.config ? ['--config', shellWord(f.config)] : []),
    ...(f.manifest !== DEFAULT_MANIFEST ? ['--manifest', shellWord(f.manifest)] : []),
    ...(f.download ? ['--download', shellWord(f.download)] : []),
  ];
  return `imgpipe: interrupted while waiting; the uploads are done: \`${[cli, 'watch', ...args].join(' ')}\` picks the wait up again`;
}
