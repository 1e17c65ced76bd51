// Ctrl-C / SIGTERM: abort in-flight work so the job can save its state, then exit 130 / 143.
// A second signal exits at once. On a terminal the notice gets a line of its own: every bar and
// spinner is taken down first (and drawn no more), and the line is cleared of the echoed ^C.
import { setMaxListeners } from 'node:events';
import { haltWidgets } from '../ui/live.js';

export function abortOnSignals(): { signal: AbortSignal; exitCode: () => number | undefined; dispose: () => void } {
  const controller = new AbortController();
  // Every request in flight listens to it: hundreds, by design.
  setMaxListeners(0, controller.signal);
  let code: number | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (code !== undefined) process.exit(code);
    code = sig === 'SIGTERM' ? 143 : 130;
    haltWidgets();
    const start = process.stderr.isTTY ? '\r\x1b[2K' : '';
    process.stderr.write(`${start}imgpipe: ${sig}: stopping, saving the manifest (again to quit at once)\n`);
    controller.abort(new DOMException(`interrupted by ${sig}`, 'AbortError'));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
