#!/usr/bin/env node
// Every exported name has an importer that is not a test, run in CI
// (test/exports-used.test.ts).
//
//   node scripts/check-exports.mjs [--root DIR]
//
// Lists each name exported by a .ts file under src/, lambda/ or
// packages/*/src/ of the root (default: the repository; dist, node_modules and
// .d.ts skipped) that no other file of the product imports. Tests do not count:
// a name only a test imports is dead code with a test holding it up. An export
// used only in its own file needs no `export`.
//
// What counts as an importer: the scanned files themselves, and the .js/.mjs
// files under bin/, bench/, scripts/ and examples/ (they import the built
// `dist/…` files, or `imgpipe/<subpath>` through package.json's `exports`,
// which stand for their sources here). What counts as used without an
// importer, being an entry point some other program calls:
//   - `handler` in a lambda/*.ts file (the Lambda runtime calls `index.handler`);
//   - everything packages/<name>/src/index.ts exports (the package's public face,
//     imported as `@imgpipe/<name>` or by its package name), and everything a file
//     the root package.json's `exports` names exports (`imgpipe`, `imgpipe/lambda/…`).
// A re-export (`export { a } from`, `export *`, `import { a } …; export { a }`)
// is used if its own name is; then what it forwards is used too.
// An exported type (interface or type alias) is used if a used export of its
// file names it in its declaration (directly, or through the file's own
// unexported declarations): `PutOptions` is part of `putObject`, and a caller
// that passes `{ … }` uses it without naming it.
// `import * as ns`, and an `import('…')` whose names cannot be read off a
// destructuring, count as using every export of the file.
//
// Prints `path:line  name`, one a line; exits 1 if any, 0 if none, 2 on a bad
// invocation.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { isDir, isScript, isSource, parseArgs, SKIP_DIRS, walk } from './source-files.mjs';

const ALL = '*';

/** packages/<dir>: its package name and its src/ folder. */
function packagesOf(root) {
  const dir = join(root, 'packages');
  if (!isDir(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !SKIP_DIRS.has(e.name) && isDir(join(dir, e.name, 'src')))
    .map((e) => {
      let name;
      try {
        name = JSON.parse(readFileSync(join(dir, e.name, 'package.json'), 'utf8')).name;
      } catch {
        name = undefined;
      }
      return { name, dir: join(dir, e.name), src: join(dir, e.name, 'src') };
    });
}

/** The root package.json's name and `exports` map (empty when it has none). */
function rootExports(root) {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    return { name: pkg.name, map: pkg.exports && typeof pkg.exports === 'object' ? pkg.exports : {} };
  } catch {
    return { name: undefined, map: {} };
  }
}

/** Resolves a specifier to a scanned file; built paths (`dist/…`) stand for their sources. */
function makeResolver(root, packages, known) {
  const asSource = (abs) => {
    const candidates = [];
    const add = (p) => candidates.push(p.replace(/\.(m|c)?js$/, (_, k) => `.${k ?? ''}ts`), p, `${p}.ts`, join(p, 'index.ts'));
    add(abs);
    const rel = relative(root, abs);
    if (rel.startsWith(`dist${sep}`)) add(join(root, rel.slice(`dist${sep}`.length)));
    for (const pkg of packages) {
      const inPkg = relative(pkg.dir, abs);
      if (inPkg.startsWith(`dist${sep}`)) add(join(pkg.src, inPkg.slice(`dist${sep}`.length)));
    }
    return candidates.find((c) => known.has(c));
  };
  // The root package's own subpaths (`imgpipe/upload`), as package.json's `exports` maps them.
  const self = rootExports(root);
  return (from, specifier) => {
    const sub = specifier === self.name ? '.' : self.name && specifier.startsWith(`${self.name}/`) ? `./${specifier.slice(self.name.length + 1)}` : undefined;
    const own = sub && self.map[sub];
    if (typeof own === 'string') return asSource(join(root, own));
    const pkg = packages.find((p) => p.name && specifier === p.name);
    if (pkg) return asSource(join(pkg.src, 'index.ts'));
    if (specifier.startsWith('./') || specifier.startsWith('../')) return asSource(resolve(dirname(from), specifier));
    // `path.join(ROOT, 'dist/src/…')` in bench/ and scripts/.
    if (/^(dist|src|lambda|packages)\//.test(specifier)) return asSource(join(root, specifier));
    return undefined;
  };
}

function bindingNames(name, out = []) {
  if (ts.isIdentifier(name)) out.push(name.text);
  else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, out);
  return out;
}

