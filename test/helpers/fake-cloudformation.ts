// A local endpoint for `imgpipe deploy`: CloudFormation and STS over the AWS query protocol
// (POST, form-encoded Action=…, XML answers and ErrorResponse errors), served beside the S3 and
// Lambda fake of deploy-lambda on one port, one ordered record of every call across the three.
// The stack behaviour lives in fake-cfn-model.ts; this file only speaks the protocol.
import { ACCOUNT, REGION, startFakeAws, type ExtraRoute, type FakeAws, type RecordedCall } from './deploy-fake-aws.js';
import { CfnError, CfnWorld, type FakeChangeSet, type FakeStack, type PassedParameter } from './fake-cfn-model.js';
import { parseTemplate } from './fake-cfn-template.js';
import type { Answer } from './fake-s3.js';

export { ACCOUNT, REGION };
export { CREDENTIALS } from './deploy-fake-aws.js';

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Query-protocol XML: lists as <member>, dates in ISO 8601; undefined fields and empty lists left out. */
export function toXml(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => `<member>${toXml(x)}</member>`).join('');
  if (v instanceof Date) return v.toISOString();
  if (v && typeof v === 'object') {
    return Object.entries(v)
      .filter(([, x]) => x !== undefined && !(Array.isArray(x) && x.length === 0))
      .map(([k, x]) => `<${k}>${toXml(x)}</${k}>`)
      .join('');
  }
  return escapeXml(String(v ?? ''));
}

let requestNo = 0;
const answer = (action: string, ns: string, result?: Record<string, unknown>): Answer => ({
  status: 200,
  headers: { 'content-type': 'text/xml' },
  body: `<${action}Response xmlns="${ns}">${result ? `<${action}Result>${toXml(result)}</${action}Result>` : ''}<ResponseMetadata><RequestId>fake-${++requestNo}</RequestId></ResponseMetadata></${action}Response>`,
});

export const errorAnswer = (status: number, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'text/xml' },
  body: `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>fake-${++requestNo}</RequestId></ErrorResponse>`,
});

/** Parameters.member.N.ParameterKey/ParameterValue/UsePreviousValue, in order. */
export function passedParameters(form: Record<string, string>): PassedParameter[] {
  const out: PassedParameter[] = [];
  for (let n = 1; form[`Parameters.member.${n}.ParameterKey`] !== undefined; n++) {
    const p = (f: string) => form[`Parameters.member.${n}.${f}`];
    out.push({ key: p('ParameterKey'), ...(p('ParameterValue') !== undefined && { value: p('ParameterValue') }), ...(p('UsePreviousValue') === 'true' && { usePrevious: true }) });
  }
  return out;
}

const list = (form: Record<string, string>, name: string) => Object.keys(form).filter((k) => k.startsWith(`${name}.member.`)).map((k) => form[k]);

function stackView(s: FakeStack) {
  // NoEcho parameters read back masked, as CloudFormation shows them.
  const declared = parseTemplate(s.template ?? '').parameters;
  const settled = /_COMPLETE$/.test(s.status) && !s.status.startsWith('DELETE');
  return {
    StackId: s.stackId,
    StackName: s.name,
    Description: 'imgpipe deploy',
    CreationTime: s.created,
    StackStatus: s.status,
    Parameters: [...s.parameters].map(([k, v]) => ({ ParameterKey: k, ParameterValue: declared.get(k)?.noEcho ? '****' : v })),
    Outputs: settled ? [...s.outputs].map(([k, v]) => ({ OutputKey: k, OutputValue: v })) : [],
    Capabilities: ['CAPABILITY_IAM'],
    Tags: [{ Key: 'imgpipe:stack', Value: s.name }],
    DisableRollback: false,
  };
}

function changeSetView(w: CfnWorld, cs: FakeChangeSet, nextToken?: string) {
  const start = Number(nextToken ?? 0);
  const ready = cs.status === 'CREATE_COMPLETE';
  const page = ready ? cs.changes.slice(start, start + w.changesPerPage) : [];
  return {
    ChangeSetName: cs.name,
    ChangeSetId: cs.id,
    StackId: cs.stack.stackId,
    StackName: cs.stack.name,
    Status: cs.status,
    StatusReason: cs.reason,
    ExecutionStatus: cs.executionStatus,
    Changes: page.map((c) => ({ Type: 'Resource', ResourceChange: { Action: c.action, LogicalResourceId: c.logicalId, ResourceType: c.type, Replacement: c.replacement, Scope: c.action === 'Modify' ? ['Properties'] : [] } })),
    NextToken: ready && start + page.length < cs.changes.length ? String(start + page.length) : undefined,
  };
}

