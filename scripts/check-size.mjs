#!/usr/bin/env node
// Code-size bars, run in CI: no source file over 400 lines, no function over 80.
//
//   node scripts/check-size.mjs [--root DIR] [--top N]
//
// Scans every .ts file under src/, lambda/ and packages/*/src/ of the root
// (default: the repository), skipping dist, node_modules and .d.ts files.
// A function's size is its own span, first line to last; nested functions
// count inside their parent and are also measured on their own.
// Exits 1 on any violation, 0 otherwise.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';
import { parseArgs, sourceDirs, walk } from './source-files.mjs';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;
const { opts: ARGS, usage } = parseArgs(process.argv.slice(2), {
  script: 'check-size',
  usageLine: 'node scripts/check-size.mjs [--root DIR] [--top N]',
  defaults: { top: 0 },
  flags: {
    '--top': (v, opts, bad) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) bad('--top takes a non-negative integer');
      opts.top = n;
    },
  },
});

function propertyName(name, sf) {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText(sf);
}

// `a.b(x => …).c` for a callback passed to c: the chain without its arguments.
function calleeLabel(expr, sf) {
  if (ts.isIdentifier(expr) || ts.isPrivateIdentifier(expr) || expr.kind === ts.SyntaxKind.ThisKeyword) return expr.getText(sf);
  if (ts.isPropertyAccessExpression(expr)) return `${calleeLabel(expr.expression, sf)}.${expr.name.text}`;
  if (ts.isCallExpression(expr)) return `${calleeLabel(expr.expression, sf)}(…)`;
  if (ts.isNonNullExpression(expr) || ts.isParenthesizedExpression(expr)) return calleeLabel(expr.expression, sf);
  return '…';
}

// Anonymous functions take the name of what they are bound to, if anything.
function functionName(node, sf) {
  const className = () => {
    const cls = node.parent;
    return cls && (ts.isClassDeclaration(cls) || ts.isClassExpression(cls)) && cls.name ? cls.name.text : '<class>';
  };
  if (ts.isConstructorDeclaration(node)) return `${className()}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
    const prefix = ts.isGetAccessorDeclaration(node) ? 'get ' : ts.isSetAccessorDeclaration(node) ? 'set ' : '';
    const name = propertyName(node.name, sf);
    const parent = node.parent;
    const owner = parent && (ts.isClassDeclaration(parent) || ts.isClassExpression(parent)) ? `${className()}.` : '';
    return `${prefix}${owner}${name}`;
  }
  if (node.name) return propertyName(node.name, sf);
  const parent = node.parent;
  if (parent) {
    if (ts.isVariableDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertyAssignment(parent)) {
      return propertyName(parent.name, sf);
    }
    if (ts.isBinaryExpression(parent) && parent.right === node) return parent.left.getText(sf);
    if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
      const callee = `${ts.isNewExpression(parent) ? 'new ' : ''}${calleeLabel(parent.expression, sf)}(…)`;
      return `<${ts.isArrowFunction(node) ? 'arrow' : 'function'} in ${callee}>`;
    }
  }
  return ts.isArrowFunction(node) ? '<arrow>' : '<function>';
}

function isFunctionNode(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function measureFile(path, root) {
  const text = readFileSync(path, 'utf8');
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const rel = relative(root, path).split('\\').join('/');
  // A trailing newline ends the last line; it does not start another.
  const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const functions = [];
  const visit = (node) => {
    // Overload signatures and abstract methods have no body to measure.
    if (isFunctionNode(node) && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      functions.push({ path: rel, line: first + 1, name: functionName(node, sf), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { path: rel, lines, functions };
}

function main() {
  const { root, top } = ARGS;
  const dirs = sourceDirs(root);
  // A mistyped --root must not pass by checking nothing.
  if (dirs.length === 0) usage(`no src/, lambda/ or packages/*/src/ under ${root}`);
  const files = dirs
    .flatMap((dir) => walk(dir))
    .sort()
    .map((path) => measureFile(path, root));
  const functions = files.flatMap((f) => f.functions);
  const longFiles = files.filter((f) => f.lines > MAX_FILE_LINES);
  const longFunctions = functions.filter((f) => f.lines > MAX_FUNCTION_LINES);

  for (const f of longFiles) console.log(`${f.path}:1  (file)  ${f.lines} lines`);
  for (const f of longFunctions) console.log(`${f.path}:${f.line}  ${f.name}  ${f.lines} lines`);

  const violations = longFiles.length + longFunctions.length;
  console.log(
    `check-size: ${files.length} files, ${functions.length} functions scanned; ` +
      `${longFiles.length} file(s) over ${MAX_FILE_LINES} lines, ` +
      `${longFunctions.length} function(s) over ${MAX_FUNCTION_LINES} lines` +
      (violations === 0 ? ' — OK' : ''),
  );

  if (top > 0) {
    const longest = [...functions].sort((a, b) => b.lines - a.lines || a.path.localeCompare(b.path) || a.line - b.line);
    console.log(`\nlongest ${Math.min(top, longest.length)} function(s):`);
    for (const f of longest.slice(0, top)) console.log(`${f.path}:${f.line}  ${f.name}  ${f.lines} lines`);
  }

  process.exitCode = violations > 0 ? 1 : 0;
}

main();