/** Names taken from `const { a, b: c } = await import(…)` or one element of `await Promise.all([import(…), …])`. */
function namesDestructured(call) {
  let node = call;
  let index;
  if (ts.isArrayLiteralExpression(node.parent)) {
    index = node.parent.elements.indexOf(node);
    node = node.parent;
    const all = node.parent;
    if (!all || !ts.isCallExpression(all) || !/^Promise\.all(Settled)?$/.test(all.expression.getText())) return undefined;
    node = all;
  }
  if (!node.parent || !ts.isAwaitExpression(node.parent)) return undefined;
  const decl = node.parent.parent;
  if (!decl || !ts.isVariableDeclaration(decl)) return undefined;
  let pattern = decl.name;
  if (index !== undefined) {
    if (!ts.isArrayBindingPattern(pattern)) return undefined;
    const el = pattern.elements[index];
    if (!el || ts.isOmittedExpression(el)) return [];
    pattern = el.name;
  }
  if (!ts.isObjectBindingPattern(pattern)) return undefined;
  const names = [];
  for (const el of pattern.elements) {
    if (el.dotDotDotToken) return undefined;
    const key = el.propertyName ?? el.name;
    if (!ts.isIdentifier(key) && !ts.isStringLiteral(key)) return undefined;
    names.push(key.text);
  }
  return names;
}

