// Just enough of a CloudFormation template for the fake to act on: parameters (defaults,
// NoEcho), conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or on parameters), resources (type,
// DeletionPolicy, condition, what each refers to), outputs; parsed as YAML by
// test/helpers/cfn-yaml.ts (the reader the template's own tests use), references read from the
// parsed Ref, Fn::GetAtt, Fn::Sub and DependsOn.
import { parseCfnYaml, referencesIn, walk, type CfnNode } from './cfn-yaml.js';

export interface TemplateParameter {
  default?: string;
  noEcho: boolean;
}

export interface TemplateResource {
  logicalId: string;
  type: string;
  /** The parsed resource as JSON: two templates differ at a resource when this does. */
  json: string;
  /** Its Properties, parsed (short forms read as long forms). */
  properties: CfnNode;
  retain: boolean;
  /** Names it refers to (resources and parameters alike, and the parameters of the conditions its Fn::If use). */
  refs: Set<string>;
  /** Its Condition: it exists only while that holds. */
  condition?: string;
}

export interface ParsedTemplate {
  parameters: Map<string, TemplateParameter>;
  resources: TemplateResource[];
  /** Output key → its Value, parsed (`{ Ref }`, `{ 'Fn::Sub' }` or a plain value). */
  outputs: Map<string, unknown>;
  /** Output key → its Condition, for those that have one. */
  outputConditions: Map<string, string>;
  /** Condition name → its parsed expression. */
  conditions: Map<string, unknown>;
}

const entries = (node: unknown): [string, CfnNode][] => Object.entries((node ?? {}) as Record<string, CfnNode>);

/**
 * The template as a stack with these parameter values runs it: resources and outputs whose
 * Condition is false are left out (without values, every resource and output is kept).
 */
export function parseTemplate(text: string, values?: Map<string, string>): ParsedTemplate {
  const all = parseAll(text);
  if (!values) return all;
  const holds = (c: string | undefined) => c === undefined || evalCondition(all.conditions, c, values);
  return {
    ...all,
    resources: all.resources.filter((r) => holds(r.condition)),
    outputs: new Map([...all.outputs].filter(([k]) => holds(all.outputConditions.get(k)))),
  };
}

/** A condition's value: Fn::Equals of parameters and strings, Fn::Not, Fn::And, Fn::Or, Condition. */
function evalCondition(conditions: Map<string, unknown>, name: string, values: Map<string, string>): boolean {
  const value = (v: unknown): string => {
    const n = v as CfnNode;
    if (n && typeof n === 'object' && typeof n.Ref === 'string') return values.get(n.Ref) ?? '';
    if (n && typeof n === 'object') throw new Error(`the fake cannot compare ${JSON.stringify(n)}`);
    return String(v);
  };
  const test = (e: unknown): boolean => {
    const n = e as CfnNode;
    if (typeof n.Condition === 'string') return evalCondition(conditions, n.Condition, values);
    if (n['Fn::Equals']) return value(n['Fn::Equals'][0]) === value(n['Fn::Equals'][1]);
    if (n['Fn::Not']) return !test(n['Fn::Not'][0]);
    if (n['Fn::And']) return (n['Fn::And'] as unknown[]).every(test);
    if (n['Fn::Or']) return (n['Fn::Or'] as unknown[]).some(test);
    throw new Error(`the fake cannot evaluate ${JSON.stringify(n)}`);
  };
  if (!conditions.has(name)) throw new Error(`no condition ${name}`);
  return test(conditions.get(name));
}

/** The parameters a condition depends on. */
function conditionParameters(conditions: Map<string, unknown>, name: string): string[] {
  const out: string[] = [];
  walk(conditions.get(name), (o) => {
    if (typeof o.Ref === 'string') out.push(o.Ref);
    if (typeof o.Condition === 'string') out.push(...conditionParameters(conditions, o.Condition));
  });
  return out;
}

