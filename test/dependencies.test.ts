// What package.json promises is what the code needs: every package the code imports is declared
// (not merely hoisted there by another's dependency), and `engines` says the Node versions on
// which everything the quick start installs will run.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const FOLDERS = ['src', 'lambda', 'test', 'scripts', 'bench', 'bin'];
// A bare specifier after from, import( or a bare import (require is not used in this ESM project).
const SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"]([@a-z][\w.@/-]*)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' ? [] : sourceFiles(p);
    return /\.(ts|mjs|js)$/.test(e.name) && !e.name.endsWith('.generated.ts') ? [p] : [];
  });
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

describe('dependencies', () => {
  it('every package the code imports is declared in package.json', () => {
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);
    const undeclared = new Set<string>();
    for (const file of FOLDERS.flatMap((f) => sourceFiles(path.join(ROOT, f)))) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
        const name = packageOf(spec);
        if (spec.startsWith('node:') || builtinModules.includes(name) || declared.has(name)) continue;
        undeclared.add(`${name} (${path.relative(ROOT, file)})`);
      }
    }
    expect([...undeclared]).toEqual([]);
  });

  it("engines.node admits only Node versions every installed package supports, this one among them", () => {
    const range: string = pkg.engines.node;
    const narrower = Object.entries<{ engines?: { node?: string }; optional?: boolean; os?: string[]; cpu?: string[] }>(lock.packages)
      .filter(([name, p]) => name && p.engines?.node && !p.optional && !p.os && !p.cpu)
      .filter(([, p]) => !semver.subset(range, p.engines!.node!))
      .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')} wants ${p.engines!.node}`);
    expect(narrower, `engines.node is ${range}`).toEqual([]);
    expect(semver.satisfies(process.version, range), `${process.version} is outside engines.node ${range}`).toBe(true);
  });

  it("README's Node requirement is engines.node's lowest version", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const min = semver.minVersion(pkg.engines.node)!;
    expect(readme).toContain(`Needs Node ${min.major}.${min.minor}+`);
  });
});
