// Just enough of a CloudFormation template for the fake to act on: parameters (defaults,
// NoEcho), resources (type, DeletionPolicy, what each refers to), outputs; read from the YAML
// text by indentation, with references found by scanning for !Ref X, !GetAtt X.Y and ${X}.
export interface TemplateParameter {
  default?: string;
  noEcho: boolean;
}

export interface TemplateResource {
  logicalId: string;
  type: string;
  /** The resource's own lines, to compare two templates resource by resource. */
  block: string;
  retain: boolean;
  /** Names it refers to (resources and parameters alike). */
  refs: Set<string>;
}

export interface ParsedTemplate {
  parameters: Map<string, TemplateParameter>;
  resources: TemplateResource[];
  /** Output key → its Value expression, as written. */
  outputs: Map<string, string>;
}

/** Top-level key → the entries under it (two-space keys) with their lines. */
function sections(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  let entry: string[] | undefined;
  for (const line of text.split('\n')) {
    const top = /^([A-Za-z]\w*):/.exec(line);
    if (top) {
      section = new Map();
      out.set(top[1], section);
      entry = undefined;
      continue;
    }
    const key = /^ {2}([A-Za-z]\w*):\s*$/.exec(line);
    if (key && section) section.set(key[1], (entry = []));
    else entry?.push(line);
  }
  return out;
}

const unquote = (s: string) => s.trim().replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
const field = (lines: string[], name: string) => lines.map((l) => new RegExp(`^ {4}${name}:\\s*(.*)$`).exec(l)?.[1]).find((v) => v !== undefined);

function refsIn(text: string): Set<string> {
  const refs = new Set<string>();
  for (const m of text.matchAll(/!Ref\s+([A-Za-z][\w]*)/g)) refs.add(m[1]);
  for (const m of text.matchAll(/!GetAtt\s+([A-Za-z]\w*)\./g)) refs.add(m[1]);
  for (const m of text.matchAll(/\$\{([A-Za-z]\w*)(\.\w+)?\}/g)) refs.add(m[1]);
  const dependsOn = /^ {4}DependsOn:\s*\[?([^\]\n]*)\]?$/m.exec(text);
  for (const d of dependsOn?.[1].split(',') ?? []) if (d.trim()) refs.add(d.trim());
  return refs;
}

export function parseTemplate(text: string): ParsedTemplate {
  const s = sections(text);
  const parameters = new Map<string, TemplateParameter>();
  for (const [name, lines] of s.get('Parameters') ?? []) {
    const d = field(lines, 'Default');
    parameters.set(name, { ...(d !== undefined && { default: unquote(d) }), noEcho: field(lines, 'NoEcho') === 'true' });
  }
  const resources: TemplateResource[] = [];
  for (const [logicalId, lines] of s.get('Resources') ?? []) {
    const block = lines.join('\n');
    resources.push({ logicalId, type: field(lines, 'Type') ?? '?', block, retain: field(lines, 'DeletionPolicy') === 'Retain', refs: refsIn(block) });
  }
  const outputs = new Map<string, string>();
  for (const [key, lines] of s.get('Outputs') ?? []) outputs.set(key, field(lines, 'Value') ?? '');
  return { parameters, resources, outputs };
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

/** Resolve !Ref X / !Sub '…${X}…' against physical ids, parameters and pseudo parameters. */
export function resolveValue(expr: string, lookup: (name: string) => string | undefined): string {
  const ref = /^!Ref\s+([\w:]+)$/.exec(expr.trim());
  if (ref) return lookup(ref[1]) ?? '';
  const sub = /^!Sub\s+(.*)$/.exec(expr.trim());
  if (sub) return unquote(sub[1]).replace(/\$\{([\w:]+)\}/g, (_, n: string) => lookup(n) ?? '');
  return unquote(expr);
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
  const old = parseTemplate(before.template);
  const next = parseTemplate(after.template);
  const changedParams = new Set([...next.parameters.keys()].filter((k) => before.parameters.get(k) !== after.parameters.get(k)));
  const changes: Change[] = [];
  for (const r of next.resources) {
    const was = old.resources.find((o) => o.logicalId === r.logicalId);
    if (!was) changes.push({ action: 'Add', logicalId: r.logicalId, type: r.type });
    else if (was.block !== r.block || [...r.refs].some((x) => changedParams.has(x))) changes.push({ action: 'Modify', logicalId: r.logicalId, type: r.type, replacement: 'False' });
  }
  for (const o of old.resources) if (!next.resources.some((r) => r.logicalId === o.logicalId)) changes.push({ action: 'Remove', logicalId: o.logicalId, type: o.type });
  return changes;
}
