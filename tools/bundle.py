#!/usr/bin/env python3
"""Bundle the drop-in script from the npm package's ES modules, with no node
and no network (a fresh machine running scripts/quickstart.sh may have
neither), and embed it in a C header.

usage: bundle.py ENTRY.js [--classic FILE=Name[,Name...]]...
                 [--header OUT.h SYMBOL] [--js OUT.js] [--depfile OUT.d]

Starting from ENTRY, every module reached through relative imports is put in
dependency order, each inside its own function scope (so two modules may
both have a private `num`), and the whole inside one function scope, so
nothing but what the entry sets on `window` reaches the page. A module's
imports become a destructuring of the modules before it; its exports
become the object its function returns. --classic names a plain script
(the vendored idiomorph) that modules may import from, and the names it
defines at its top level that they may import.

Only what the project's modules use is understood, and anything else fails
the build with the file and line rather than produce a script that breaks
in a browser:
  import { a, b as c } from './x.js';     import './x.js';
  export function f / export async function f / export const x / export class C
  export { a, b as c };
Refused: default and namespace imports or exports, `export let`/`var`
(live bindings), re-exports (`export ... from`), dynamic import(),
import.meta, bare specifiers ('react'), import cycles, an import of a name
the module does not export, and an import or export not at a line's start.

The header defines SYMBOL[] (bytes), SYMBOL_len and SYMBOL_HASH (16 hex
digits of SHA-256, the ETag); --js writes the script itself; --depfile
lists every file read, for ninja.
"""
import argparse
import hashlib
import os
import re
import sys

IDENT = r'[A-Za-z_$][\w$]*'
SPEC = r"""['"]([^'"\n]+)['"]"""
# A whole import or export statement at a line's start (may span lines).
IMPORT_NAMED = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*' + SPEC + r'\s*;?[ \t]*$', re.M)
IMPORT_BARE = re.compile(r'^import\s*' + SPEC + r'\s*;?[ \t]*$', re.M)
EXPORT_DECL = re.compile(r'^export\s+((?:async\s+)?function\*?\s+|const\s+|class\s+)(' + IDENT + ')', re.M)
EXPORT_LIST = re.compile(r'^export\s*\{([^}]*)\}\s*;?[ \t]*$', re.M)
# Whole-line comments, dropped from the served script (the source keeps
# them): a block comment opening a line, up to the first */ (a "/*" inside
# a string is never at a line's start in the project's modules), and // lines.
BLOCK_COMMENT = re.compile(r'^[ \t]*/\*.*?\*/[ \t]*\n', re.M | re.S)
LINE_COMMENT = re.compile(r'^[ \t]*//[^\n]*\n', re.M)
BLANK_LINES = re.compile(r'\n{2,}')
# Anything import/export-like left after the above is not understood.
LEFTOVER = re.compile(r'^[ \t]*(import|export)\b|\bimport\s*\(|\bimport\.meta\b', re.M)


class BundleError(Exception):
    pass


def line_of(text, pos):
    return text.count('\n', 0, pos) + 1


def parse_names(text, where):
    """'a, b as c' -> [('a', 'b'), ...] as (exported name, local name)."""
    names = []
    for part in text.split(','):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r'(' + IDENT + r')(?:\s+as\s+(' + IDENT + r'))?', part)
        if not m or 'default' in (m.group(1), m.group(2)):
            raise BundleError('%s: cannot bundle the import/export name %r' % (where, part))
        names.append((m.group(1), m.group(2) or m.group(1)))
    return names


class Module:
    def __init__(self, path, classic_names=None):
        self.path = path
        self.classic = classic_names is not None
        with open(path, encoding='utf-8') as f:
            self.text = f.read()
        self.imports = []   # (resolved path, [(exported, local)])
        self.exports = {}   # exported name -> local name
        if self.classic:
            for name in classic_names:
                if not re.search(r'^(?:var|let|const|function|class)\s+' + re.escape(name) + r'\b',
                                 self.text, re.M):
                    raise BundleError('%s: declares no top-level %s' % (path, name))
                self.exports[name] = name
            self.body = self.text
        else:
            self.body = self.parse()

    def where(self, pos):
        return '%s:%d' % (self.path, line_of(self.text, pos))

    def resolve(self, spec, pos):
        if not spec.startswith(('./', '../')):
            raise BundleError('%s: the drop-in script cannot import %r (only relative modules)' %
                              (self.where(pos), spec))
        return os.path.normpath(os.path.join(os.path.dirname(self.path), spec))

    def parse(self):
        # Comments go first (an "import" in one is no statement); each
        # keeps its line breaks so that errors name the source's lines.
        text = BLOCK_COMMENT.sub(lambda m: '\n' * m.group(0).count('\n'), self.text)
        text = LINE_COMMENT.sub('\n', text)
        self.text = text
        cut = []  # (start, end, replacement)

        for m in IMPORT_NAMED.finditer(text):
            self.imports.append((self.resolve(m.group(2), m.start()), parse_names(m.group(1), self.where(m.start()))))
            cut.append((m.start(), m.end(), ''))
        for m in IMPORT_BARE.finditer(text):
            self.imports.append((self.resolve(m.group(1), m.start()), []))
            cut.append((m.start(), m.end(), ''))
        for m in EXPORT_LIST.finditer(text):
            # `export { a as b }` lists (local, exported)
            for local, exported in parse_names(m.group(1), self.where(m.start())):
                self.add_export(local, exported, m.start())
            cut.append((m.start(), m.end(), ''))
        for m in EXPORT_DECL.finditer(text):
            self.add_export(m.group(2), m.group(2), m.start())
            # keep the declaration, drop the keyword
            cut.append((m.start(), m.start(1), ''))

        cut.sort()
        out, last = [], 0
        for start, end, replacement in cut:
            if start < last:
                raise BundleError('%s: overlapping import/export statements' % self.where(start))
            out.append(text[last:start])
            out.append(replacement)
            last = end
        out.append(text[last:])
        body = ''.join(out)

        left = LEFTOVER.search(body)
        if left:
            raise BundleError('%s: cannot bundle this statement: %s' %
                              ('%s:%d' % (self.path, line_of(body, left.start())),
                               body[left.start():].split('\n', 1)[0].strip()))
        return BLANK_LINES.sub('\n', body).strip('\n') + '\n'

    def add_export(self, local, exported, pos):
        if exported in self.exports:
            raise BundleError('%s: %s is exported twice' % (self.where(pos), exported))
        self.exports[exported] = local