function parseAll(text: string): ParsedTemplate {
  const t = parseCfnYaml(text) ?? {};
  const conditions = new Map<string, unknown>(entries(t.Conditions));
  // A resource whose Fn::If turns on a condition changes when that condition's parameters do.
  const conditionRefs = (r: unknown): string[] => {
    const out: string[] = [];
    walk(r, (o) => {
      if (Array.isArray(o['Fn::If'])) out.push(...conditionParameters(conditions, String(o['Fn::If'][0])));
    });
    return out;
  };
  const parameters = new Map<string, TemplateParameter>();
  for (const [name, p] of entries(t.Parameters)) {
    // CloudFormation takes every parameter value as a string: `Default: 30` is "30".
    parameters.set(name, { ...(p.Default !== undefined && { default: String(p.Default) }), noEcho: String(p.NoEcho) === 'true' });
  }
  const resources = entries(t.Resources).map(([logicalId, r]): TemplateResource => ({
    logicalId,
    type: typeof r.Type === 'string' ? r.Type : '?',
    json: JSON.stringify(r),
    properties: (r.Properties ?? {}) as CfnNode,
    retain: r.DeletionPolicy === 'Retain',
    refs: new Set([...referencesIn(r), ...conditionRefs(r)]),
    ...(typeof r.Condition === 'string' && { condition: r.Condition }),
  }));
  const outputs = new Map<string, unknown>(entries(t.Outputs).map(([key, o]) => [key, o.Value]));
  const outputConditions = new Map(entries(t.Outputs).flatMap(([key, o]) => (typeof o.Condition === 'string' ? [[key, o.Condition as string] as const] : [])));
  return { parameters, resources, outputs, outputConditions, conditions };
}

/** Creation order: each resource after those it refers to, template order otherwise (CloudFormation runs independent ones in parallel). */
export function creationOrder(t: ParsedTemplate, only?: Set<string>): TemplateResource[] {
  const names = new Set(t.resources.map((r) => r.logicalId));
  const left = t.resources.filter((r) => !only || only.has(r.logicalId));
  const done = new Set<string>();
  const order: TemplateResource[] = [];
  while (left.length) {
    const i = left.findIndex((r) => [...r.refs].every((x) => !names.has(x) || x === r.logicalId || done.has(x) || !left.some((l) => l.logicalId === x)));
    if (i < 0) throw new Error(`circular references among ${left.map((r) => r.logicalId).join(', ')}`);
    const [r] = left.splice(i, 1);
    done.add(r.logicalId);
    order.push(r);
  }
  return order;
}

/** Resolve `{ Ref: X }` / `{ 'Fn::Sub': '…${X}…${X.Attr}…' }` against physical ids, attributes, parameters and pseudo parameters. */
export function resolveValue(value: unknown, lookup: (name: string) => string | undefined): string {
  const v = value as CfnNode | undefined;
  if (v && typeof v === 'object') {
    if (typeof v.Ref === 'string') return lookup(v.Ref) ?? '';
    if (typeof v['Fn::Sub'] === 'string') return (v['Fn::Sub'] as string).replace(/\$\{([\w:.]+)\}/g, (_, n: string) => lookup(n) ?? '');
    throw new Error(`the fake cannot resolve ${JSON.stringify(v)}`);
  }
  return value === undefined ? '' : String(value);
}

export interface Change {
  action: 'Add' | 'Modify' | 'Remove';
  logicalId: string;
  type: string;
  replacement?: 'False';
}

/**
 * What an update would change: resources added or removed, resources whose text differs, and
 * resources that refer to a parameter whose value changes (Modify, no replacement).
 */
export function changesBetween(before: { template: string; parameters: Map<string, string> }, after: { template: string; parameters: Map<string, string> }): Change[] {
  const old = parseTemplate(before.template, before.parameters);
  const next = parseTemplate(after.template, after.parameters);
  const changedParams = new Set([...next.parameters.keys()].filter((k) => before.parameters.get(k) !== after.parameters.get(k)));
  const changes: Change[] = [];
  for (const r of next.resources) {
    const was = old.resources.find((o) => o.logicalId === r.logicalId);
    if (!was) changes.push({ action: 'Add', logicalId: r.logicalId, type: r.type });
    else if (was.json !== r.json || [...r.refs].some((x) => changedParams.has(x))) changes.push({ action: 'Modify', logicalId: r.logicalId, type: r.type, replacement: 'False' });
  }
  for (const o of old.resources) if (!next.resources.some((r) => r.logicalId === o.logicalId)) changes.push({ action: 'Remove', logicalId: o.logicalId, type: o.type });
  return changes;
}
