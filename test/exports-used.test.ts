// Every exported name has an importer that is not a test (scripts/check-exports.mjs), the way
// test/code-size.test.ts holds the size bars.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/images.js';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts/check-exports.mjs');

// Exports only tests import, as of the merge of issue #25's first part: each is to be used,
// unexported or deleted, and this list emptied. A name not listed here fails the test, and so
// does an entry the script no longer reports.
const ALLOWED: string[] = [
  // lambda
  'lambda/deadline.ts ANSWER_RESERVE_MS',
  'lambda/deadline.ts MIN_WORK_MS',
  'lambda/failure-recorder.ts attemptsOf',
  'lambda/failure-recorder.ts failureRecorderConfigFromEnv',
  // lambda/presign
  'lambda/presign/validate.ts partsProblem',
  'lambda/presign/variants.ts isHandedOutKey',
  // packages/local-s3/src
  'packages/local-s3/src/chunked.ts MAX_TRAILER_BYTES',
  // packages/local-s3/src/http
  'packages/local-s3/src/http/context.ts MAX_BODY_BYTES',
  'packages/local-s3/src/http/context.ts MAX_XML_BODY_BYTES',
  'packages/local-s3/src/http/cors.ts validOrigin',
  'packages/local-s3/src/http/object-meta.ts MAX_USER_METADATA_BYTES',
  'packages/local-s3/src/http/object-meta.ts checkUserMetadata',
  // packages/local-s3/src
  'packages/local-s3/src/keys.ts MAX_KEY_BYTES',
  'packages/local-s3/src/list.ts encodeToken',
  'packages/local-s3/src/server.ts MAX_HEADER_SECTION_BYTES',
  // packages/local-s3/src/storage
  'packages/local-s3/src/storage/store.ts COMPACT_SLACK_BYTES',
  'packages/local-s3/src/storage/store.ts COMPLETED_KEPT',
  // src/cli
  'src/cli/dev.ts DEFAULT_API_PORT',
  'src/cli/dev.ts DEFAULT_CDN_PORT',
  'src/cli/dev.ts DEFAULT_S3_PORT',
  'src/cli/main.ts buildProgram',
  // src/config
  'src/config/load.ts applySpecFlags',
  // src/core
  'src/core/spec.ts VARIANT_KEYS',
  'src/core/spec.ts specSchema',
  'src/core/spec.ts suggestKey',
  // src/deploy
  'src/deploy/bundle.ts EXTERNAL_PACKAGES',
  'src/deploy/bundle.ts handlerEntry',
  'src/deploy/function-config.ts REQUIRED_VARIABLES',
  'src/deploy/function-config.ts environmentBytes',
  'src/deploy/limits.ts PackageTooLargeError',
  'src/deploy/package.ts elfMachine',
  'src/deploy/publish.ts DEFAULT_WAITER',
  'src/deploy/run.ts validateRequest',
  'src/deploy/sharp-stage.ts isRuntimeFile',
  'src/deploy/sharp-stage.ts pinnedSharpSpecs',
  // src/deploy/stack
  'src/deploy/stack/artifacts.ts STAGED_ZIP_RULE',
  'src/deploy/stack/artifacts.ts partitionOf',
  'src/deploy/stack/artifacts.ts tlsOnlyPolicy',
  'src/deploy/stack/concurrency.ts RESIZE_CONCURRENCY_RANGE',
  'src/deploy/stack/events.ts FINAL_STATES',
  'src/deploy/stack/events.ts followStack',
  'src/deploy/stack/events.ts lastEventId',
  'src/deploy/stack/names.ts STACK_NAME',
  'src/deploy/stack/parameters.ts MASK',
  // src/deploy
  'src/deploy/trigger.ts MergedNotification',
  'src/deploy/trigger.ts TRIGGER_EVENTS',
  'src/deploy/trigger.ts mergeNotification',
  'src/deploy/trigger.ts parseFunctionArn',
  'src/deploy/trigger.ts permissionStatementId',
  // src/files
  'src/files/manifest.ts writeManifest',
  'src/files/scan.ts excludedBy',
  'src/files/scan.ts expandGlob',
  'src/files/scan.ts globToRegExp',
  'src/files/scan.ts hasGlob',
  'src/files/scan.ts looksLikeImage',
  'src/files/scan.ts skipKind',
  // src/jobs
  'src/jobs/spec-check.ts describeSpec',
  'src/jobs/upload.ts batchesOf',
  // src/jobs/upload
  'src/jobs/upload/check.ts checkFile',
  // src/jobs
  'src/jobs/watch.ts Downloads',
  // src/local
  'src/local/aws-profile.ts AWS_CONFIG_FILE',
  'src/local/aws-profile.ts awsProfileText',
  'src/local/state.ts answering',
  'src/local/state.ts readState',
  'src/local/state.ts userStateDir',
  'src/local/worker-pool.ts workerEntry',
  // src/report
  'src/report/page.ts pictureSnippet',
  // src/ui
  'src/ui/bar.ts BarState',
  'src/ui/bar.ts layoutBar',
  'src/ui/deploy-view.ts changeLine',
  'src/ui/deploy-view.ts eventLine',
  'src/ui/hints.ts shellWord',
  'src/ui/upload-view.ts summaryLine',
];

