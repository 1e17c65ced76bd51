// Write the batch's HTML page: read each done image's smallest variant once, render, write whole.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { smallestVariant } from '../core/plan.js';
import type { DoneRecord, ImageRecord } from '../core/record.js';
import { writeFileAtomic } from '../files/atomic.js';
import { renderReport } from '../report/page.js';
import type { PipelineTarget } from './target.js';
import type { WatchResult } from './watch.js';

/** What the run's manifest adds: each key's local paths, and the files refused before upload. */
export interface RunFiles {
  names?: Map<string, string[]>;
  refused?: { relPath: string; reason: string }[];
}

export async function writeReport(file: string, result: Pick<WatchResult, 'records' | 'missing' | 'bucket'>, target: Pick<PipelineTarget, 's3' | 'destBucket'>, signal?: AbortSignal, run: RunFiles = {}): Promise<void> {
  const limit = pLimit(8);
  const thumbnails = new Map<string, { contentType: string; data: Buffer }>();
  const done = result.records.filter((r): r is DoneRecord => r.status === 'done' && !!r.variants);
  await Promise.all(
    done.map((r) =>
      limit(async () => {
        const smallest = smallestVariant(r.variants);
        const res = await (await target.s3()).send(new GetObjectCommand({ Bucket: target.destBucket, Key: smallest.key }), { abortSignal: signal });
        thumbnails.set(r.source.key, { contentType: smallest.contentType, data: Buffer.from(await res.Body!.transformToByteArray()) });
      }),
    ),
  );
  const html = renderReport({ title: `imgpipe · ${result.bucket}`, records: result.records.filter((r): r is ImageRecord => r.status !== 'done' || !!r.variants), missing: result.missing, thumbnails, generatedAt: new Date(), ...run });
  await writeFileAtomic(file, html);
}
