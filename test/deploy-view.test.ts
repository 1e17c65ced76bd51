// What the deploy jobs show, from their events: ora on a terminal, one line per step otherwise,
// silence under --json, every step recorded for the report either way; whole resource names at
// any width, types where they fit, and a spinner that never leaves its frames in the lines.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DeployProgress, type DeployEvent, type ShownEvent } from '../src/deploy/progress.js';
import type { ResourceChange } from '../src/deploy/stack/change-set.js';
import { DeployView } from '../src/ui/deploy-view.js';
import { haltWidgets } from '../src/ui/live.js';

function capture(tty: { isTTY: boolean; columns?: number } = { isTTY: false }) {
  // A terminal's cursor calls, as ora uses them; the text is what matters here.
  const cursor = { cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true };
  const stream = Object.assign(new PassThrough(), tty, tty.isTTY ? cursor : {});
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

const modify = { action: 'Modify', logicalId: 'PresignVariantsInvokePermission', type: 'AWS::Lambda::Permission', replacement: 'True' };
const failed = { logicalId: 'SourceBucket', type: 'AWS::S3::Bucket', status: 'CREATE_FAILED', reason: 'my-uploads already exists', at: '2026-12-02T00:00:00.000Z' };

describe('deploy steps', () => {
  it('prints one line per finished or skipped step when there is no terminal, and records each', async () => {
    const out = capture();
    const err = capture();
    const steps = new DeployProgress(new DeployView({ json: false, stdout: out.stream, stderr: err.stream }).onEvent);
    expect(await steps.run('Publishing a version', async () => ({ Version: '3' }), (v) => `version ${v.Version}`)).toEqual({ Version: '3' });
    steps.skip('Uploading code', 'unchanged');
    await expect(steps.run('Updating configuration', async () => Promise.reject(new Error('denied')))).rejects.toThrow('denied');
    expect(out.text()).toBe('✓ Publishing a version: version 3\n- Uploading code: unchanged\n');
    expect(err.text()).toBe('');
    expect(steps.records).toEqual([
      { step: 'Publishing a version', status: 'done', detail: 'version 3' },
      { step: 'Uploading code', status: 'skipped', detail: 'unchanged' },
      { step: 'Updating configuration', status: 'failed', detail: 'denied' },
    ]);
  });

  it('under --json prints nothing, on a terminal too', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 80 });
    const view = new DeployView({ json: true, stdout: out.stream, stderr: err.stream });
    const steps = new DeployProgress(view.onEvent);
    await steps.run('Looking up function f', async () => undefined);
    steps.skip('Uploading code', 'unchanged');
    steps.note('x');
    steps.emit({ type: 'changes', changes: [modify] });
    steps.emit({ type: 'stack-event', event: failed });
    view.stop();
    expect([out.text(), err.text()]).toEqual(['', '']);
    expect(steps.records).toHaveLength(2);
  });

  it('on a terminal, an ora spinner per step on stderr that ends with the result', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 80 });
    const steps = new DeployProgress(new DeployView({ json: false, stdout: out.stream, stderr: err.stream, interactive: true }).onEvent);
    await steps.run('Uploading code (8 MB)', async () => 'ok', () => 'done');
    steps.skip('Updating configuration', 'unchanged');
    expect(out.text()).toBe('');
    expect(err.text()).toMatch(/Uploading code \(8 MB\): done/);
    expect(err.text()).toMatch(/Updating configuration: unchanged/);
  });

  it('a terminal that reports no width gets plain lines (ora would redraw forever)', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 0 });
    const saved = process.env.CI;
    delete process.env.CI;
    try {
      const view = new DeployView({ json: false, stdout: out.stream, stderr: err.stream });
      expect(view.interactive).toBe(false);
      await new DeployProgress(view.onEvent).run('Building', async () => 1);
      expect(out.text()).toBe('✓ Building\n');
      // With a width, the same stream is a terminal: the rule is the width, not isTTY alone.
      expect(new DeployView({ json: false, stdout: out.stream, stderr: capture({ isTTY: true, columns: 80 }).stream }).interactive).toBe(true);
    } finally {
      if (saved !== undefined) process.env.CI = saved;
    }
  });

  it('Ctrl-C (haltWidgets) takes its spinner down and draws none again; a stopped view is no longer in the list', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 80 });
    const view = new DeployView({ json: false, stdout: out.stream, stderr: err.stream, interactive: true });
    const steps = new DeployProgress(view.onEvent);
    let release!: () => void;
    const running = steps.run('Waiting for CloudFormation', () => new Promise<void>((r) => (release = r)));
    expect(haltWidgets()).toBeGreaterThanOrEqual(1);
    const before = err.text().length;
    steps.emit({ type: 'stack-event', event: { ...failed, status: 'CREATE_IN_PROGRESS' } });
    steps.skip('Uploading code', 'unchanged');
    release();
    await running;
    expect(err.text().length).toBe(before);
    const registered = haltWidgets();
    view.stop();
    expect(haltWidgets()).toBe(registered - 1);
  });
});

