// The loader hook of ./module-log.mjs (it runs on the loader's own thread): each ES module loaded.
import { appendFileSync } from 'node:fs';

export async function load(url, context, next) {
  appendFileSync(process.env.IMGPIPE_MODULE_LOG, `${url}\n`);
  return next(url, context);
}
