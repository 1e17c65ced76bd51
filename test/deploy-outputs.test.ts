// The stack's outputs as they go into imgpipe.config.json: only what the config accepts, so a
// deploy can never leave a config every later verb refuses (a queue's id that is not its URL, say).
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { stackOutputs } from '../src/deploy/stack/outputs.js';

const noCalls = { send: () => Promise.reject(new Error('no call expected')) } as unknown as CloudFormationClient;
const outputs = (o: Record<string, string>) => ({ StackName: 's', StackId: 'id', Outputs: Object.entries(o).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }) as never;
const place = { ApiUrl: 'https://a.execute-api.us-east-1.amazonaws.com', SourceBucket: 'src', DestBucket: 'dst' };

describe('stack outputs for the config', () => {
  it('takes the resize queue when it is a URL, and leaves out anything else', async () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/s-ResizeQueue-1';
    expect((await stackOutputs(noCalls, outputs({ ...place, ResizeQueueUrl: url }), 'us-east-1')).queue).toBe(url);
    for (const bad of ['s-ResizeQueue-1B464F18', 'file:///etc/passwd', ''])
      expect(await stackOutputs(noCalls, outputs({ ...place, ResizeQueueUrl: bad }), 'us-east-1')).toEqual({ api: place.ApiUrl, sourceBucket: 'src', destBucket: 'dst' });
  });
});
