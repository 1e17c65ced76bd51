// What `imgpipe deploy` prints per resource: whole names at any width, types where they fit, and
// on a terminal a spinner that never leaves its frames in the lines.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { changeLine, eventLine, StackDisplay } from '../src/deploy/stack/display.js';

const modify = { action: 'Modify', logicalId: 'PresignVariantsInvokePermission', type: 'AWS::Lambda::Permission', replacement: 'True' };
const failed = { logicalId: 'SourceBucket', type: 'AWS::S3::Bucket', status: 'CREATE_FAILED', reason: 'my-uploads already exists', at: '2026-12-02T00:00:00.000Z' };

describe('deploy display', () => {
  it('keeps the resource type and the replacement at 120 columns, drops only the type at 40', () => {
    expect(changeLine(modify, 120)).toBe('  ~ modify PresignVariantsInvokePermission (AWS::Lambda::Permission, replaces it)');
    expect(changeLine(modify, 40)).toBe('  ~ modify PresignVariantsInvokePermission (replaces it)');
    expect(changeLine({ ...modify, replacement: 'False' }, 40)).toBe('  ~ modify PresignVariantsInvokePermission');
    expect(changeLine({ action: 'Add', logicalId: 'HttpApi', type: 'AWS::ApiGatewayV2::Api' })).toBe('  + add    HttpApi (AWS::ApiGatewayV2::Api)');
    expect(eventLine(failed, 120)).toBe('  CREATE_FAILED        SourceBucket (AWS::S3::Bucket): my-uploads already exists');
    expect(eventLine(failed, 40)).toBe('  CREATE_FAILED SourceBucket: my-uploads already exists');
  });

  it('plain lines without a terminal; nothing at all under --json', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    new StackDisplay(false, false, out, err).event(failed);
    expect(out.read()?.toString()).toBe(`${eventLine(failed)}\n`);
    expect(err.read()).toBeNull();
    const quiet = new PassThrough();
    const json = new StackDisplay(true, false, quiet, quiet);
    json.event(failed);
    json.line('x');
    json.changes([modify]);
    expect(quiet.read()).toBeNull();
  });
});

describe('deploy display on a terminal', () => {
  it('counts finished resources of the change set under the spinner, and fits its line to the width', () => {
    const out = Object.assign(new PassThrough(), { isTTY: true, columns: 40 });
    // What ora asks of a terminal stream.
    const err = Object.assign(new PassThrough(), { isTTY: true, columns: 40, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const d = new StackDisplay(false, true, out, err);
    d.changes([modify, { action: 'Add', logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function' }]);
    const at = '2026-12-02T00:00:00.000Z';
    d.event({ logicalId: 'photos', type: 'AWS::CloudFormation::Stack', status: 'UPDATE_IN_PROGRESS', at });
    d.event({ logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function', status: 'CREATE_IN_PROGRESS', at });
    d.event({ logicalId: 'PresignVariantsInvokePermission', type: 'AWS::Lambda::Permission', status: 'UPDATE_IN_PROGRESS', at });
    const moving = (d as unknown as { progressText(): string }).progressText();
    expect(moving).toBe('0/2 done · in progress: ResizeFuncti…');
    expect(moving.length).toBeLessThanOrEqual(37);
    d.event({ logicalId: 'ResizeFunction', type: 'AWS::Lambda::Function', status: 'CREATE_COMPLETE', at });
    expect((d as unknown as { progressText(): string }).progressText()).toBe('1/2 done · in progress: PresignVaria…');
    d.stop();
    const text = out.read()?.toString() ?? '';
    expect(text).toContain('  ~ modify PresignVariantsInvokePermission (replaces it)\n');
    expect(text).toContain('  CREATE_COMPLETE ResizeFunction\n');
  });
});
