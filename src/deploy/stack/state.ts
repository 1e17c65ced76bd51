// What an existing stack's state allows: a stack mid-change or left in ROLLBACK_COMPLETE cannot
// take a change set, and the user is told what to do instead.
import { ImgpipeError } from '../../core/errors.js';
import { DeleteStackCommand, GetTemplateCommand, type CloudFormationClient, type Parameter, type Stack } from '@aws-sdk/client-cloudformation';
import { awsCall } from '../errors.js';

/** Mid-change: no change set, no delete until it settles. REVIEW_IN_PROGRESS is an empty stack awaiting its first change set. */
export const isBusy = (status: string | undefined): boolean => !!status?.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS';

export function checkStackState(name: string, region: string, stack: Stack | undefined): void {
  const status = stack?.StackStatus;
  if (!status) return;
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') {
    throw new ImgpipeError(
      `the stack ${name} (${region}) is in ${status} from an earlier failed create and cannot be updated: remove it with \`imgpipe deploy --delete --stack ${name}\` (its buckets are kept), then deploy again`,
      'StackRolledBack',
    );
  }
  if (status === 'DELETE_FAILED') throw new ImgpipeError(`the stack ${name} is in DELETE_FAILED: run \`imgpipe deploy --delete --stack ${name}\` again, or see its events in the CloudFormation console`, 'StackDeleteFailed');
  if (isBusy(status)) {
    throw new ImgpipeError(`the stack ${name} is busy (${status}): wait until it settles, then deploy again`, 'StackBusy');
  }
}

/** A parameter's current value on the stack, e.g. the bucket names a first deploy chose. */
export function existingParameter(stack: Stack | undefined, key: string): string | undefined {
  return stack?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue || undefined;
}

/** A dry run's CREATE change set left an empty stack in REVIEW_IN_PROGRESS: remove it. */
export async function deleteNewStack(cfn: CloudFormationClient, stack: string): Promise<void> {
  await awsCall(`cloudformation:DeleteStack ${stack}`, () => cfn.send(new DeleteStackCommand({ StackName: stack })));
}

/**
 * Parameters whose value would change. A NoEcho parameter reads back as '****', so one we set
 * explicitly counts as changed: CloudFormation itself then says whether anything changes.
 */
export function changedParameters(stack: Stack | undefined, params: Parameter[]): string[] {
  const current = new Map((stack?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue ?? '']));
  return params.filter((p) => !p.UsePreviousValue && (current.get(p.ParameterKey) === undefined || current.get(p.ParameterKey) === '****' || current.get(p.ParameterKey) !== p.ParameterValue)).map((p) => p.ParameterKey ?? '?');
}

/** The template the stack runs now, as it was sent. */
export async function currentTemplate(cfn: CloudFormationClient, stackId: string): Promise<string | undefined> {
  const out = await awsCall(`cloudformation:GetTemplate ${stackId}`, () => cfn.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Original' })));
  return out.TemplateBody;
}
