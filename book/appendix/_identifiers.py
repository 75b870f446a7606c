"""The identifier index: every name microgpt.py defines, where, and which chunks use it, read from its syntax tree.

Imported by the executed cells of identifiers.md and by tests/test_appendix.py.
Sphinx never reads this file: only the .md files listed in _toc.yml are part of the book.

Python's scope rules are followed: a name bound anywhere in a function is local to it, a name a
comprehension's `for` binds belongs to that comprehension, methods do not see the class body, and
every other name is a module-level (global) name or a built-in. Parameters and local variables
of the methods of Value are merged by name (`self` is one entry, not one per method).
"""

import ast
import builtins
import re
from dataclasses import dataclass, field

import tangle

# Kinds, in the order the page groups them.
MODULE, FUNCTION, CLASS, GLOBAL = 'imported module', 'function', 'class', 'global variable'
METHOD, ATTRIBUTE, CLASS_ATTRIBUTE = 'method', 'attribute', 'class attribute'
KEY = 'state_dict key'
PARAMETER, LOCAL, COMPREHENSION = 'parameter', 'local variable', 'comprehension variable'
BUILTIN, LIBRARY, FOREIGN_ATTRIBUTE = 'built-in', 'library function', 'attribute of a built-in type'

GROUPS = {
    'program': (FUNCTION, CLASS, GLOBAL, MODULE),
    'value': (METHOD, ATTRIBUTE, CLASS_ATTRIBUTE),
    'keys': (KEY,),
    'locals': (PARAMETER, LOCAL, COMPREHENSION),
    'python': (BUILTIN, LIBRARY, FOREIGN_ATTRIBUTE),
}
DEFINED_KINDS = GROUPS['program'] + GROUPS['value'] + GROUPS['keys'] + GROUPS['locals']

# What Python runs a special method for; the syntax tree cannot tell a Value's operator from a number's.
OPERATORS = {
    '__init__': 'every `Value(...)` call', '__add__': '`a + b`', '__radd__': '`n + a`, a plain number on the left',
    '__mul__': '`a * b`', '__rmul__': '`n * a`, a plain number on the left', '__pow__': '`a ** k`',
    '__neg__': '`-a`', '__sub__': '`a - b`', '__rsub__': '`n - a`, a plain number on the left',
    '__truediv__': '`a / b`', '__rtruediv__': '`n / a`, a plain number on the left',
}


@dataclass
class Identifier:
    """One name of the program: what it is, where it is first bound, every other line that mentions it."""
    name: str                 # as shown: gpt, Value.backward, x, wte, layer{li}.attn_wq
    kind: str
    scope: str                # '' for module level, else a function name, 'Value' or 'Value methods'
    line: int                 # the line that defines it (first binding); 0 for names Python provides
    uses: list = field(default_factory=list)   # other lines where it occurs, sorted, no repeats
    keys: list = field(default_factory=list)   # state_dict keys only: the keys it makes, when computable
    label: str = ''

    @property
    def owner(self):
        """Plain words for the scope: 'gpt()', 'the methods of Value', or ''."""
        if self.scope == 'Value methods':
            return 'the methods of `Value`'
        return f'`{self.scope}()`' if self.scope and self.scope != 'Value' else ''


class Scope:
    """A Python scope while the tree is walked: its kind, its names, its parent."""

    def __init__(self, kind, key, parent=None):
        self.kind, self.key, self.parent = kind, key, parent   # kind: module, class, function, comprehension
        self.names = {}                                          # name -> Identifier

    def resolve(self, name):
        """The Identifier a name read here refers to, by Python's rules (classes are skipped), or None."""
        scope, first = self, True
        while scope:
            if (first or scope.kind != 'class') and name in scope.names:
                return scope.names[name]
            scope, first = scope.parent, False
        return None


