// CloudFormation's behaviour where `imgpipe deploy` depends on it, without HTTP: stacks by name
// (live) and by id (also deleted), change sets that take a few polls to be ready and fail with
// "didn't contain changes" when nothing would, executions and deletions that emit their events
// a few per DescribeStackEvents poll (so only a real wait passes), and scripted failures that
// roll back as CloudFormation does, DeletionPolicy Retain and RetainExceptOnCreate included.
import { randomUUID } from 'node:crypto';
import type { CfnNode } from './cfn-yaml.js';
import { changesBetween, creationOrder, parseTemplate, resolveValue, type Change } from './fake-cfn-template.js';

export class CfnError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface FakeEvent {
  EventId: string;
  StackId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  Timestamp: Date;
  ResourceStatus: string;
  ResourceStatusReason?: string;
}

interface Step {
  logicalId?: string;
  status: string;
  reason?: string;
  apply?: () => void;
}

export interface FakeResource {
  logicalId: string;
  type: string;
  physicalId: string;
  status: string;
}

export interface FakeStack {
  stackId: string;
  name: string;
  status: string;
  template?: string;
  parameters: Map<string, string>;
  resources: Map<string, FakeResource>;
  outputs: Map<string, string>;
  /** Oldest first. */
  events: FakeEvent[];
  /** Events still to come, released a few per poll. */
  pending: Step[];
  created: Date;
}

export interface FakeChangeSet {
  id: string;
  name: string;
  stack: FakeStack;
  type: 'CREATE' | 'UPDATE';
  status: string;
  reason?: string;
  executionStatus: string;
  template: string;
  parameters: Map<string, string>;
  changes: Change[];
  pollsLeft: number;
}

export interface PassedParameter {
  key: string;
  value?: string;
  usePrevious?: boolean;
}

export const NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set.";
const BASE_TIME = Date.parse('2026-01-01T00:00:00Z');

export class CfnWorld {
  readonly stacks: FakeStack[] = [];
  readonly changeSets: FakeChangeSet[] = [];
  /** DescribeChangeSet answers still CREATE_PENDING / CREATE_IN_PROGRESS before the final status. */
  changeSetPolls = 2;
  changesPerPage = 100;
  /** Events released by each DescribeStackEvents (without NextToken). */
  eventsPerPoll = 4;
  eventsPerPage = 100;
  private failure?: { logicalId: string; reason: string };
  private clock = 0;

  constructor(
    readonly account: string,
    readonly region: string,
    private readonly buckets: { add(name: string): void; remove(name: string): void },
  ) {}

  /** By name: the live stack. By id (ARN): any, deleted ones too, as CloudFormation answers. */
  find(nameOrId: string): FakeStack | undefined {
    if (nameOrId.startsWith('arn:')) return this.stacks.find((s) => s.stackId === nameOrId);
    return this.stacks.find((s) => s.name === nameOrId && s.status !== 'DELETE_COMPLETE');
  }

  get(nameOrId: string): FakeStack {
    const s = this.find(nameOrId);
    if (!s) throw new CfnError('ValidationError', `Stack with id ${nameOrId} does not exist`);
    return s;
  }

  addStack(name: string, status = 'REVIEW_IN_PROGRESS', init: { template?: string; parameters?: Record<string, string> } = {}): FakeStack {
    const stack: FakeStack = {
      stackId: `arn:aws:cloudformation:${this.region}:${this.account}:stack/${name}/${randomUUID()}`,
      name,
      status,
      template: init.template,
      parameters: new Map(Object.entries(init.parameters ?? {})),
      resources: new Map(),
      outputs: new Map(),
      events: [],
      pending: [],
      created: new Date(BASE_TIME + this.clock * 1000),
    };
    this.stacks.push(stack);
    this.emit(stack, { status, reason: 'User Initiated' });
    return stack;
  }

