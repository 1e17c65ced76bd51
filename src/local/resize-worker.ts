// One resize "function instance" of the local stack: a child process that builds the resize handler
// (lambda/resize.ts) once, as a warm Lambda container does, and runs one SQS-shaped event at a
// time. A process of its own so that the stack can stop it at the function's timeout or see it
// die, as Lambda stops or loses a container (worker-pool.ts); a thread would not do: ending one
// while libvips' native threads still work on its image can take the whole process down
// (lovell/sharp#2263), and a kill -9 must reach only the instance.
import { createResizeHandler } from '../../lambda/resize.js';
import { createS3Client } from '../s3/client.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

const send = (m: FromWorker) => process.send!(m);
let resize: ReturnType<typeof createResizeHandler> | undefined;

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') {
    const c = msg.config;
    const s3 = createS3Client({ endpoint: c.endpoint, region: c.region, credentials: c.credentials });
    resize = createResizeHandler({ s3, destBucket: c.destBucket, spec: c.spec, cacheControl: c.cacheControl, log: (line) => send({ type: 'log', line }) });
    send({ type: 'ready' });
    return;
  }
  void (async () => {
    const started = Date.now();
    const { requestId, deadlineAt } = msg;
    // Lambda's context, as far as the handler reads it: the time left before the pool stops it.
    const context = { getRemainingTimeInMillis: () => Math.max(0, deadlineAt - Date.now()) };
    // Lambda's own START and END lines: which instance ran what, and when, seen from outside.
    send({ type: 'log', line: { level: 'info', msg: 'START', requestId, pid: process.pid } });
    try {
      const { outcomes, batchItemFailures } = await resize!(msg.event, context);
      send({ type: 'log', line: { level: 'info', msg: 'END', requestId, ms: Date.now() - started } });
      send({ type: 'answer', requestId, outcomes, batchItemFailures });
    } catch (err) {
      send({ type: 'log', line: { level: 'info', msg: 'END', requestId, ms: Date.now() - started } });
      send({ type: 'threw', requestId, message: (err as Error).message });
    }
  })();
});

// The stack went away (stopped, or killed with -9): an instance has no one left to answer.
process.on('disconnect', () => process.exit(0));