function checkExports(args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

/** `path name` of each reported export (the line number left out: it moves with every edit). */
const reported = (output: string) =>
  output
    .split('\n')
    .map((line) => /^(\S+):\d+ {2}(\S+)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);

const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function plant(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
}

describe('check-exports', () => {
  it('every export of the repository has an importer that is not a test, but the listed ones', async () => {
    const { code, output } = await checkExports();
    expect(output).toMatch(/check-exports: \d+ files, \d+ scripts;/);
    const found = reported(output);
    expect(found.filter((n) => !ALLOWED.includes(n)), `exported, and only tests import them:\n${output}`).toEqual([]);
    expect(ALLOWED.filter((n) => !found.includes(n)), 'listed but no longer reported: take them off ALLOWED').toEqual([]);
    expect(code, output).toBe(ALLOWED.length === 0 ? 0 : 1);
  });

  it('reports what only tests or nothing import, counts every kind of importer and entry point, and exits 1', async () => {
    const dir = await tempDir('imgpipe-check-exports-');
    cleanup.push(dir);
    await plant(dir, {
      'src/core/a.ts': [
        'export const used = 1;',
        'export const onlyTested = 2;',
        'export const onlyHere = 3;',
        'export const viaNamespace = 4;',
        'export function f(o: Options): Result { return { n: o.n + onlyHere }; }',
        'export interface Options { n: number }',
        'type Result = { n: number; more?: Deeper };',
        'export interface Deeper { d: number }',
        'export interface Orphan { o: number }',
        'export default function byDefault() {}',
        '',
      ].join('\n'),
      'src/core/b.ts': "export const b1 = 1;\nexport const b2 = 2;\nexport type B = number;\nexport const b3 = 3;\n",
      // Re-exports: used ones pass their names on; an unused one is itself reported.
      'src/core/forward.ts': "export { b1 } from './b.js';\nexport * from './c.js';\nimport { b3 } from './b.js';\nexport { b3 as renamed };\n",
      'src/core/c.ts': 'export const c1 = 1;\nexport const c2 = 2;\n',
      'src/ns.ts': "import * as all from './core/ns-target.js';\nexport const n = all;\n",
      'src/core/ns-target.ts': 'export const everything = 1;\nexport const also = 2;\n',
      'src/cli/main.ts': [
        "import byDefault, { used, f } from '../core/a.js';",
        "import { b1, c1 } from '../core/forward.js';",
        "import type { B } from '../core/b.js';",
        "import { n } from '../ns.js';",
        "export type Wide = import('../core/b.js').B;",
        'export async function main() {',
        "  const { lazy } = await import('../lazy.js');",
        "  const [{ first }, { second }] = await Promise.all([import('../first.js'), import('../second.js')]);",
        '  return [byDefault, used, f, b1, c1, n, lazy, first, second] as unknown as B;',
        '}',
        '',
      ].join('\n'),
      'src/lazy.ts': 'export const lazy = 1;\nexport const notTaken = 2;\n',
      'src/first.ts': 'export const first = 1;\n',
      'src/second.ts': 'export const second = 1;\nexport const alsoInSecond = 2;\n',
      // Entry points: a Lambda's handler, a package's public face, what bin/ and bench/ import.
      'lambda/fn.ts': 'export async function handler() {}\nexport function helperOfFn() {}\n',
      'packages/pkg/package.json': '{"name": "@x/pkg"}',
      'packages/pkg/src/index.ts': "export { inner } from './inner.js';\nexport * from './star.js';\n",
      'packages/pkg/src/inner.ts': 'export const inner = 1;\nexport const notPublic = 2;\n',
      'packages/pkg/src/star.ts': 'export const starred = 1;\n',
      // The specifier split in two so that test/dependencies.test.ts does not take it for one of ours.
      'src/uses-pkg.ts': `import { inner } from '@x${'/'}pkg';\nexport const p = inner;\n`,
      'bin/x.js': "const { main } = await import('../dist/src/cli/main.js');\nawait main();\n",
      'bench/y.mjs': "import path from 'node:path';\nconst { viaBench } = await import(path.join(ROOT, 'dist/src/benched.js'));\n",
      'src/benched.ts': 'export const viaBench = 1;\n',
      // The root package's `exports` are its public face: all of src/sub.ts counts as used.
      'package.json': '{"name": "rootpkg", "exports": {"./sub": "./dist/src/sub.js"}}',
      'examples/e.mjs': `import { viaExports } from 'rootpkg${'/'}sub';\nconsole.log(viaExports);\n`,
      'src/sub.ts': 'export const viaExports = 1;\nexport const notViaExports = 2;\n',
      // Tests are no importers; nor are files outside the scan.
      'test/a.test.ts': "import { onlyTested, viaNamespace, b2 } from '../src/core/a.js';\nimport { Orphan } from '../src/core/a.js';\n",
      'src/dist/skipped.ts': 'export const neverScanned = 1;\n',
    });

    const { code, output } = await checkExports(['--root', dir]);
    expect(code, output).toBe(1);
    expect(reported(output).sort(), output).toEqual(
      [
        'lambda/fn.ts helperOfFn',
        'packages/pkg/src/inner.ts notPublic',
        'src/cli/main.ts Wide',
        'src/core/a.ts Orphan',
        'src/core/a.ts onlyHere',
        'src/core/a.ts onlyTested',
        'src/core/a.ts viaNamespace',
        'src/core/b.ts b2',
        'src/core/c.ts c2',
        'src/core/forward.ts renamed',
        'src/lazy.ts notTaken',
        'src/second.ts alsoInSecond',
        'src/uses-pkg.ts p',
      ].sort(),
    );
    expect(output).toMatch(/17 files, 3 scripts; 13 export\(s\) nothing but a test imports/);
  });

  it('passes a tree where every export is imported', async () => {
    const dir = await tempDir('imgpipe-check-exports-');
    cleanup.push(dir);
    await plant(dir, {
      'src/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/b.ts': 'export const b = 1;\n',
      'lambda/h.ts': "import { a } from '../src/a.js';\nexport const handler = () => a;\n",
    });
    const { code, output } = await checkExports(['--root', dir]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/3 files, 0 scripts; every export has an importer — OK/);
  });

  it('refuses a root with nothing to scan', async () => {
    const dir = await tempDir('imgpipe-check-exports-');
    cleanup.push(dir);
    const { code, output } = await checkExports(['--root', dir]);
    expect(code, output).toBe(2);
  });
});
