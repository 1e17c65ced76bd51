// The deployed pipeline's backlog, from its resize queue (imgpipe.config.json's `queue`, which
// `deploy` writes): SQS keeps no per-message view a client could ask by key, so this is the whole
// queue's depth (visible messages queued, invisible ones being resized). The user's credentials
// need sqs:GetQueueAttributes on it; without them watch goes on without a backlog.
import type { Backlog } from './target.js';

export function queueBacklog(queueUrl: string, region: string | undefined): (keys: string[]) => Promise<Backlog> {
  let client: import('@aws-sdk/client-sqs').SQSClient | undefined;
  return async () => {
    // Loaded on first use: the CLI's other verbs never pay for the SQS client.
    const { SQSClient, GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
    client ??= new SQSClient({ region: region ?? regionOfQueue(queueUrl) });
    const { Attributes: a = {} } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }), { abortSignal: AbortSignal.timeout(5_000) });
    return { queued: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0), wholeQueue: true };
  };
}

/** https://sqs.eu-west-1.amazonaws.com/123/q → eu-west-1. */
function regionOfQueue(url: string): string | undefined {
  return /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\//.exec(url)?.[1];
}
