// Every verb's --help examples are run, not only parsed (test/help-examples.test.ts): each one
// this machine can run is run exactly as the help prints it, in a folder holding examples/photos,
// against a running `imgpipe dev` (itself started by dev's own example), and its effect checked.
// Examples that need an AWS account are named with the test that runs them against moto, or as
// parsed only; a verb with no example run at all fails here.
import { execFile } from 'node:child_process';
import { cp, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePipelineConfig } from '../src/config/write.js';
import { CLEAN_ENV } from './helpers/aws-env.js';
import { runCli, TEST_STATE_HOME, type CliResult } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import { tempDir } from './helpers/images.js';
import { readmeBlock, ROOT } from './helpers/readme.js';

const VERBS = ['upload', 'watch', 'reprocess', 'resize-local', 'dev', 'deploy', 'deploy-lambda'];
const PHOTOS = 4; // examples/photos
const VARIANTS = 3; // the default spec's

/** A command line as sh splits it: words, '…' and "…" quoted. */
const shellWords = (line: string) => [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);

async function examplesOf(verb: string): Promise<string[]> {
  const help = await runCli([verb, '--help']);
  return help.stdout.split('\nExamples:\n')[1].split('\n').map((l) => l.trim()).filter((l) => l.startsWith('imgpipe '));
}

/** Examples not run here, and why (they need an AWS account). */
const ELSEWHERE: Record<string, string> = {
  'imgpipe upload examples/photos --api https://abc123.execute-api.eu-west-1.amazonaws.com --dest-bucket my-resized --wait': 'parsed only: a deployed API (test/deploy-readme.test.ts runs the same upload against one configured as deploy does)',
  'imgpipe watch uploads/k3x9/a.jpg --dest-bucket my-resized --timeout 60': 'parsed only: a deployed bucket',
  'imgpipe reprocess uploads/k3x9/a.jpg --api https://abc123.execute-api.eu-west-1.amazonaws.com --dest-bucket my-resized --json': 'parsed only: a deployed API',
  'imgpipe dev': 'fixed ports: the suite runs `dev` on free ones (the next example)',
  'imgpipe dev --resize-timeout 10 --resize-concurrency 1': 'parsed only: the same dev with other settings (test/dev-timeout*.test.ts set them)',
  'imgpipe deploy --stack imgpipe': "README's deploy line: run against moto by test/deploy-stack-moto.test.ts",
  'imgpipe deploy --dry-run': 'run against moto by test/deploy-stack-moto.test.ts',
  'imgpipe deploy --widths 480,1200 --format webp': 'parsed only: an AWS account',
  'imgpipe deploy --originals-transition-days 30 --failed-record-days 90': 'parsed only: an AWS account',
  'imgpipe deploy --delete --yes': 'parsed only: an AWS account',
  'imgpipe deploy-lambda --function imgpipe-resize --source-bucket my-photos --dest-bucket my-resized': 'parsed only: an AWS account (test/deploy-publish.test.ts publishes to moto)',
  'imgpipe deploy-lambda --handler presign --function imgpipe-presign --profile work': 'parsed only: an AWS account',
};

