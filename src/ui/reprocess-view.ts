// The reprocess job's events as a person (or script) sees them, through a Reporter: a bar of keys
// on a terminal, one `queued` line per photo queued otherwise, a photo not there or refused on
// stderr, and the summary line at the end (--json: the CLI prints the result document instead).
import type { ReprocessWhy } from '../api/contract.js';
import type { ReprocessEvent, ReprocessResult } from '../jobs/reprocess.js';
import type { Reporter } from './reporter.js';

export class ReprocessView {
  constructor(private readonly reporter: Reporter) {}

  /** Pass as the job's `onEvent`. */
  readonly onEvent = (e: ReprocessEvent): void => {
    const { reporter } = this;
    if (e.type === 'reprocess-start') return reporter.start(e.keys, e.dryRun ? 'checking' : 'queueing');
    const a = e.answer;
    if (a.status === 'queued' || a.status === 'would-queue') return reporter.step(`${e.dryRun ? '(dryrun) queue' : 'queued'} ${a.key} (${WHY[a.why]})`, a.key);
    if (a.status === 'missing') reporter.error(`error ${a.key}: not in the source bucket`);
    else if (a.status === 'refused') reporter.error(`error ${a.key}: refused by the API: ${a.error.message}`);
    reporter.step('', a.key);
  };

  /** The run is over: take the bar down and print the summary line (a result: -q prints it too). */
  finish(result: ReprocessResult): void {
    const what = result.dryRun ? 'would queue' : 'queued';
    this.reporter.summary(
      `${what} ${result.queued.length} of ${result.keys} photos for resize (${countWhy(result.queued)}); ${result.current} already this spec's` +
        (result.missing.length ? `; ${result.missing.length} not in the source bucket` : '') +
        (result.refused.length ? `; ${result.refused.length} refused` : ''),
    );
  }
}

const WHY: Record<ReprocessWhy, string> = { spec: 'made with another spec', failed: 'failed before', none: 'no record' };

function countWhy(queued: ReprocessResult['queued']): string {
  const n = (w: ReprocessWhy) => queued.filter((q) => q.why === w).length;
  return (Object.keys(WHY) as ReprocessWhy[]).map((w) => `${n(w)} ${WHY[w]}`).join(', ');
}