  /** The next execution fails at this resource, with this reason. */
  failResource(logicalId: string, reason: string): void {
    this.failure = { logicalId, reason };
  }

  private emit(stack: FakeStack, step: Step): void {
    step.apply?.();
    const r = step.logicalId ? stack.resources.get(step.logicalId) : undefined;
    if (!step.logicalId) stack.status = step.status;
    else if (r) r.status = step.status;
    stack.events.push({
      EventId: step.logicalId ? `${step.logicalId}-${step.status}-${++this.clock}` : randomUUID(),
      StackId: stack.stackId,
      StackName: stack.name,
      LogicalResourceId: step.logicalId ?? stack.name,
      PhysicalResourceId: step.logicalId ? (r?.physicalId ?? '') : stack.stackId,
      ResourceType: step.logicalId ? (r?.type ?? '?') : 'AWS::CloudFormation::Stack',
      Timestamp: new Date(BASE_TIME + ++this.clock * 1000),
      ResourceStatus: step.status,
      ...(step.reason && { ResourceStatusReason: step.reason }),
    });
  }

  /** Newest first, a page at a time; a first page (no token) lets time pass first. */
  describeEvents(nameOrId: string, nextToken?: string): { events: FakeEvent[]; nextToken?: string } {
    const stack = this.get(nameOrId);
    if (!nextToken) for (const step of stack.pending.splice(0, this.eventsPerPoll)) this.emit(stack, step);
    const all = [...stack.events].reverse();
    const start = nextToken ? all.findIndex((e) => e.EventId === nextToken) + 1 : 0;
    const page = all.slice(start, start + this.eventsPerPage);
    return { events: page, ...(start + page.length < all.length && { nextToken: page.at(-1)!.EventId }) };
  }

  private effectiveParameters(template: string, passed: PassedParameter[], previous?: Map<string, string>): Map<string, string> {
    const declared = parseTemplate(template).parameters;
    const unknown = passed.filter((p) => !declared.has(p.key)).map((p) => p.key);
    if (unknown.length) throw new CfnError('ValidationError', `Parameters: [${unknown.join(', ')}] do not exist in the template`);
    const out = new Map<string, string>();
    for (const [key, decl] of declared) {
      const p = passed.find((x) => x.key === key);
      const value = p?.usePrevious ? previous?.get(key) : (p?.value ?? decl.default);
      if (p?.usePrevious && value === undefined) throw new CfnError('ValidationError', `Invalid input for parameter key ${key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`);
      if (value === undefined) throw new CfnError('ValidationError', `Parameters: [${key}] must have values`);
      out.set(key, value);
    }
    return out;
  }