def targets(node):
    """The Name nodes a binding target (Name, Tuple, List, Starred) binds."""
    if isinstance(node, ast.Name):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for element in node.elts for n in targets(element)]
    if isinstance(node, ast.Starred):
        return targets(node.value)
    return []


NEW_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def own_nodes(body):
    """Every node of a list of statements that belongs to their scope (not inside a nested def, class or comprehension)."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, NEW_SCOPES):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


class Analysis:
    """Walks the syntax tree of the program once and collects the Identifiers."""

    def __init__(self, source):
        self.tree = ast.parse(source)
        self.table = {}            # (scope key, name, kind group) -> Identifier
        self.constants = {}        # module-level NAME = int literal
        self.loop_values = {}      # id(For node) -> list of values of its loop variable, when known
        self.class_attrs = {}      # attribute name -> Identifier (attributes and methods of classes)
        self.module = Scope('module', '')
        self.foreign = {}          # (kind, name) -> Identifier for names Python provides
        self.walk_scope(self.tree.body, self.module, [])

    # ---- bindings

    def add(self, scope, name, kind, line, table_scope=None, shown=None):
        """Bind name in scope (one Identifier per scope key, name and kind group)."""
        if name == '_':
            return None     # the throwaway loop variable names nothing
        table_scope = scope.key if table_scope is None else table_scope
        group = 'comp' if kind == COMPREHENSION else 'name'
        entry = self.table.get((table_scope, name, group))
        if entry is None:
            entry = Identifier(shown or name, kind, table_scope, line)
            self.table[(table_scope, name, group)] = entry
        scope.names.setdefault(name, entry)
        return entry

    def bind_statements(self, body, scope, kind_of_name):
        """Record the names a block of statements binds in its own scope."""
        for node in own_nodes(body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.add(scope, node.name, METHOD if scope.kind == 'class' else FUNCTION if scope.kind == 'module'
                         else LOCAL, node.lineno,
                         shown=f'{scope.key}.{node.name}' if scope.kind == 'class' else None)
            elif isinstance(node, ast.ClassDef):
                self.add(scope, node.name, CLASS if scope.kind == 'module' else LOCAL, node.lineno)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound = alias.asname or alias.name.split('.')[0]
                    self.add(scope, bound, MODULE, node.lineno, shown=alias.asname or alias.name)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.add(scope, node.name, kind_of_name, node.lineno)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                if scope.kind == 'class':
                    self.add(scope, node.id, CLASS_ATTRIBUTE, node.lineno, shown=f'{scope.key}.{node.id}')
                else:
                    self.add(scope, node.id, kind_of_name, node.lineno)

    def walk_scope(self, body, scope, params):
        """Bind a scope's names, then read every node of it, recursing into nested scopes."""
        for arg in params:
            self.add(scope, arg.arg, PARAMETER, arg.lineno)
        self.bind_statements(body, scope, GLOBAL if scope.kind == 'module' else LOCAL)
        if scope.kind == 'module':
            for node in body:
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                        and isinstance(node.value.value, int):
                    for target in targets(node.targets[0]) if len(node.targets) == 1 else []:
                        self.constants[target.id] = node.value.value
        if scope.kind == 'class':
            self.class_members(body, scope)
        for node in own_nodes(body):
            self.read(node, scope)

    def class_members(self, body, scope):
        """A class's attributes (from __slots__ and self.X = ...) and methods, found by attribute name."""
        for node in body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == '__slots__' for t in node.targets):
                for element in getattr(node.value, 'elts', []):
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        self.class_attrs[element.value] = self.add(
                            scope, element.value, ATTRIBUTE, element.lineno, shown=f'{scope.key}.{element.value}',
                            table_scope=f'{scope.key} attributes')
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.class_attrs.setdefault(node.name, scope.names[node.name])
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) \
                            and isinstance(sub.value, ast.Name) and sub.value.id == 'self':
                        if sub.attr not in self.class_attrs:
                            self.class_attrs[sub.attr] = self.add(
                                scope, sub.attr, ATTRIBUTE, sub.lineno, shown=f'{scope.key}.{sub.attr}',
                                table_scope=f'{scope.key} attributes')

    # ---- references

    def use(self, entry, node):
        """Note that entry occurs at node (its own defining occurrence is not a use)."""
        if node.lineno != entry.line or not self.is_binding_site(entry, node):
            entry.uses.append(node.lineno)

    def is_binding_site(self, entry, node):
        """True for the occurrence that defines entry (a store of its name on its definition line)."""
        return isinstance(node, (ast.arg, ast.FunctionDef, ast.ClassDef)) or \
            isinstance(getattr(node, 'ctx', None), (ast.Store, ast.Del))

    def read(self, node, scope):
        """Resolve the names one node of a scope mentions; open nested scopes."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for default in node.args.defaults + node.args.kw_defaults:
                if default is not None:
                    for sub in own_nodes([default]):
                        self.read(sub, scope)
            key = 'Value methods' if scope.kind == 'class' else node.name if scope.kind == 'module' \
                else f'{scope.key}.{node.name}'
            inner = Scope('function', key, scope)
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs + \
                [a for a in (node.args.vararg, node.args.kwarg) if a]
            self.walk_scope(node.body, inner, args)
        elif isinstance(node, ast.ClassDef):
            self.walk_scope(node.body, Scope('class', node.name, scope), [])
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            self.comprehension(node, scope)
        elif isinstance(node, ast.Lambda):
            inner = Scope('function', scope.key, scope)
            for arg in node.args.args:
                self.add(inner, arg.arg, PARAMETER, arg.lineno)
            for sub in own_nodes([node.body]):
                self.read(sub, inner)
        elif isinstance(node, ast.Name):
            entry = scope.resolve(node.id)
            if entry is not None:
                self.use(entry, node)
            elif hasattr(builtins, node.id):
                self.foreign_use(BUILTIN, node.id, node.lineno)
        elif isinstance(node, ast.Attribute):
            base = node.value
            module = scope.resolve(base.id) if isinstance(base, ast.Name) else None
            if getattr(node, '_inner', False):
                pass    # the os.path of os.path.exists: counted with the whole name
            elif module is not None and module.kind == MODULE:
                self.foreign_use(LIBRARY, f'{base.id}.{node.attr}', node.lineno)
            elif isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) and \
                    getattr(scope.resolve(base.value.id), 'kind', None) == MODULE:
                base._inner = True
                self.foreign_use(LIBRARY, f'{base.value.id}.{base.attr}.{node.attr}', node.lineno)
            elif node.attr in self.class_attrs:
                entry = self.class_attrs[node.attr]
                if not (node.lineno == entry.line and isinstance(node.ctx, ast.Store)):
                    entry.uses.append(node.lineno)
            else:
                self.foreign_use(FOREIGN_ATTRIBUTE, f'.{node.attr}', node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == 'state_dict':
            self.key(node, node.slice, scope, isinstance(node.ctx, ast.Store))
        elif isinstance(node, ast.Assign) and scope.kind == 'module' and isinstance(node.value, ast.Dict) and \
                any(isinstance(t, ast.Name) and t.id == 'state_dict' for t in node.targets):
            for key_node in node.value.keys:
                self.key(key_node, key_node, scope, True)
        elif isinstance(node, ast.For) and scope.kind == 'module':
            self.loop_range(node)

    def comprehension(self, node, scope):
        """A comprehension: its first iterable is read outside it, everything else inside."""
        inner = Scope('comprehension', scope.key, scope)
        for generator in node.generators:
            for name in targets(generator.target):
                self.add(inner, name.id, COMPREHENSION, name.lineno, table_scope=scope.key)
        for sub in own_nodes([node.generators[0].iter]):
            self.read(sub, scope)
        rest = [node.generators[0].target] + node.generators[0].ifs
        for generator in node.generators[1:]:
            rest += [generator.iter, generator.target] + generator.ifs
        rest += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for sub in own_nodes(rest):
            self.read(sub, inner)

    def loop_range(self, node):
        """Remember the values a module-level `for NAME in range(CONSTANT)` gives its loop variable."""
        it = node.iter
        if isinstance(node.target, ast.Name) and isinstance(it, ast.Call) and isinstance(it.func, ast.Name) \
                and it.func.id == 'range' and len(it.args) == 1:
            arg = it.args[0]
            count = arg.value if isinstance(arg, ast.Constant) else self.constants.get(getattr(arg, 'id', None))
            if isinstance(count, int):
                for sub in ast.walk(node):
                    sub._loop = (node.target.id, list(range(count)))

    def key(self, node, key_node, scope, store):
        """A state_dict key, written as a string or an f-string: define it or note a use."""
        pattern = key_text(key_node)
        if pattern is None:
            return
        entry = self.table.get(('state_dict', pattern, 'name'))
        if entry is None:
            if not store:
                return
            entry = Identifier(pattern, KEY, 'state_dict', node.lineno)
            loop = getattr(node, '_loop', None)
            if isinstance(key_node, ast.JoinedStr):
                names = {v.value.id for v in key_node.values if isinstance(v, ast.FormattedValue)
                         and isinstance(v.value, ast.Name)}
                if loop and names == {loop[0]}:
                    entry.keys = [pattern.replace('{' + loop[0] + '}', str(v)) for v in loop[1]]
            else:
                entry.keys = [pattern]
            self.table[('state_dict', pattern, 'name')] = entry
        elif node.lineno != entry.line:
            entry.uses.append(node.lineno)

    def foreign_use(self, kind, name, line):
        """A name the program uses but Python or its library defines."""
        entry = self.foreign.setdefault((kind, name), Identifier(name, kind, '', 0))
        entry.uses.append(line)


def key_text(node):
    """The text of a string key, with an f-string's {expressions} kept as written; None for other keys."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append('{' + ast.unparse(value.value) + '}')
        return ''.join(parts)
    return None