/** The file's own exports, its re-exports, and the names it takes from other files. */
function readFile(path, resolveSpec) {
  const kind = isSource(path) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, kind);
  const lineOf = (node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const exports = new Map(); // name -> line
  const forwards = []; // { name, target, from } ; name '*' = export *
  const uses = []; // { target, name }
  const imported = new Map(); // local name -> { target, name }
  const localExports = []; // export { a as b } with no from: { local, name, line }
  const types = new Set(); // exported names that are interfaces or type aliases
  const mentions = new Map(); // top-level declared name -> identifiers its declaration names
  const mention = (names, node) => {
    const ids = new Set();
    const collect = (n) => {
      if (ts.isIdentifier(n)) ids.add(n.text);
      ts.forEachChild(n, collect);
    };
    collect(node);
    for (const name of names) mentions.set(name, new Set([...(mentions.get(name) ?? []), ...ids]));
  };

  const hasExport = (node) => ts.getModifiers?.(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const hasDefault = (node) => ts.getModifiers?.(node)?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);

  for (const stmt of sf.statements) {
    if (ts.isVariableStatement(stmt)) mention(stmt.declarationList.declarations.flatMap((d) => bindingNames(d.name)), stmt);
    else if (!ts.isImportDeclaration(stmt) && !ts.isExportDeclaration(stmt) && stmt.name && ts.isIdentifier(stmt.name)) {
      mention([hasExport(stmt) && hasDefault(stmt) ? 'default' : stmt.name.text], stmt);
      if (hasExport(stmt) && (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt))) types.add(stmt.name.text);
    }
    if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
      const target = resolveSpec(path, stmt.moduleSpecifier.text);
      const clause = stmt.importClause;
      if (!target || !clause) continue;
      if (clause.name) {
        uses.push({ target, name: 'default' });
        imported.set(clause.name.text, { target, name: 'default' });
      }
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) uses.push({ target, name: ALL });
      else if (bindings) {
        for (const el of bindings.elements) {
          const name = (el.propertyName ?? el.name).text;
          uses.push({ target, name });
          imported.set(el.name.text, { target, name });
        }
      }
    } else if (ts.isExportDeclaration(stmt)) {
      const target = stmt.moduleSpecifier && ts.isStringLiteral(stmt.moduleSpecifier) ? resolveSpec(path, stmt.moduleSpecifier.text) : undefined;
      const clause = stmt.exportClause;
      if (!clause) {
        if (target) forwards.push({ name: ALL, target, from: ALL });
      } else if (ts.isNamespaceExport(clause)) {
        exports.set(clause.name.text, lineOf(stmt));
        if (target) forwards.push({ name: clause.name.text, target, from: ALL });
      } else {
        for (const el of clause.elements) {
          const name = el.name.text;
          const from = (el.propertyName ?? el.name).text;
          exports.set(name, lineOf(el));
          if (stmt.moduleSpecifier) {
            if (target) forwards.push({ name, target, from });
          } else localExports.push({ local: from, name });
        }
      }
    } else if (ts.isExportAssignment(stmt)) {
      if (!stmt.isExportEquals) exports.set('default', lineOf(stmt));
    } else if (hasExport(stmt)) {
      if (hasDefault(stmt)) exports.set('default', lineOf(stmt));
      else if (ts.isVariableStatement(stmt)) {
        for (const decl of stmt.declarationList.declarations) for (const n of bindingNames(decl.name)) exports.set(n, lineOf(decl));
      } else if (stmt.name) exports.set(stmt.name.text, lineOf(stmt));
    }
  }
  for (const { local, name } of localExports) {
    const source = imported.get(local);
    if (source) forwards.push({ name, target: source.target, from: source.name });
  }

  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      let spec;
      if (arg && ts.isStringLiteralLike(arg)) spec = arg.text;
      // import(path.join(ROOT, 'dist/src/…')) and the like: the literal that names a built file.
      else if (arg && ts.isCallExpression(arg)) spec = arg.arguments.find((a) => ts.isStringLiteralLike(a) && /dist\//.test(a.text))?.text;
      const target = spec && resolveSpec(path, spec);
      if (target) for (const name of namesDestructured(node) ?? [ALL]) uses.push({ target, name });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const target = resolveSpec(path, node.argument.literal.text);
      if (target) {
        let q = node.qualifier;
        while (q && ts.isQualifiedName(q)) q = q.left;
        uses.push({ target, name: q ? q.text : ALL });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { exports, forwards, uses, types, mentions };
}

/** The exported types a used name's declaration names, through the file's unexported declarations. */
function typesNamedBy(file, name) {
  const found = [];
  const seen = new Set([name]);
  const queue = [name];
  while (queue.length > 0) {
    for (const id of file.mentions.get(queue.pop()) ?? []) {
      if (seen.has(id)) continue;
      seen.add(id);
      if (file.types.has(id)) found.push(id);
      else if (file.mentions.has(id) && !file.exports.has(id)) queue.push(id);
    }
  }
  return found;
}

function main() {
  const { opts: { root }, usage } = parseArgs(process.argv.slice(2), { script: 'check-exports', usageLine: 'node scripts/check-exports.mjs [--root DIR]' });
  const packages = packagesOf(root);
  const dirs = [join(root, 'src'), join(root, 'lambda'), ...packages.map((p) => p.src)].filter(isDir);
  // A mistyped --root must not pass by checking nothing.
  if (dirs.length === 0) usage(`no src/, lambda/ or packages/*/src/ under ${root}`);
  const sources = dirs.flatMap((dir) => walk(dir, isSource, [])).sort();
  const scripts = ['bin', 'bench', 'scripts', 'examples'].flatMap((dir) => walk(join(root, dir), isScript, [])).sort();
  const resolveSpec = makeResolver(root, packages, new Set(sources));
  const files = new Map([...sources, ...scripts].map((p) => [p, readFile(p, resolveSpec)]));

  const used = new Map(sources.map((p) => [p, new Set()]));
  const pending = [];
  const use = (target, name) => {
    const names = used.get(target);
    if (names && !names.has(name)) {
      names.add(name);
      pending.push([target, name]);
    }
  };
  for (const [path, file] of files) for (const { target, name } of file.uses) if (target !== path) use(target, name);
  for (const path of sources) {
    const rel = relative(root, path).split(sep);
    if (rel[0] === 'lambda' && rel.length === 2) use(path, 'handler');
  }
  for (const pkg of packages) if (files.has(join(pkg.src, 'index.ts'))) use(join(pkg.src, 'index.ts'), ALL);
  // The root package's entry points (package.json's `exports`) are its public face too.
  const self = rootExports(root);
  for (const sub of Object.keys(self.map)) {
    const entry = resolveSpec(join(root, 'package.json'), sub === '.' ? self.name : `${self.name}/${sub.slice(2)}`);
    if (entry) use(entry, ALL);
  }

  // A used re-export uses what it forwards.
  while (pending.length > 0) {
    const [path, name] = pending.pop();
    const file = files.get(path);
    if (name !== ALL) for (const type of typesNamedBy(file, name)) use(path, type);
    for (const f of file.forwards) {
      if (f.name === ALL) {
        // `export *` forwards every name the file does not declare itself.
        if (name === ALL) use(f.target, ALL);
        else if (!file.exports.has(name)) use(f.target, name);
      } else if (name === ALL || name === f.name) use(f.target, f.from);
    }
  }

  const unused = [];
  for (const path of sources) {
    const names = used.get(path);
    if (names.has(ALL)) continue;
    for (const [name, line] of files.get(path).exports) if (!names.has(name)) unused.push(`${relative(root, path).split(sep).join('/')}:${line}  ${name}`);
  }
  for (const line of unused) console.log(line);
  console.log(
    `check-exports: ${sources.length} files, ${scripts.length} scripts; ` +
      (unused.length === 0 ? 'every export has an importer — OK' : `${unused.length} export(s) nothing but a test imports`),
  );
  process.exitCode = unused.length > 0 ? 1 : 0;
}

main();
