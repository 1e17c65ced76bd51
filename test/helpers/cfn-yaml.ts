// A CloudFormation template read by a YAML parser (the `yaml` package), its short forms read as
// CloudFormation reads them: `!Ref X` is `{ Ref: X }`, `!GetAtt A.B` is `{ 'Fn::GetAtt': [A, B] }`,
// `!Sub '…'` is `{ 'Fn::Sub': '…' }`, and so on. One reader for every test of the template.
import YAML from 'yaml';

export type CfnNode = Record<string, any>;

const SHORT_FORMS = ['Ref', 'Sub', 'GetAtt', 'Join', 'If', 'Select', 'Split', 'Equals', 'Not', 'And', 'Or', 'Condition', 'FindInMap', 'GetAZs', 'ImportValue', 'Base64', 'Cidr'];
const longForm = (t: string) => (t === 'Ref' || t === 'Condition' ? t : `Fn::${t}`);

/** The `customTags` that make `yaml` read CloudFormation's short forms as their long forms. */
const CFN_TAGS = SHORT_FORMS.flatMap((t) => [
  { tag: `!${t}`, resolve: (value: unknown) => ({ [longForm(t)]: t === 'GetAtt' && typeof value === 'string' ? value.split('.') : value }) },
  { tag: `!${t}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [longForm(t)]: seq.toJSON() }) },
  { tag: `!${t}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [longForm(t)]: map.toJSON() }) },
]);

export const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::Partition', 'AWS::Region', 'AWS::StackName', 'AWS::URLSuffix', 'AWS::StackId', 'AWS::NoValue'];

export function parseCfnYaml(text: string): CfnNode {
  return YAML.parse(text, { customTags: CFN_TAGS }) as CfnNode;
}

/** Every object in `v`, depth first, `v` itself first. */
export function walk(v: unknown, visit: (o: CfnNode) => void): void {
  if (v && typeof v === 'object') {
    visit(v as CfnNode);
    for (const x of Object.values(v)) walk(x, visit);
  }
}

/** The names a `Fn::Sub` string refers to: `${X}` and `${X.Attr}` give X; `${!Literal}` none. */
export function subNames(template: string): string[] {
  return [...template.matchAll(/\$\{([^}!][^}]*)\}/g)].map((m) => m[1].split('.')[0]);
}

/** The names a node refers to: Ref, GetAtt and Sub (minus a Sub's own variables), and DependsOn. */
export function referencesIn(node: unknown): Set<string> {
  const refs = new Set<string>();
  walk(node, (o) => {
    if (typeof o.Ref === 'string') refs.add(o.Ref);
    if (Array.isArray(o['Fn::GetAtt'])) refs.add(String(o['Fn::GetAtt'][0]));
    const sub = o['Fn::Sub'];
    const [text, vars] = Array.isArray(sub) ? [sub[0], sub[1] ?? {}] : [sub, {}];
    if (typeof text === 'string') for (const n of subNames(text)) if (!(n in vars)) refs.add(n);
  });
  const dependsOn = (node as CfnNode | undefined)?.DependsOn;
  for (const d of [dependsOn ?? []].flat()) refs.add(String(d));
  return refs;
}

/**
 * The template as CloudFormation would read it for these parameter values (the rest at their
 * Default): every condition decided, `Fn::If` replaced by its branch, `AWS::NoValue` dropped, a
 * `Ref` to a parameter replaced by its value as a string (as CloudFormation passes Number
 * parameters on). Other references stay as they are.
 */
export function resolveFor(t: CfnNode, given: Record<string, string>): CfnNode {
  const params: Record<string, string> = Object.fromEntries(Object.entries(t.Parameters as CfnNode).map(([k, p]) => [k, given[k] ?? (p.Default === undefined ? '' : String(p.Default))]));
  const conditions = new Map<string, boolean>();
  const value = (v: unknown): unknown => (v && typeof v === 'object' && 'Ref' in v && String((v as CfnNode).Ref) in params ? params[(v as CfnNode).Ref] : v);
  const decide = (c: CfnNode): boolean => {
    if ('Condition' in c) return condition(c.Condition);
    if ('Fn::Equals' in c) return String(value(c['Fn::Equals'][0])) === String(value(c['Fn::Equals'][1]));
    if ('Fn::Not' in c) return !decide(c['Fn::Not'][0]);
    if ('Fn::And' in c) return (c['Fn::And'] as CfnNode[]).every(decide);
    if ('Fn::Or' in c) return (c['Fn::Or'] as CfnNode[]).some(decide);
    throw new Error(`a condition this reader does not know: ${JSON.stringify(c)}`);
  };
  const condition = (name: string): boolean => {
    if (!conditions.has(name)) conditions.set(name, decide(t.Conditions[name]));
    return conditions.get(name)!;
  };
  const NO_VALUE = Symbol('AWS::NoValue');
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve).filter((x) => x !== NO_VALUE);
    if (!v || typeof v !== 'object') return v;
    const o = v as CfnNode;
    if (o.Ref === 'AWS::NoValue') return NO_VALUE;
    if (typeof o.Ref === 'string' && o.Ref in params) return params[o.Ref];
    if ('Fn::If' in o) return resolve(condition(o['Fn::If'][0]) ? o['Fn::If'][1] : o['Fn::If'][2]);
    const out: CfnNode = {};
    for (const [k, x] of Object.entries(o)) {
      const r = resolve(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  };
  const resources = Object.fromEntries(Object.entries(t.Resources as CfnNode).filter(([, r]) => !r.Condition || condition(r.Condition)).map(([k, r]) => [k, resolve(r)]));
  return { ...t, Resources: resources };
}
