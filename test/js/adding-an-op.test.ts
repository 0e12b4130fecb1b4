// The README's "Adding an op" list against the registry: every path it names
// exists, and every op (the addon's opSchema(), in OpKind's order) appears in
// each file the list marks "every op" — so the list names what each op really
// touches. A path marked "every op" with no check below fails too: the list
// and this test change together.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { binding } from '../../lib/binding';
import { converters, WITHOUT_ONNX_FORM } from '../../lib/onnx/ops';

const root = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const ops = (JSON.parse(binding.opSchema()) as { op: string }[]).map((o) => o.op);
const camel = (name: string) => name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

function section(): string {
  const readme = read('README.md');
  const start = readme.indexOf('### Adding an op');
  return readme.slice(start, readme.indexOf('\n## ', start));
}

// The files of a path with <family> in it, e.g. native/cpp/ops/<family>.cpp.
function files(pattern: string): string[] {
  const dir = path.dirname(pattern), [before, after] = path.basename(pattern).split('<family>');
  if (after === undefined) return fs.existsSync(path.join(root, pattern)) ? [pattern] : [];
  return fs.readdirSync(path.join(root, dir)).filter((f) => f.startsWith(before) && f.endsWith(after)).map((f) => path.join(dir, f));
}

const kindsOf = (text: string) => text.slice(text.indexOf('enum class OpKind'), text.indexOf('Count', text.indexOf('enum class OpKind')));

// What "every op appears in this file" means for each path the list marks so.
const everyOp: Record<string, (op: string) => boolean> = {
  'native/cpp/ops/<family>.cpp': (op) => files('native/cpp/ops/<family>.cpp').some((f) => read(f).includes(`"${op}"`)),
  'native/cpp/ops/op.h': (op) => new RegExp(`\\b${camel(op)}\\b`).test(kindsOf(read('native/cpp/ops/op.h'))),
  'native/cpp/ops/registry.cpp': (op) => read('native/cpp/ops/registry.cpp').includes(`&${op}_op`),
  'test/op_cases.json': (op) => read('test/op_cases.json').includes(`"op": "${op}"`),
  'test/reference/reference_ops.py': (op) => new RegExp(`["']${op}["']`).test(read('test/reference/reference_ops.py')),
  'lib/onnx/ops.ts': (op) => op in converters || op in WITHOUT_ONNX_FORM,
};

describe("the README's list for adding an op", () => {
  const text = section();
  const paths = [...text.matchAll(/`((?:native|lib|test|docs|scripts)\/[^`]*)`/g)].map((m) => m[1].split(' ')[0]);
  // Each "`a` and `b` (*every op*)" marks both; "`.cpp`" after "`x.h`" is x.cpp.
  const marked = [...text.matchAll(/((?:`[^`]+`(?: and )?)+) \(\*every op\*\)/g)].flatMap((m) => {
    const named = [...m[1].matchAll(/`([^`]+)`/g)].map((p) => p[1]);
    return named.map((p) => (p.startsWith('.') ? named[0].replace(/\.\w+$/, p) : p));
  });

  it('names paths that exist', () => {
    expect(paths.length).toBeGreaterThan(10);
    for (const p of paths) expect([p, files(p.replace(/\(.*$/, '')).length > 0 || fs.existsSync(path.join(root, p))]).toEqual([p, true]);
  });

  it('has a check for every file it marks "every op"', () => {
    for (const p of marked) expect([p, p in everyOp]).toEqual([p, true]);
    expect(Object.keys(everyOp).sort()).toEqual([...new Set(marked)].sort());
  });

  it('holds every op in every file it marks "every op"', () => {
    expect(ops).toContain('conv2d');  // the registry, read
    for (const [file, holds] of Object.entries(everyOp)) for (const op of ops) expect([file, op, holds(op)]).toEqual([file, op, true]);
  });
});
