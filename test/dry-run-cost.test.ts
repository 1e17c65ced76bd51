// `upload --dry-run` against a deployed pipeline ends with what the batch will cost and take on
// AWS: the resize's GB-seconds and dollars at the function's memory and architecture, the requests,
// and the time at the resize's concurrency. Asked of nobody: the dry run makes no request.
import { describe, expect, it } from 'vitest';
import { batchCost, costLine } from '../src/core/cost.js';
import { estimateSeconds } from '../src/core/estimate.js';
import { AVIF_EFFORT } from '../src/core/resize.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { ROOT } from './helpers/readme.js';

const PHOTO = { width: 4000, height: 3000 };
const ONE = estimateSeconds(DEFAULT_SPEC, AVIF_EFFORT, PHOTO).seconds;

describe('what a batch costs on AWS', () => {
  it('GB-seconds, dollars and requests follow the memory, the architecture and the spec', () => {
    const d = { memoryMb: 1769, arch: 'arm64' as const, concurrency: 10, presignBatch: 100 };
    const c = batchCost(Array(250).fill(PHOTO), DEFAULT_SPEC, AVIF_EFFORT, d);
    expect(c.resizeSeconds).toBeCloseTo(250 * ONE, 6);
    expect(c.gbSeconds).toBeCloseTo(250 * ONE * (1769 / 1024), 6);
    expect(c.dollars.lambda).toBeCloseTo(c.gbSeconds * 0.0000133334, 12); // arm64's published price per GB-second
    // 3 presign calls; per photo: upload PUT + dedupe LIST + 3 variants + record, GET + HEAD, 3 SQS.
    expect(c.requests).toEqual({ api: 3, lambda: 253, s3Put: 250 * 6, s3Get: 500, sqs: 750 });
    expect(c.wallSeconds).toBeCloseTo(25 * ONE, 6); // 250 photos, 10 at a time
    // Half the memory: half a vCPU, twice the time, the same GB-seconds; x86 costs more per GB-s.
    const half = batchCost(Array(250).fill(PHOTO), DEFAULT_SPEC, AVIF_EFFORT, { ...d, memoryMb: 1769 / 2, arch: 'x86_64' });
    expect(half.resizeSeconds).toBeCloseTo(2 * c.resizeSeconds, 6);
    expect(half.gbSeconds).toBeCloseTo(c.gbSeconds, 6);
    expect(half.dollars.lambda).toBeGreaterThan(c.dollars.lambda);
    expect(costLine(c, d)).toMatch(/^on AWS: ~\d[\d,]* GB-s of resize at 1769 MB arm64 \(\$[\d.]+\) and 3,006 requests \(\$[\d.]+\): \$[\d.]+; about \d+ s of resizing at 10 at once \(us-east-1 prices of \d{4}-\d\d, before free tiers\)$/);
  });

  it('upload --dry-run --json against an API says it, having asked nothing (the API is a closed port)', async () => {
    const cwd = await img.tempDir('imgpipe-cost-');
    const args = ['upload', `${ROOT}/examples/photos`, '--dry-run', '--api', 'http://127.0.0.1:9/prod', '--dest-bucket', 'my-resized'];
    const json = await runCli([...args, '--json'], { cwd });
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.aws).toMatchObject({ photos: 4, requests: { api: 1, s3Put: 24, s3Get: 8 }, deployment: { memoryMb: 1769, arch: 'x86_64', concurrency: 5 } }); // the template's defaults
    expect(doc.aws.gbSeconds).toBeGreaterThan(0);
    const text = await runCli(args, { cwd });
    const lines = text.stdout.trim().split('\n');
    expect(lines.at(-2)).toMatch(/^\(dryrun\) on AWS: ~[\d.]+ GB-s of resize at 1769 MB x86_64 \(\$[\d.e-]+\) and 50 requests/);
    expect(lines.at(-1)).toMatch(/^\(dryrun\) 4 to upload/);
    // The local stack costs no money: no such line, no such field.
    const local = await runCli(['upload', `${ROOT}/examples/photos`, '--dry-run', '--local', '--json'], { cwd });
    expect(JSON.parse(local.stdout).aws).toBeUndefined();
  });
});