def slug(text):
    """A Sphinx-friendly label part: lowercase letters, digits and single hyphens."""
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')


def analyse(source):
    """(defined, foreign): the Identifiers the program defines, and the names Python provides that it uses."""
    analysis = Analysis(source)
    defined = list(analysis.table.values())
    foreign = list(analysis.foreign.values())
    labels = set()
    for entry in defined + foreign:
        entry.uses = sorted(set(entry.uses))
        if entry.kind == KEY:
            base = f'key {entry.name}'
        elif entry.kind in GROUPS['locals']:
            base = f'{entry.scope} {entry.name}'
        elif entry.kind in GROUPS['python']:
            base = f'python {entry.name}'
        else:
            base = entry.name
        label = 'identifier-' + slug(base)
        if label in labels:
            label += '-' + slug(entry.kind)
        labels.add(label)
        entry.label = label
    return defined, foreign


def index(book=None):
    """(defined, foreign) for the program as the chapters have it."""
    book = book or tangle.read_book()
    return analyse(book.text)


# ---------------------------------------------------------------- the page

def chunk_at(book, line):
    """The chunk that holds a program line."""
    return book.locate(line)[0]


def definition_link(book, entry):
    """'{ref}`chunk <chunk-NAME>`, {lines}`NAME:N`' for the line that defines entry."""
    chunk = chunk_at(book, entry.line)
    return f'{{ref}}`{chunk.name} <chunk-{chunk.name}>`, {{lines}}`{chunk.name}:{entry.line - chunk.start + 1}`'