  createChangeSet(r: { stack: string; name: string; type: string; template: string; parameters: PassedParameter[]; capabilities: string[] }): FakeChangeSet {
    let stack = this.find(r.stack);
    if (r.type === 'CREATE' && stack && stack.status !== 'REVIEW_IN_PROGRESS') throw new CfnError('ValidationError', `Stack [${r.stack}] already exists and cannot be created again with the changeSet [${r.name}].`);
    if (r.type !== 'CREATE' && !stack) throw new CfnError('ValidationError', `Stack [${r.stack}] does not exist`);
    if (r.type !== 'CREATE' && !['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'].includes(stack!.status)) {
      throw new CfnError('ValidationError', `Stack:${stack!.stackId} is in ${stack!.status} state and can not be updated.`);
    }
    const t = parseTemplate(r.template);
    if (t.resources.some((x) => x.type.startsWith('AWS::IAM::')) && !r.capabilities.includes('CAPABILITY_IAM')) {
      throw new CfnError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_IAM]');
    }
    const parameters = this.effectiveParameters(r.template, r.parameters, stack?.parameters);
    stack ??= this.addStack(r.stack);
    if (this.changeSets.some((c) => c.stack === stack && c.name === r.name)) throw new CfnError('AlreadyExistsException', `ChangeSet ${r.name} already exists`);
    const changes =
      r.type === 'CREATE'
        ? parseTemplate(r.template, parameters).resources.map((x): Change => ({ action: 'Add', logicalId: x.logicalId, type: x.type }))
        : changesBetween({ template: stack.template ?? '', parameters: stack.parameters }, { template: r.template, parameters });
    const cs: FakeChangeSet = {
      id: `arn:aws:cloudformation:${this.region}:${this.account}:changeSet/${r.name}/${randomUUID()}`,
      name: r.name,
      stack,
      type: r.type === 'CREATE' ? 'CREATE' : 'UPDATE',
      status: 'CREATE_PENDING',
      executionStatus: 'UNAVAILABLE',
      template: r.template,
      parameters,
      changes,
      pollsLeft: this.changeSetPolls,
    };
    this.changeSets.push(cs);
    return cs;
  }

  changeSet(stack: string, name: string): FakeChangeSet {
    const cs = this.changeSets.find((c) => c.id === name || (c.name === name && (c.stack.name === stack || c.stack.stackId === stack)));
    if (!cs) throw new CfnError('ChangeSetNotFound', `ChangeSet [${name}] does not exist`, 404);
    return cs;
  }

  /** One DescribeChangeSet: still working for `changeSetPolls` answers, then ready or FAILED. */
  pollChangeSet(cs: FakeChangeSet): void {
    if (cs.status !== 'CREATE_PENDING' && cs.status !== 'CREATE_IN_PROGRESS') return;
    if (cs.pollsLeft-- > 0) {
      if (cs.pollsLeft < this.changeSetPolls - 1) cs.status = 'CREATE_IN_PROGRESS';
      return;
    }
    if (cs.changes.length) [cs.status, cs.executionStatus] = ['CREATE_COMPLETE', 'AVAILABLE'];
    else [cs.status, cs.reason] = ['FAILED', NO_CHANGES];
  }

  deleteChangeSet(cs: FakeChangeSet): void {
    if (cs.executionStatus === 'EXECUTE_IN_PROGRESS') throw new CfnError('InvalidChangeSetStatus', `Cannot delete ChangeSet [${cs.id}] while it is executing`);
    this.changeSets.splice(this.changeSets.indexOf(cs), 1);
  }

  private physicalId(stack: FakeStack, logicalId: string, type: string, properties: CfnNode, params: Map<string, string>): string {
    const bucket = properties.BucketName?.Ref;
    if (type === 'AWS::S3::Bucket' && typeof bucket === 'string') return params.get(bucket) ?? '';
    if (type === 'AWS::ApiGatewayV2::Api') return stack.stackId.slice(-10).replace(/-/g, 'a');
    // A distribution's id: E and 13 capitals or digits, as CloudFront names them.
    if (type === 'AWS::CloudFront::Distribution') return `E${randomUUID().replace(/-/g, '').slice(0, 13).toUpperCase()}`;
    // A queue's physical id is its URL, as SQS names it.
    if (type === 'AWS::SQS::Queue') return `https://sqs.us-east-1.amazonaws.com/123456789012/${stack.name}-${logicalId}-${randomUUID().slice(0, 8).toUpperCase()}`;
    return `${stack.name}-${logicalId}-${randomUUID().slice(0, 8).toUpperCase()}`;
  }

  /** The steps that create (or update) one resource. */
  private made(stack: FakeStack, cs: FakeChangeSet, logicalId: string, verb: 'CREATE' | 'UPDATE'): Step[] {
    const r = parseTemplate(cs.template).resources.find((x) => x.logicalId === logicalId)!;
    const start = () => {
      if (!stack.resources.has(logicalId)) stack.resources.set(logicalId, { logicalId, type: r.type, physicalId: '', status: '' });
    };
    const finish = () => {
      const res = stack.resources.get(logicalId)!;
      if (!res.physicalId) res.physicalId = this.physicalId(stack, logicalId, r.type, r.properties, cs.parameters);
      if (r.type === 'AWS::S3::Bucket') this.buckets.add(res.physicalId);
    };
    return [
      { logicalId, status: `${verb}_IN_PROGRESS`, apply: start },
      { logicalId, status: `${verb}_COMPLETE`, apply: finish },
    ];
  }

  /** Removing a resource: a Retain one stays (DELETE_SKIPPED) unless this operation made it and RetainExceptOnCreate is set. */
  private removed(stack: FakeStack, logicalId: string, retain: boolean): Step[] {
    if (retain) return [{ logicalId, status: 'DELETE_SKIPPED' }];
    // Looked up when it happens: a rollback's steps are planned before the resource exists.
    const drop = () => {
      const res = stack.resources.get(logicalId);
      if (res?.type === 'AWS::S3::Bucket' && res.physicalId) this.buckets.remove(res.physicalId);
    };
    return [{ logicalId, status: 'DELETE_IN_PROGRESS' }, { logicalId, status: 'DELETE_COMPLETE', apply: drop }];
  }

  /** `Resource.Attr` in a Sub: the attributes the template's outputs read. */
  private attribute(stack: FakeStack, name: string): string {
    const [logicalId, attr] = name.split('.');
    const r = stack.resources.get(logicalId);
    if (r?.type === 'AWS::CloudFront::Distribution' && attr === 'DomainName') return `d${r.physicalId.slice(1).toLowerCase()}.cloudfront.net`;
    throw new Error(`the fake does not know ${name}${r ? ` of ${r.type}` : ''}`);
  }

  private commit(stack: FakeStack, cs: FakeChangeSet): void {
    stack.template = cs.template;
    stack.parameters = cs.parameters;
    const t = parseTemplate(cs.template, cs.parameters);
    const pseudo: Record<string, string> = { 'AWS::Region': this.region, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': stack.name, 'AWS::AccountId': this.account, 'AWS::Partition': 'aws' };
    const lookup = (n: string) => (n.includes('.') ? this.attribute(stack, n) : (stack.resources.get(n)?.physicalId ?? cs.parameters.get(n) ?? pseudo[n]));
    stack.outputs = new Map([...t.outputs].map(([k, v]) => [k, resolveValue(v, lookup)]));
  }

  execute(cs: FakeChangeSet, retainExceptOnCreate: boolean): void {
    if (cs.executionStatus !== 'AVAILABLE') throw new CfnError('InvalidChangeSetStatus', `ChangeSet [${cs.id}] cannot be executed in its current status of [${cs.status}]`);
    cs.executionStatus = 'EXECUTE_IN_PROGRESS';
    const stack = cs.stack;
    const failure = this.failure;
    this.failure = undefined;
    const create = cs.type === 'CREATE';
    if (create) [stack.template, stack.parameters] = [cs.template, cs.parameters];
    this.emit(stack, { status: create ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS', reason: 'User Initiated' });
    const t = parseTemplate(cs.template);
    const actions = new Map(cs.changes.map((c) => [c.logicalId, c.action]));
    const order = creationOrder(t, new Set(cs.changes.filter((c) => c.action !== 'Remove').map((c) => c.logicalId)));
    const failAt = failure ? order.findIndex((r) => r.logicalId === failure.logicalId) : -1;
    const verb = (id: string) => (actions.get(id) === 'Add' ? 'CREATE' : 'UPDATE');
    const steps: Step[] = [];
    const done = failAt < 0 ? order : order.slice(0, failAt);
    for (const r of done) steps.push(...this.made(stack, cs, r.logicalId, verb(r.logicalId)));
    const oldTemplate = parseTemplate(stack.template ?? '');
    if (failAt < 0) {
      if (!create) steps.push({ status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' });
      for (const c of cs.changes.filter((x) => x.action === 'Remove')) {
        steps.push(...this.removed(stack, c.logicalId, !!oldTemplate.resources.find((x) => x.logicalId === c.logicalId)?.retain));
      }
      steps.push({ status: create ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE', apply: () => this.commit(stack, cs) });
    } else {
      steps.push(...this.failedAt(stack, cs, order, failAt, failure!.reason, verb, retainExceptOnCreate));
    }
    stack.pending = steps;
  }

  /** The failing resource, the one started beside it cancelled, then the rollback. */
  private failedAt(stack: FakeStack, cs: FakeChangeSet, order: ReturnType<typeof creationOrder>, at: number, reason: string, verb: (id: string) => 'CREATE' | 'UPDATE', retainExceptOnCreate: boolean): Step[] {
    const create = cs.type === 'CREATE';
    const failed = [order[at], ...(order[at + 1] ? [order[at + 1]] : [])];
    const steps: Step[] = failed.map((r) => ({ logicalId: r.logicalId, status: `${verb(r.logicalId)}_IN_PROGRESS`, apply: () => this.made(stack, cs, r.logicalId, verb(r.logicalId))[0].apply?.() }));
    steps.push({ logicalId: failed[0].logicalId, status: `${verb(failed[0].logicalId)}_FAILED`, reason });
    const other = failed[1] && verb(failed[1].logicalId);
    if (other) steps.push({ logicalId: failed[1].logicalId, status: `${other}_FAILED`, reason: `Resource ${other === 'CREATE' ? 'creation' : 'update'} cancelled` });
    const names = failed.map((r) => r.logicalId).join(', ');
    steps.push({ status: create ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_IN_PROGRESS', reason: `The following resource(s) failed to ${create ? 'create' : 'update'}: [${names}]. ${create ? 'Rollback requested by user.' : ''}`.trim() });
    const made = order.slice(0, at).reverse();
    for (const r of [...failed, ...made].filter((x) => verb(x.logicalId) === 'UPDATE')) steps.push({ logicalId: r.logicalId, status: 'UPDATE_IN_PROGRESS' }, { logicalId: r.logicalId, status: 'UPDATE_COMPLETE' });
    if (!create) steps.push({ status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' });
    for (const r of made.filter((x) => verb(x.logicalId) === 'CREATE')) steps.push(...this.removed(stack, r.logicalId, r.retain && !retainExceptOnCreate));
    for (const r of failed.filter((x) => verb(x.logicalId) === 'CREATE')) steps.push({ logicalId: r.logicalId, status: 'DELETE_COMPLETE' });
    steps.push({ status: create ? 'ROLLBACK_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE' });
    return steps;
  }

  /** DeleteStack: a stack with nothing in it goes at once; otherwise resource by resource, Retain ones skipped. */
  deleteStack(nameOrId: string): void {
    const stack = this.find(nameOrId);
    if (!stack || stack.status === 'DELETE_IN_PROGRESS') return; // CloudFormation answers success
    for (const cs of this.changeSets.filter((c) => c.stack === stack)) this.changeSets.splice(this.changeSets.indexOf(cs), 1);
    this.emit(stack, { status: 'DELETE_IN_PROGRESS', reason: 'User Initiated' });
    const t = parseTemplate(stack.template ?? '');
    const live = [...stack.resources.values()].filter((r) => !['DELETE_COMPLETE', 'DELETE_SKIPPED'].includes(r.status));
    const steps: Step[] = [];
    for (const r of creationOrder(t, new Set(live.map((x) => x.logicalId))).reverse()) steps.push(...this.removed(stack, r.logicalId, r.retain));
    steps.push({ status: 'DELETE_COMPLETE' });
    if (!live.length) for (const s of steps) this.emit(stack, s);
    else stack.pending = steps;
  }

  reset(): void {
    this.stacks.length = 0;
    this.changeSets.length = 0;
    this.failure = undefined;
    this.changeSetPolls = 2;
    this.changesPerPage = 100;
    this.eventsPerPoll = 4;
    this.eventsPerPage = 100;
  }
}
