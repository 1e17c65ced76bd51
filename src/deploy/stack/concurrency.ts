// The resize's concurrency bound (the queue's ScalingConfig.MaximumConcurrency) against what the
// account can give: lambda:GetAccountSettings says the account's concurrency limit and how much of
// it no function has reserved. A bound above that is not refused (Lambda takes it) but said:
// the resizes would then be throttled by the account, and would starve the presign API.
import { GetAccountSettingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { RESIZE_CONCURRENCY_RANGE } from '../../core/pipeline-defaults.js';
import { awsCall } from '../errors.js';

export interface AccountConcurrency {
  /** The account's concurrent executions in this region. */
  limit: number;
  /** What no function has reserved: the pool the resize and the presign API share. */
  unreserved: number;
}

export interface ConcurrencyCheck extends AccountConcurrency {
  wanted: number;
  fits: boolean;
}

export async function accountConcurrency(lambda: LambdaClient): Promise<AccountConcurrency> {
  const out = await awsCall('lambda:GetAccountSettings', () => lambda.send(new GetAccountSettingsCommand({})));
  return { limit: out.AccountLimit?.ConcurrentExecutions ?? 0, unreserved: out.AccountLimit?.UnreservedConcurrentExecutions ?? 0 };
}

export function checkConcurrency(wanted: number, account: AccountConcurrency): ConcurrencyCheck {
  return { wanted, ...account, fits: wanted <= account.unreserved };
}

/** One line when the bound would exceed what is unreserved; nothing when it fits. */
export function concurrencyNote(c: ConcurrencyCheck): string | undefined {
  if (c.fits) return undefined;
  return `ResizeConcurrency ${c.wanted} is over this account's ${c.unreserved} unreserved concurrent executions (of ${c.limit}): resizes beyond ${c.unreserved} would be throttled, and the presign API with them; pass --resize-concurrency ${Math.max(RESIZE_CONCURRENCY_RANGE.min, Math.floor(c.unreserved / 2))} or ask AWS for a higher limit`;
}