def uses_links(book, entry):
    """Links to every chunk where entry occurs other than its definition, in program order."""
    names = list(dict.fromkeys(chunk_at(book, line).name for line in entry.uses))
    return ', '.join(f'{{ref}}`{name} <chunk-{name}>`' for name in names)


def constructor_calls(book):
    """The program lines that call Value(...), which runs Value.__init__."""
    tree = ast.parse('\n'.join(book.lines))
    return sorted({node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Name) and node.func.id == 'Value'})


def sort_key(entry):
    """Alphabetical, case and leading underscores ignored."""
    return (entry.name.lower().lstrip('_.'), entry.name)


def description(entry, scope_shown=False):
    """What an identifier is, in a few plain words (shorter when a column already names its function)."""
    if entry.kind in (PARAMETER, LOCAL, COMPREHENSION) and scope_shown:
        return 'loop variable of a comprehension' if entry.kind == COMPREHENSION else entry.kind
    if entry.kind in (PARAMETER, LOCAL, COMPREHENSION):
        return f'{entry.kind} of {entry.owner}' if entry.kind != COMPREHENSION else \
            f'loop variable of a comprehension in {entry.owner}' if entry.owner else \
            'loop variable of a comprehension at module level'
    if entry.kind == METHOD:
        short = entry.name.split('.')[-1]
        return f'special method of `Value`, run for {OPERATORS[short]}' if short in OPERATORS else 'method of `Value`'
    if entry.kind == ATTRIBUTE:
        return 'attribute of every `Value`'
    if entry.kind == KEY:
        made = ', '.join(f'`{k}`' for k in entry.keys)
        return f'key of `state_dict`' + (f' (the program makes {made})' if entry.keys and entry.keys != [entry.name] else '')
    return entry.kind


