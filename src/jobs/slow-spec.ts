// Will one image outlast the resize Lambda? The spec's estimated time per image
// (src/core/estimate.ts) against the function's timeout: resize-local and upload both say so
// before any work, in the same words.
import { estimateSeconds, timeoutWarning } from '../core/estimate.js';
import { AVIF_EFFORT } from '../core/resize.js';
import type { Spec } from '../core/spec.js';
import { FUNCTION_DEFAULTS } from '../core/pipeline-defaults.js';

/**
 * The warning line, or undefined when the spec fits. IMGPIPE_RESIZE_TIMEOUT_S (seconds) replaces
 * the default timeout, for a deployment with its own (and for tests).
 */
export function slowSpecWarning(spec: Spec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = Number(env.IMGPIPE_RESIZE_TIMEOUT_S);
  const timeout = env.IMGPIPE_RESIZE_TIMEOUT_S && override > 0 ? override : FUNCTION_DEFAULTS.resize.timeout;
  return timeoutWarning(estimateSeconds(spec, AVIF_EFFORT), timeout);
}
