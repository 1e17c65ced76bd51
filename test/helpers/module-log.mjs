// Preloaded with `node --import` (through NODE_OPTIONS) by test/upload-loads.test.ts: every module
// the process loads goes to the file $IMGPIPE_MODULE_LOG, one URL or path a line — ES modules as the
// loader's hook sees them, CommonJS ones (the AWS SDK's) from require's cache at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.IMGPIPE_MODULE_LOG;
if (log) {
  register('./module-log-hooks.mjs', import.meta.url);
  process.on('exit', () => appendFileSync(log, Object.keys(createRequire(import.meta.url).cache).join('\n') + '\n'));
}