def table_markdown(book, entries, with_definition=True, scope_column=False):
    """A list-table of identifiers: each row carries the target (label) lessons can {ref} to."""
    header = ['Name'] + (['In'] if scope_column else []) + ['What it is'] + (['Defined in'] if with_definition else []) + \
        ['Used in']
    widths = {4: '20 30 26 24', 3: '22 38 40', 5: '19 17 18 21 25'}[len(header)]
    out = ['````{list-table}', ':header-rows: 1', f':widths: {widths}', ':class: identifier-index longtable', '']
    out.append('* - ' + header[0])
    out += [f'  - {h}' for h in header[1:]]
    for entry in entries:
        cells = [f'({entry.label})=\n    `{entry.name}`']
        if scope_column:
            cells.append(entry.owner or 'module level')
        cells.append(description(entry, scope_column))
        if with_definition:
            cells.append(definition_link(book, entry))
        if entry.name == 'Value.__init__' and not entry.uses:
            calls = constructor_calls(book)
            links = uses_links(book, Identifier(entry.name, entry.kind, entry.scope, entry.line, uses=calls))
            cells.append(f'every `Value(...)` call: {links}' if links else 'every `Value(...)` call')
        elif entry.kind == METHOD and entry.name.split('.')[-1] in OPERATORS and not entry.uses:
            cells.append('wherever its operator meets a `Value`')
        else:
            cells.append(uses_links(book, entry) or 'nowhere else')
        out.append('* - ' + cells[0])
        out += [f'  - {c}' for c in cells[1:]]
    out += ['````', '']
    return '\n'.join(out)


def group_markdown(group, book=None):
    """The table of one group of the page: program, value, keys, locals or python."""
    book = book or tangle.read_book()
    defined, foreign = index(book)
    if group == 'python':
        return table_markdown(book, sorted(foreign, key=sort_key), with_definition=False)
    entries = [e for e in defined if e.kind in GROUPS[group]]
    if group == 'locals':
        order = {}
        for e in sorted(entries, key=lambda e: e.line):
            order.setdefault(e.scope, len(order))
        entries.sort(key=lambda e: (order[e.scope], sort_key(e)))
        return table_markdown(book, entries, scope_column=True)
    if group == 'keys':
        entries.sort(key=lambda e: e.line)
    else:
        entries.sort(key=sort_key)
    return table_markdown(book, entries)
