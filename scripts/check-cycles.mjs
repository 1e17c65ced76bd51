#!/usr/bin/env node
// No import cycles, run in CI (test/import-graph.test.ts).
//
//   node scripts/check-cycles.mjs [--root DIR]
//
// Builds the import graph of every .ts file under src/, lambda/ and
// packages/*/src/ of the root (default: the repository), skipping dist,
// node_modules and .d.ts files, and prints each cycle in it.
//
// An edge is any relative specifier a file names: `import … from`,
// `export … from`, `import type`, a side-effect `import '…'`, `import('…')`
// and the type `import('…').T`. Type-only and lazy imports count too: the
// rule is that dependencies point one way, down, and a type that two modules
// take from each other ties them as surely as a value does (it is also how a
// cycle starts: the next change turns the type import into a value one).
// `./x.js` resolves to `./x.ts` (or `./x/index.ts`); bare specifiers
// (`sharp`, `@imgpipe/local-s3`, `node:fs`) are other packages and no edge.
//
// A cycle is printed as `a.ts -> b.ts -> a.ts`, one line each, every
// elementary cycle of each tangle (up to MAX_CYCLES_PER_TANGLE of them).
// Exits 1 if there is any cycle, 0 otherwise, 2 on a bad invocation.

import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { parseArgs, sourceDirs, walk } from './source-files.mjs';

const MAX_CYCLES_PER_TANGLE = 20;

/** Every module specifier the file names, whatever the kind of import. */
function specifiersOf(path) {
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) found.push(expr.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The file a relative specifier names, or undefined for a package or a file outside the scan. */
function resolveSpecifier(from, specifier, known) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, (_, k) => `.${k ?? ''}ts`), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => known.has(c));
}

function buildGraph(files) {
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const targets = new Set();
    for (const specifier of specifiersOf(file)) {
      const target = resolveSpecifier(file, specifier, known);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Tarjan's strongly connected components: each tangle of files that reach one another. */
function tangles(graph) {
  let index = 0;
  const indexOf = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const connect = (v) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!indexOf.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), indexOf.get(w)));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = component.length === 1 && graph.get(v).includes(v);
      if (component.length > 1 || selfLoop) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) connect(v);
  return out;
}

/** The elementary cycles of one tangle, each starting at its smallest file, up to `limit`. */
function cyclesOf(component, graph, limit) {
  const members = new Set(component);
  const cycles = [];
  for (const start of component) {
    const path = [start];
    const onPath = new Set(path);
    const extend = (v) => {
      for (const w of graph.get(v)) {
        if (cycles.length >= limit || !members.has(w) || w < start) continue;
        if (w === start) cycles.push([...path, start]);
        else if (!onPath.has(w)) {
          path.push(w);
          onPath.add(w);
          extend(w);
          path.pop();
          onPath.delete(w);
        }
      }
    };
    extend(start);
  }
  return cycles;
}

function main() {
  const { opts: { root }, usage } = parseArgs(process.argv.slice(2), { script: 'check-cycles', usageLine: 'node scripts/check-cycles.mjs [--root DIR]' });
  const dirs = sourceDirs(root);
  // A mistyped --root must not pass by checking nothing.
  if (dirs.length === 0) usage(`no src/, lambda/ or packages/*/src/ under ${root}`);
  const files = dirs.flatMap((dir) => walk(dir)).sort();
  const graph = buildGraph(files);
  const rel = (p) => relative(root, p).split('\\').join('/');
  const found = tangles(graph);
  let printed = 0;
  for (const component of found) {
    const cycles = cyclesOf(component, graph, MAX_CYCLES_PER_TANGLE);
    for (const cycle of cycles) console.log(cycle.map(rel).join(' -> '));
    printed += cycles.length;
    if (cycles.length >= MAX_CYCLES_PER_TANGLE) console.log(`  … and more among ${component.map(rel).join(', ')}`);
  }
  const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
  console.log(
    `check-cycles: ${files.length} files, ${edges} imports; ` +
      (found.length === 0 ? 'no cycles — OK' : `${printed} cycle(s) in ${found.length} tangle(s)`),
  );
  process.exitCode = found.length > 0 ? 1 : 0;
}

main();