describe('deploy stack lines', () => {
  /** What the view prints for one change or event, without a spinner, to a terminal `columns` wide (or to no terminal). */
  function printed(event: DeployEvent, columns?: number, errColumns?: number): string {
    const out = Object.assign(new PassThrough(), columns ? { isTTY: true, columns } : {});
    const err = Object.assign(new PassThrough(), errColumns ? { isTTY: true, columns: errColumns } : {});
    new DeployView({ json: false, interactive: false, stdout: out, stderr: err }).onEvent(event);
    expect(err.read()).toBeNull();
    return out.read()?.toString() ?? '';
  }
  const change = (c: ResourceChange, columns?: number) => printed({ type: 'changes', changes: [c] }, columns);
  const stackEvent = (e: ShownEvent, columns?: number, errColumns?: number) => printed({ type: 'stack-event', event: e }, columns, errColumns);

  it('keep the resource type and the replacement at 120 columns, drop only the type at 40', () => {
    expect(change(modify, 120)).toBe('  ~ modify PresignVariantsInvokePermission (AWS::Lambda::Permission, replaces it)\n');
    expect(change(modify, 40)).toBe('  ~ modify PresignVariantsInvokePermission (replaces it)\n');
    expect(change({ ...modify, replacement: 'False' }, 40)).toBe('  ~ modify PresignVariantsInvokePermission\n');
    expect(change({ action: 'Add', logicalId: 'HttpApi', type: 'AWS::ApiGatewayV2::Api' })).toBe('  + add    HttpApi (AWS::ApiGatewayV2::Api)\n');
    expect(stackEvent(failed, 120)).toBe('  CREATE_FAILED        SourceBucket (AWS::S3::Bucket): my-uploads already exists\n');
    expect(stackEvent(failed, 40)).toBe('  CREATE_FAILED SourceBucket: my-uploads already exists\n');
  });

  it('plain lines when stdout is no terminal, however narrow stderr is', () => {
    expect(stackEvent(failed, undefined, 40)).toBe('  CREATE_FAILED        SourceBucket (AWS::S3::Bucket): my-uploads already exists\n');
  });

  it('on a terminal, count finished resources of the change set under the spinner, and fit its line to the width', () => {
    const out = Object.assign(new PassThrough(), { isTTY: true, columns: 40 });
    // What ora asks of a terminal stream.
    const err = Object.assign(new PassThrough(), { isTTY: true, columns: 40, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const d = new DeployView({ json: false, interactive: true, stdout: out, stderr: err });
    const emit = d.onEvent;
    emit({ type: 'changes', changes: [modify, { action: 'Add', logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function' }] });
    const at = '2026-12-02T00:00:00.000Z';
    emit({ type: 'stack-event', event: { logicalId: 'photos', type: 'AWS::CloudFormation::Stack', status: 'UPDATE_IN_PROGRESS', at } });
    emit({ type: 'stack-event', event: { logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function', status: 'CREATE_IN_PROGRESS', at } });
    emit({ type: 'stack-event', event: { logicalId: 'PresignVariantsInvokePermission', type: 'AWS::Lambda::Permission', status: 'UPDATE_IN_PROGRESS', at } });
    const moving = (d as unknown as { progressText(): string }).progressText();
    expect(moving).toBe('0/2 done · in progress: ResizeFuncti…');
    expect(moving.length).toBeLessThanOrEqual(37);
    emit({ type: 'stack-event', event: { logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function', status: 'CREATE_COMPLETE', at } });
    expect((d as unknown as { progressText(): string }).progressText()).toBe('1/2 done · in progress: PresignVaria…');
    emit({ type: 'follow-end' });
    d.stop();
    const text = out.read()?.toString() ?? '';
    expect(text).toContain('  ~ modify PresignVariantsInvokePermission (replaces it)\n');
    expect(text).toContain('  CREATE_COMPLETE ResizeFunction\n');
  });
});