describe('--help examples, run', () => {
  let cwd: string;
  let dev: DevProcess;
  const ran = new Set<string>();
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    cwd = await tempDir('imgpipe-help-run-');
    await cp(path.join(ROOT, 'examples/photos'), path.join(cwd, 'examples/photos'), { recursive: true });
    dev = await startDev(cwd, { env: { XDG_STATE_HOME: TEST_STATE_HOME } });
    // What `deploy` writes: the examples without --local reach this pipeline as a deployed one.
    await writePipelineConfig(path.join(cwd, 'imgpipe.config.json'), { api: dev.state.apiUrl, destBucket: dev.state.destBucket, region: dev.state.region });
    // Its bucket behind the standard AWS chain, as test/deploy-readme.test.ts reaches one.
    env = { ...CLEAN_ENV, AWS_ACCESS_KEY_ID: dev.state.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: dev.state.credentials.secretAccessKey, AWS_ENDPOINT_URL: dev.state.s3Endpoint };
  }, 60_000);
  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
  });

  /** Runs the help's own example line, as a user pastes it. */
  async function run(verb: string, example: string, withEnv = env): Promise<CliResult> {
    expect(await examplesOf(verb), 'an example of this verb').toContain(example);
    ran.add(example);
    return runCli(shellWords(example).slice(1), { cwd, env: withEnv, timeoutMs: 240_000 });
  }

  it('dev: the free-ports example is what the suite starts; --aws-cli prints the command that reaches it', async () => {
    const example = 'imgpipe dev --s3-port 0 --api-port 0 --cdn-port 0 --json';
    expect(await examplesOf('dev')).toContain(example);
    expect(dev.child.spawnargs.slice(-shellWords(example).length + 1)).toEqual(shellWords(example).slice(1));
    ran.add(example);
    const r = await run('dev', 'imgpipe dev --aws-cli');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`env AWS_CONFIG_FILE=.imgpipe/aws-config aws --profile imgpipe-local --endpoint-url ${dev.state.s3Endpoint}`);
  });

  it('upload: the whole pipeline, the dry run, the filters, --verify --json', async () => {
    const whole = await run('upload', 'imgpipe upload examples/photos --local --wait --download ./resized');
    expect(whole.code, whole.stderr).toBe(0);
    for (const width of ['320', '1024', '2048']) expect((await readdir(path.join(cwd, 'resized', width))).sort()).toEqual(['lomiri16-Wine_by_Jakkub_Mede.jpg', 'mate-Aqua.jpg', 'mate-Garden.jpg', 'plasma-DarkestHour.jpg']);

    // Through imgpipe.config.json, as after `deploy`: another pipeline to the ledger, so the dry run
    // would send all four, and says what resizing them costs on AWS.
    const dry = await run('upload', 'imgpipe upload examples/photos -n');
    expect(dry.code, dry.stderr).toBe(0);
    const dryLines = dry.stdout.trim().split('\n');
    expect(dryLines.at(-2)).toMatch(/^\(dryrun\) on AWS: ~[\d.]+ GB-s of resize/);
    expect(dryLines.at(-1)).toMatch(new RegExp(`^\\(dryrun\\) ${PHOTOS} to upload \\(.+\\), 0 already there, 0 failed of ${PHOTOS} files; .*nothing sent$`));

    const jpegs = await run('upload', "imgpipe upload examples/photos --exclude '*' --include '*.jpg' -q");
    expect(jpegs.code, jpegs.stderr).toBe(0);
    expect(jpegs.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^0 uploaded, ${PHOTOS} already there, 0 failed of ${PHOTOS} files; .*manifest \\.imgpipe/last-upload\\.json$`))]);

    const verify = await run('upload', 'imgpipe upload examples/photos --verify --json');
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, files: PHOTOS, uploaded: 0, exists: PHOTOS, failed: 0 });
  }, 300_000);

  it('watch: the last upload, then its variants downloaded and one page of the batch', async () => {
    const w = await run('watch', 'imgpipe watch --local');
    expect(w.code, w.stderr).toBe(0);
    const page = await run('watch', 'imgpipe watch --local --download ./resized --html batch.html');
    expect(page.code, page.stderr).toBe(0);
    const html = await readFile(path.join(cwd, 'batch.html'), 'utf8');
    expect(html.match(/<img /g)?.length).toBeGreaterThanOrEqual(PHOTOS);
  }, 120_000);

  it('reprocess: nothing to queue when every photo is the spec, dry run or not', async () => {
    const dry = await run('reprocess', 'imgpipe reprocess --local --dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    const all = await run('reprocess', 'imgpipe reprocess --local --all --wait');
    expect(all.code, all.stderr).toBe(0);
    expect(await dev.list(dev.state.destBucket)).toHaveLength(PHOTOS * (VARIANTS + 1)); // the variants and a record each, nothing new
  }, 120_000);

  it('resize-local: every variant written, the plan of another spec, one JSON document', async () => {
    const out = await run('resize-local', 'imgpipe resize-local examples/photos --out ./resized');
    expect(out.code, out.stderr).toBe(0);
    const plan = await run('resize-local', 'imgpipe resize-local examples/photos --widths 400,800 --format webp -n');
    expect(plan.code, plan.stderr).toBe(0);
    await expect(stat(path.join(cwd, 'resized', '400'))).rejects.toThrow(); // the plan writes nothing
    const json = await run('resize-local', 'imgpipe resize-local examples/photos -c 1 --json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true });
  }, 120_000);

  it('deploy-lambda: the resize zip built, nothing published', async () => {
    const r = await run('deploy-lambda', 'imgpipe deploy-lambda --out resize.zip --dry-run', CLEAN_ENV); // no local keys: they never go to AWS
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(path.join(cwd, 'resize.zip'))).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    const { stdout } = await promisify(execFile)('python3', ['-c', 'import sys,zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', path.join(cwd, 'resize.zip')]);
    expect(stdout.split('\n')).toContain('index.mjs');
  }, 120_000);

  it('every example is run here or named with the test that runs it; every verb has one run', async () => {
    expect(await readmeBlock('Deploy to AWS')).toContain('npm install && npx imgpipe deploy --stack imgpipe');
    for (const verb of VERBS) {
      const examples = await examplesOf(verb);
      expect(examples.filter((e) => !ran.has(e) && !ELSEWHERE[e]), `${verb}: examples neither run nor accounted for`).toEqual([]);
      if (verb !== 'deploy') expect(examples.some((e) => ran.has(e)), `${verb}: no example run`).toBe(true);
    }
  });
});