/** One CloudFormation action: its Result element's content, or undefined when it has none. */
function cloudformation(w: CfnWorld, action: string, f: Record<string, string>): Record<string, unknown> | undefined {
  switch (action) {
    case 'DescribeStacks':
      return { Stacks: [stackView(w.get(f.StackName))] };
    case 'GetTemplate': {
      const s = w.get(f.StackName);
      return { TemplateBody: s.template ?? '', StagesAvailable: ['Original', 'Processed'] };
    }
    case 'CreateChangeSet': {
      const cs = w.createChangeSet({ stack: f.StackName, name: f.ChangeSetName, type: f.ChangeSetType ?? 'UPDATE', template: f.TemplateBody ?? '', parameters: passedParameters(f), capabilities: list(f, 'Capabilities') });
      return { Id: cs.id, StackId: cs.stack.stackId };
    }
    case 'DescribeChangeSet': {
      const cs = w.changeSet(f.StackName, f.ChangeSetName);
      if (!f.NextToken) w.pollChangeSet(cs);
      return changeSetView(w, cs, f.NextToken);
    }
    case 'DeleteChangeSet':
      w.deleteChangeSet(w.changeSet(f.StackName, f.ChangeSetName));
      return {};
    case 'ExecuteChangeSet':
      w.execute(w.changeSet(f.StackName, f.ChangeSetName), f.RetainExceptOnCreate === 'true');
      return {};
    case 'DeleteStack':
      w.deleteStack(f.StackName);
      return undefined;
    case 'DescribeStackEvents': {
      const page = w.describeEvents(f.StackName, f.NextToken);
      return { StackEvents: page.events, NextToken: page.nextToken };
    }
    case 'DescribeStackResources': {
      const s = w.get(f.StackName);
      return {
        StackResources: [...s.resources.values()].map((r) => ({ StackId: s.stackId, StackName: s.name, LogicalResourceId: r.logicalId, PhysicalResourceId: r.physicalId || undefined, ResourceType: r.type, Timestamp: s.created, ResourceStatus: r.status })),
      };
    }
    default:
      throw new CfnError('InvalidAction', `fake CloudFormation does not implement ${action}`);
  }
}

export interface FakeCloudFormation {
  endpoint: string;
  /** Every call, CloudFormation, STS and S3 alike, in the order it arrived. */
  calls: RecordedCall[];
  ops(): string[];
  world: CfnWorld;
  /** The S3 (and Lambda) side: its buckets, failNext, … */
  aws: FakeAws;
  /** The form fields of the nth call of an operation. */
  form(op: string, nth?: number): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeCloudFormation(): Promise<FakeCloudFormation> {
  let world: CfnWorld | undefined;
  const route: ExtraRoute = ({ method, path, service, raw }) => {
    if (method !== 'POST' || path !== '/' || (service !== 'cloudformation' && service !== 'sts')) return undefined;
    const form = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    const action = form.Action ?? '?';
    // The template is long and says nothing about the flow: its size stands in for it.
    const body: Record<string, unknown> = { ...form, ...(form.TemplateBody !== undefined && { TemplateBody: `${Buffer.byteLength(form.TemplateBody)} bytes` }) };
    Object.defineProperty(body, 'form', { value: form, enumerable: false });
    const run = (): Answer => {
      if (service === 'sts') {
        if (action !== 'GetCallerIdentity') return errorAnswer(400, 'InvalidAction', `fake STS does not implement ${action}`);
        return answer(action, STS_NS, { UserId: 'AIDAFAKEDEPLOY', Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/imgpipe-test` });
      }
      try {
        return answer(action, CFN_NS, cloudformation(world!, action, form));
      } catch (err) {
        if (err instanceof CfnError) return errorAnswer(err.status, err.code, err.message);
        // A bug of the fake's own answers the call (an unanswered one would hang the test).
        return errorAnswer(500, 'InternalFailure', `fake CloudFormation: ${(err as Error).stack}`);
      }
    };
    return { op: `${service}:${action}`, body, run, error: errorAnswer };
  };
  const aws = await startFakeAws(route);
  world = new CfnWorld(ACCOUNT, REGION, { add: (b) => aws.buckets.has(b) || aws.addBucket(b), remove: (b) => aws.buckets.delete(b) });
  return {
    endpoint: aws.endpoint,
    calls: aws.calls,
    ops: () => aws.ops(),
    world,
    aws,
    form(op, nth = 0) {
      const call = aws.calls.filter((c) => c.op === op)[nth];
      if (!call) throw new Error(`no call ${op} #${nth}`);
      return (call.body as { form: Record<string, string> }).form;
    },
    reset() {
      aws.reset();
      world!.reset();
    },
    close: () => aws.close(),
  };
}