def var_name(path, root):
    return '__lg_' + re.sub(r'[^A-Za-z0-9]', '_', os.path.relpath(path, root).rsplit('.', 1)[0])


def load_graph(entry, classic):
    """Modules in dependency order (each after what it imports)."""
    order, state, modules = [], {}, {}

    def visit(path, via):
        if state.get(path) == 'done':
            return
        if state.get(path) == 'visiting':
            raise BundleError('import cycle through %s (imported by %s)' % (path, via))
        state[path] = 'visiting'
        if not os.path.isfile(path):
            raise BundleError('%s imports %s, which does not exist' % (via, path))
        mod = Module(path, classic.get(path))
        modules[path] = mod
        for dep, names in mod.imports:
            visit(dep, path)
            for exported, _ in names:
                if exported not in modules[dep].exports:
                    raise BundleError('%s imports %s from %s, which does not export it' % (path, exported, dep))
        state[path] = 'done'
        order.append(mod)

    visit(os.path.normpath(entry), 'the command line')
    unused = set(classic) - set(modules)
    if unused:
        raise BundleError('--classic %s is imported by no module' % ', '.join(sorted(unused)))
    return order


def bundle(entry, classic):
    order = load_graph(entry, classic)
    root = os.path.commonpath([m.path for m in order])
    if os.path.isfile(root):
        root = os.path.dirname(root)
    parts = ['/* livegate.js: built by tools/bundle.py from %s (see docs/script.md) */\n(function () {\n' %
             os.path.relpath(os.path.normpath(entry), root)]
    for mod in order:
        name = var_name(mod.path, root)
        parts.append('/* ---- %s */\nconst %s = (function () {\n' % (os.path.relpath(mod.path, root), name))
        if not mod.classic:
            parts.append('"use strict";\n')
        for dep, names in mod.imports:
            if names:
                fields = ', '.join(e if e == l else '%s: %s' % (e, l) for e, l in names)
                parts.append('const { %s } = %s;\n' % (fields, var_name(dep, root)))
        parts.append(mod.body.rstrip('\n') + '\n')
        fields = ', '.join('%s: %s' % (e, l) for e, l in sorted(mod.exports.items()))
        parts.append('return { %s };\n})();\n' % fields)
    parts.append('})();\n')
    return ''.join(parts).encode('utf-8'), [m.path for m in order]


def write_header(out, sym, data, sources):
    digest = hashlib.sha256(data).hexdigest()[:16]
    with open(out, 'w', encoding='ascii') as f:
        f.write('/* generated by tools/bundle.py from %s */\n' % ', '.join(sources))
        f.write('#pragma once\n#include <stddef.h>\n')
        f.write('#define %s_HASH "%s"\n' % (sym.upper(), digest))
        f.write('static const unsigned char %s[] = {\n' % sym)
        for i in range(0, len(data), 16):
            f.write('  ' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',\n')
        f.write('};\nstatic const size_t %s_len = %d;\n' % (sym, len(data)))


def main(argv):
    ap = argparse.ArgumentParser(description='Bundle the drop-in script (see the module docstring).')
    ap.add_argument('entry')
    ap.add_argument('--classic', action='append', default=[], metavar='FILE=Name[,Name...]')
    ap.add_argument('--header', nargs=2, metavar=('OUT.h', 'SYMBOL'))
    ap.add_argument('--js', metavar='OUT.js')
    ap.add_argument('--depfile', metavar='OUT.d')
    args = ap.parse_args(argv)

    classic = {}
    for c in args.classic:
        path, _, names = c.partition('=')
        if not names:
            ap.error('--classic wants FILE=Name[,Name...], got %r' % c)
        classic[os.path.normpath(path)] = [n.strip() for n in names.split(',') if n.strip()]
    try:
        data, sources = bundle(args.entry, classic)
    except (BundleError, OSError, UnicodeDecodeError) as e:
        print('bundle.py: %s' % e, file=sys.stderr)
        return 1
    if args.js:
        with open(args.js, 'wb') as f:
            f.write(data)
    if args.header:
        write_header(args.header[0], args.header[1], data, sources)
    if args.depfile:
        target = args.header[0] if args.header else (args.js or 'livegate.js')
        with open(args.depfile, 'w', encoding='utf-8') as f:
            f.write('%s: %s\n' % (target.replace(' ', '\\ '), ' '.join(s.replace(' ', '\\ ') for s in sources)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
