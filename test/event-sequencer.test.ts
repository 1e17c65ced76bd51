// The local stack's S3 event records carry a sequencer that orders one key's events and stays the
// same when an event is delivered again, as S3's does.
import { describe, expect, it } from 'vitest';
import { eventSequencer, s3EventRecord } from '../src/core/s3-event.js';

const ev = (seq: number, eventTime: string) => ({ seq, eventTime, bucket: 'imgpipe-source', key: 'uploads/a b.jpg', size: 3, eTag: 'e', eventName: 'ObjectCreated:Put' });

describe('event sequencer', () => {
  it('orders PUTs in the same millisecond by sequence, later PUTs after earlier ones even when the sequence restarted', () => {
    const t = '2026-12-02T01:00:00.000Z';
    const a = eventSequencer(ev(7, t));
    const b = eventSequencer(ev(8, t));
    const later = eventSequencer(ev(1, '2026-12-02T01:00:00.001Z')); // after a restart the sequence starts again
    expect(a < b && b < later).toBe(true);
    expect(a).toMatch(/^[0-9A-F]{20}$/);
  });

  it('is the same on every delivery of one event', async () => {
    const first = s3EventRecord(ev(3, '2026-12-02T01:00:00.000Z'), 'us-east-1');
    await new Promise((r) => setTimeout(r, 5));
    const again = s3EventRecord(ev(3, '2026-12-02T01:00:00.000Z'), 'us-east-1');
    expect(again.s3.object.sequencer).toBe(first.s3.object.sequencer);
    expect(first.s3.object.key).toBe('uploads/a+b.jpg');
  });
});
