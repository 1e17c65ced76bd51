// How many of a run's photos wait for the resize: the local stack's queue, asked by key through its
// API, or the deployed pipeline's resize queue (imgpipe.config.json's `queue`, which `deploy`
// writes). SQS keeps no per-message view a client could ask by key, so that is the whole queue's
// depth (visible messages queued, invisible ones being resized). The user's credentials need
// sqs:GetQueueAttributes on it; without them watch goes on without a backlog.

export interface Backlog {
  queued: number;
  inFlight: number;
  /** Counted over the whole queue, every upload's photos (SQS answers no per-key view). */
  wholeQueue?: true;
}

/** The local stack's queue, asked through its API, a thousand keys per request. */
export function localBacklog(apiUrl: string): (keys: string[]) => Promise<Backlog> {
  return async (keys) => {
    const total: Backlog = { queued: 0, inFlight: 0 };
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await fetch(`${apiUrl}/backlog`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: keys.slice(i, i + 1000) }), signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`POST /backlog answered ${res.status}`);
      const part = (await res.json()) as Backlog;
      total.queued += part.queued;
      total.inFlight += part.inFlight;
    }
    return total;
  };
}

/** The deployed pipeline's queue, from SQS. */
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
