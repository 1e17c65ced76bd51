// The one writer of imgpipe.config.json: `deploy` merges the stack's place into it, `deploy
// --delete` takes that place out again; every other setting of the user's stays as it was. It
// reads the file as every verb reads it (readConfigFile), so a file the verbs refuse is refused here.
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../files/atomic.js';
import { readConfigFile } from './load.js';

/** Where a deployed pipeline is: what `deploy` writes, for every later verb to read. */
export interface PipelinePlace {
  api?: string;
  destBucket?: string;
  cdn?: string;
  queue?: string;
  region: string;
  stack: string;
}

/** The config as it stands, or {} when there is none yet: deploy writes the first. */
async function readConfigObject(file: string): Promise<Record<string, unknown>> {
  return existsSync(file) ? (await readConfigFile(file)).raw : {};
}

const writeConfigObject = (file: string, config: Record<string, unknown>): Promise<void> => writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`);

/** Merge the pipeline's place into the config: the user's other settings stay as they were. */
export async function writePipelineConfig(file: string, place: PipelinePlace): Promise<Record<string, unknown>> {
  const current = await readConfigObject(file);
  const next: Record<string, unknown> = { ...current, stack: place.stack, region: place.region };
  if (place.api) next.api = place.api;
  if (place.destBucket) next.destBucket = place.destBucket;
  // A stack deployed without its CDN leaves no stale URL behind.
  if (place.cdn) next.cdn = place.cdn;
  else delete next.cdn;
  if (place.queue) next.queue = place.queue;
  else delete next.queue;
  await writeConfigObject(file, next);
  return next;
}

/** The config no longer points at a stack that is gone, nor at its CDN or queue (the kept variants bucket stays named). */
export async function forgetStack(file: string, stack: string): Promise<void> {
  const current = await readConfigObject(file);
  if (current.stack !== stack) return;
  const { api: _api, stack: _stack, cdn: _cdn, queue: _queue, ...rest } = current;
  await writeConfigObject(file, rest);
}
