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
