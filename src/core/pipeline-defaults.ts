// The constants the config, the deploy verbs, the local stack and the jobs all agree on: what can
// be deployed (handler, architecture, runtime) and the deployed functions' defaults. Pure, so the
// config reader and the jobs need nothing from src/deploy/.

/** The resize, the presign API, and the dead-letter queue's consumer (which only the stack wires to its queue). */
export const HANDLERS = ['resize', 'presign', 'failure-recorder'] as const;
export const ARCHES = ['x86_64', 'arm64'] as const;
// nodejs20.x is gone: Lambda stopped creating functions on it on 2026-06-01.
export const RUNTIMES = ['nodejs22.x', 'nodejs24.x'] as const;

export type HandlerName = (typeof HANDLERS)[number];
export type LambdaArch = (typeof ARCHES)[number];
export type LambdaRuntime = (typeof RUNTIMES)[number];

/** SQS's bounds for an event source's MaximumConcurrency: what ResizeConcurrency may be (dev's --resize-concurrency takes 1 as well). */
export const RESIZE_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;

/** The template's ResizeConcurrency default: a new account may have only 10 concurrent executions, and the presign API needs some. */
export const DEFAULT_RESIZE_CONCURRENCY = 5;

/**
 * The resize queue's redrive maxReceiveCount (infra/template.yaml, and the failure recorder's
 * MAX_RECEIVE_COUNT there): receives before a message goes to the dead-letter queue. The local
 * stack's queue gives up after as many; test/deploy-infra.test.ts holds the template to it.
 */
export const MAX_RECEIVE_COUNT = 3;

/** resize: 1,769 MB is where Lambda gives one full vCPU, and sharp is CPU-bound. */
export const FUNCTION_DEFAULTS: Record<HandlerName, { memory: number; timeout: number }> = {
  resize: { memory: 1769, timeout: 60 },
  // presign: the largest batch (MAX_FILES_PER_REQUEST) within a third of the timeout at this
  // memory's CPU share, as `node bench/presign.mjs` measures it (its figures in bench/README.md).
  presign: { memory: 512, timeout: 10 },
  'failure-recorder': { memory: 256, timeout: 30 },
};
