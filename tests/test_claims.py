"""Claims are checked like numbers: every `# claim:` in a hidden cell quotes a sentence still on its page.

The convention (README, "Writing a lesson"): a sentence about the program, its data or its
behaviour is either glued from a computed value or backed by a code cell whose lines
`# claim: <words from the prose>` are followed by asserts; the build runs the asserts, so it fails
the day the claim stops being true. These tests keep the two halves together: the quoted words
must still be in the page's prose (or the assert checks a sentence nobody reads any more), each
claim cell must assert something, and every lesson of modules 0-5 checks at least one claim.
"""

import ast
import re

import pytest
from myst_nb.core.read import read_myst_markdown_notebook

import tangle

CLAIM = re.compile(r'^\s*# claim: (.+?)\s*$', re.MULTILINE)


def collapse(text):
    """Runs of whitespace (line breaks included) as one space."""
    return re.sub(r'\s+', ' ', text).strip()


def pages():
    """(docname, text) of every page of the book, in _toc.yml order."""
    book = tangle.read_book(tangle.ROOT)
    return [(d, tangle.chapter_file(tangle.ROOT, d).read_text(encoding='utf-8')) for d in book.docnames]


def claims(text):
    """(claimed words, the cell's source) for every claim in a page; and the page's prose, collapsed."""
    notebook = read_myst_markdown_notebook(text)
    prose = collapse(' '.join(c.source for c in notebook.cells if c.cell_type == 'markdown'))
    found = [(collapse(m.group(1)), c.source) for c in notebook.cells if c.cell_type == 'code'
             for m in CLAIM.finditer(c.source)]
    return found, prose


PAGES = pages()


@pytest.mark.parametrize('docname,text', PAGES, ids=[d for d, _ in PAGES])
def test_every_claim_quotes_words_still_in_its_page_and_asserts_them(docname, text):
    """The quoted words (4 or more) are in the page's prose, and the cell holding them asserts."""
    found, prose = claims(text)
    for words, source in found:
        assert len(words.split()) >= 4, f'{docname}: claim too short to find again: {words!r}'
        assert words in prose, f'{docname}: claimed words no longer in the page: {words!r}'
        assert re.search(r'^\s*assert\b', source, re.MULTILINE), f'{docname}: a claim cell without assert: {words!r}'


def test_every_lesson_of_modules_0_to_5_checks_its_claims():
    """Each lesson (not the landing page or appendix) has at least one asserted claim."""
    lessons = [(d, t) for d, t in PAGES if re.match(r'book/0[0-5]-', d)]
    assert len(lessons) == 32
    unchecked = [d for d, t in lessons if not claims(t)[0]]
    assert not unchecked, f'lessons without a single # claim: cell: {unchecked}'


def test_a_claim_whose_words_left_the_page_is_caught():
    """The check is real: the claimed words must be in the prose, not merely in the cell."""
    page = ('# Title\n\nMost names end in a\nvowel.\n\n```{code-cell} python\n:tags: [remove-cell]\n'
            '# claim: names end in a vowel\nassert True\n```\n')
    (words, _), = claims(page)[0]
    assert words in claims(page)[1]  # found across the line break
    assert words not in claims(page.replace('a\nvowel', 'a\nconsonant'))[1]



# ---------------------------------------------------------------- claims that can fail

# A claim's asserts must test the sentence against something the cell did not make up: the program, its
# run, the data or the book. weak_claims() reads the asserts of each claim (those after its `# claim:` line,
# up to the next one) with `ast`, and reports the claim when all of them
#   - use only literals, builtins and names the cell set from those alone ("compares only literals");
#   - only ask whether a name exists: `'def x'` or `'class x'` found in a text, `hasattr(...)`, or a name
#     looked up in `globals()`, `locals()`, `vars()` or `dir()`;
#   - or cannot fail: an (in)equality that still holds when random numbers, or random lists of them, stand
#     for every value the page did not derive by plain arithmetic (so `dot <= |a| |b|` is caught), or the
#     program's lines counted two ways (`Book.lines` is by definition the chunks' lines, joined).

PURE_MODULES = {'math', 'statistics', 'itertools', 'functools', 'operator', 'fractions', 'collections', 'string'}
OUTSIDE_BUILTINS = {'open', 'input', '__import__', 'eval', 'exec', 'compile', 'globals', 'locals', 'vars', 'dir'}
PURE_CALLS = {'abs', 'all', 'any', 'enumerate', 'float', 'int', 'len', 'list', 'map', 'max', 'min', 'range',
              'reversed', 'round', 'sorted', 'sum', 'tuple', 'zip', 'pow'}
NAMESPACES = {'globals', 'locals', 'vars', 'dir'}
ORDERINGS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq)


def _loaded(node):
    """Names a piece of code reads that it does not bind itself (parameters, comprehension variables)."""
    bound, read = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (read if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
    local = {n.id for s in ast.walk(node) if isinstance(s, ast.comprehension) for n in ast.walk(s.target)
             if isinstance(n, ast.Name)}
    if isinstance(node, ast.FunctionDef):
        local |= bound
    return read - local - {a for s in ast.walk(node) if isinstance(s, (ast.Lambda, ast.FunctionDef))
                           for a in (x.arg for x in ast.walk(s.args) if isinstance(x, ast.arg))}


def _names(target):
    """The names a target binds, or (for `x[i]`, `x.a`, `x.m(...)`) the name it changes."""
    while isinstance(target, (ast.Subscript, ast.Attribute, ast.Call)):
        target = target.func if isinstance(target, ast.Call) else target.value
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _changed_in(statements):
    """Names the statements bind or change in place."""
    found = set()
    for node in (n for s in statements for n in ast.walk(s)):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            found |= _names(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            found |= _names(node.func.value)
    return found


def _flows(tree):
    """(names, names read, gives): every way the cell gives names a value (gives) or changes them in place."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                changes = not isinstance(t, (ast.Name, ast.Tuple, ast.List))
                yield _names(t), _loaded(node.value) | (_loaded(t) - _names(t)), not changes
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            yield _names(node.target), _loaded(node.value) | _loaded(node.target), \
                isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        elif isinstance(node, ast.NamedExpr):
            yield {node.target.id}, _loaded(node.value), True
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            yield _names(node.target), _loaded(node.iter), True
        elif isinstance(node, ast.FunctionDef):
            yield {node.name}, _loaded(node), True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                module = (node.module if isinstance(node, ast.ImportFrom) else alias.name) or ''
                yield {(alias.asname or alias.name).split('.')[0]}, \
                    set() if module.split('.')[0] in PURE_MODULES else {'<outside>'}, True
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            yield _names(node.optional_vars), _loaded(node.context_expr), True
        elif isinstance(node, ast.ExceptHandler) and node.name:
            yield {node.name}, {'<outside>'}, True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # x.append(y): x now holds what y holds
            yield _names(node.func.value), {n for a in [*node.args, *(k.value for k in node.keywords)]
                                             for n in _loaded(a)}, False
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.If)):
            # what a loop or a branch does depends on what it loops over or tests
            test = node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else node.test
            yield _changed_in(node.body + node.orelse), _loaded(test), False


def _outside(name, written):
    """A name the cell reads without giving it a value: it comes from the page, the program or its run."""
    import builtins
    return name not in written and (not hasattr(builtins, name) or name in OUTSIDE_BUILTINS)


def grounded_names(tree):
    """(names whose value comes, directly or not, from outside the cell; names the cell gives a value)."""
    flows = list(_flows(tree))
    written = set().union(*(names for names, _, gives in flows if gives))
    grounded = {'<outside>'}
    changed = True
    while changed:
        changed = False
        for names, reads, _ in flows:
            if (reads & grounded or any(_outside(n, written) for n in reads)) and not names <= grounded:
                grounded |= names
                changed = True
    return grounded, written


def _only_existence(expr):
    """True if the expression only asks whether a name exists."""
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.And):
        return all(_only_existence(v) for v in expr.values)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in ('all', 'any') \
            and len(expr.args) == 1 and isinstance(expr.args[0], (ast.GeneratorExp, ast.ListComp)):
        return _only_existence(expr.args[0].elt)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == 'hasattr':
        return True
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.In):
        left, right = expr.left, expr.comparators[0]
        if isinstance(right, ast.Call) and isinstance(right.func, ast.Name) and right.func.id in NAMESPACES:
            return True
        if isinstance(left, ast.JoinedStr) and left.values and isinstance(left.values[0], ast.Constant):
            left = left.values[0]
        return isinstance(left, ast.Constant) and isinstance(left.value, str) and \
            re.match(r'\s*(def|class)\s', left.value) is not None
    return False


def _counts_lines_two_ways(expr):
    """`sum(len(c.lines) for c in book.chunks) == len(book.lines)`: true of every Book, by its definition."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq)):
        return False
    sides = [ast.unparse(expr.left).replace(' ', ''), ast.unparse(expr.comparators[0]).replace(' ', '')]
    total = r'sum\(\(?len\((\w+)\.lines\)for\1in(\w+)\.chunks\)?\)'
    return any(re.fullmatch(total, a) and re.fullmatch(r'len\(\w+\.lines\)', b) for a, b in (sides, sides[::-1]))


def _pure(expr, functions):
    """Plain arithmetic: names, literals, operators, comprehensions, math and a few builtins."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == 'math'):
            return False
        if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and (node.func.id in PURE_CALLS or node.func.id in functions)
                or isinstance(node.func, ast.Attribute)):
            return False
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Compare) and not all(isinstance(op, ORDERINGS[:4]) for op in node.ops):
            return False   # random values are never equal: `==`, `in` and the like would hold or fail by accident
    return True


def _compares(expr):
    """The comparisons an (in)equality test is made of."""
    if isinstance(expr, ast.BoolOp):
        return [c for v in expr.values for c in _compares(v)]
    if isinstance(expr, ast.Call):
        return _compares(expr.args[0].elt)
    return [expr]


def _orderings_only(expr):
    """True if the test is made of <, <=, >, >=, == (joined by `and`, or inside all(...)): random values
    make `!=`, `not in` or a bare truth value hold by accident, so those say nothing here."""
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.And):
        return all(_orderings_only(v) for v in expr.values)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == 'all' \
            and len(expr.args) == 1 and isinstance(expr.args[0], ast.GeneratorExp):
        return _orderings_only(expr.args[0].elt)
    return isinstance(expr, ast.Compare) and all(isinstance(op, ORDERINGS) for op in expr.ops)


def _always_true(statements, test, trials=200):
    """True if the test holds for random numbers, and for random lists of them, in place of its inputs.

    statements: the page's code up to the assert; its plain-arithmetic functions and assignments are kept
    (so `dot` is still the dot product of `ra` and `rb`), and every other value becomes an input."""
    import math
    import random
    if not _orderings_only(test):
        return False
    functions, setup = set(), []
    for stmt in statements:
        if isinstance(stmt, ast.FunctionDef) and not stmt.decorator_list and all(
                isinstance(s, (ast.Return, ast.Assign, ast.Expr)) and _pure(s, functions | {stmt.name})
                for s in stmt.body):
            functions.add(stmt.name)
            setup.append(stmt)
        elif isinstance(stmt, ast.Assign):
            value = stmt.value.body if isinstance(stmt.value, ast.Lambda) else stmt.value
            if all(isinstance(t, ast.Name) for t in stmt.targets) and _pure(value, functions):
                if isinstance(stmt.value, ast.Lambda):
                    functions |= {t.id for t in stmt.targets}
                setup.append(stmt)
            else:   # computed some other way: an input, whatever the page set it to before
                setup = [s for s in setup if not _names_given(s) & _names_given(stmt)]
                functions -= _names_given(stmt)
    if not all(_pure(side, functions) for c in _compares(test) for side in [c.left, *c.comparators]):
        return False
    needed, kept = _loaded(test), []
    for stmt in reversed(setup):   # only what the test reads, directly or not
        if _names_given(stmt) & needed:
            kept.insert(0, stmt)
            needed |= _loaded(stmt)
    setup = kept
    given = set().union(*(_names_given(s) for s in setup)) if setup else set()
    module = ast.Module(body=setup, type_ignores=[])
    inputs = sorted(n for n in _loaded(module) | _loaded(test) if n not in given and n not in PURE_CALLS | {'math'})
    if not inputs:
        return False   # nothing comes in: the rule for literals speaks for it
    code = compile(ast.fix_missing_locations(module), '<claim>', 'exec')
    check = compile(ast.fix_missing_locations(ast.Expression(test)), '<claim>', 'eval')
    rng = random.Random(0)

    def number(signed):
        size = 10 ** rng.uniform(-3, 3)
        return rng.gauss(0, 1) * size if signed else rng.random() * size
    tried = False
    for kind, signed in (('number', True), ('number', False), ('list', True), ('list', False)):
        for _ in range(trials):
            space = {'math': math, **{n: number(signed) if kind == 'number' else
                                      [number(signed) for _ in range(rng.randint(1, 200))] for n in inputs}}
            try:
                exec(code, space)
                if not eval(check, space):
                    return False   # it can fail
            except Exception:
                break              # these inputs do not fit; try the next kind
        else:
            tried = True
    return tried


def _names_given(stmt):
    return {stmt.name} if isinstance(stmt, ast.FunctionDef) else {n for t in stmt.targets for n in _names(t)}


def weak_claims(source, before=''):
    """(claimed words, why) for every claim of a cell whose asserts test nothing outside the cell or cannot fail.

    before: the page's code cells that run before this one (for the arithmetic that made the values)."""
    try:
        tree = ast.parse(source)
        earlier = ast.parse(before).body
    except SyntaxError:
        return []
    grounded, written = grounded_names(tree)
    lines = source.splitlines()
    starts = [(i + 1, collapse(m.group(1))) for i, line in enumerate(lines) for m in [CLAIM.match(line)] if m]
    asserts = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    found = []
    for k, (line, words) in enumerate(starts):
        # a claim's asserts run to the next claim that has asserts of its own (stacked claims share them)
        later = [start for start, _ in starts[k + 1:]] + [len(lines) + 1]
        end = next(e for e in later if any(a.lineno < e for a in asserts if a.lineno > line) or e == later[-1])
        mine = [a for a in asserts if line < a.lineno < end]
        if not mine:
            continue
        if not any(n in grounded or _outside(n, written) for a in mine for n in _loaded(a.test)):
            found.append((words, 'compares only literals or values the cell set itself'))
        elif all(_only_existence(a.test) for a in mine):
            found.append((words, 'only tests that a name exists'))
        elif all(_counts_lines_two_ways(a.test) or _always_true(
                earlier + [s for s in tree.body if s.lineno < a.lineno], a.test) for a in mine):
            found.append((words, 'cannot fail: it holds whatever the values'))
    return found


def page_weak_claims(text):
    """(claimed words, why) for every weak claim of a page."""
    notebook = read_myst_markdown_notebook(text)
    code = [c.source for c in notebook.cells if c.cell_type == 'code']
    clean = lambda s: '\n'.join(line for line in s.splitlines() if not line.lstrip().startswith(('%', '!')))
    return [found for i, source in enumerate(code) if CLAIM.search(source)
            for found in weak_claims(clean(source), '\n'.join(clean(s) for s in code[:i]))]


@pytest.mark.parametrize('docname,text', PAGES, ids=[d for d, _ in PAGES])
def test_every_claim_can_fail_and_tests_something_outside_its_cell(docname, text):
    """No claim's asserts compare only literals, only ask whether a name exists, or hold whatever the values."""
    weak = page_weak_claims(text)
    assert not weak, f'{docname}: claims whose asserts cannot test the sentence: ' + '; '.join(
        f'{words!r} ({why})' for words, why in weak)


def _cell(*lines):
    return '\n'.join(lines) + '\n'


WEAK_CELLS = {
    'a literal': _cell('# claim: the model has four heads', 'assert 4 == 4'),
    'a name set from literals': _cell('n_head = 4', '# claim: the model has four heads', 'assert n_head == 4'),
    'literals through a helper': _cell('def heads():', '    return 2 + 2', 'x = heads()',
                                       '# claim: the model has four heads', 'assert x == 4'),
    'a list built from literals': _cell('xs = []', 'for i in range(3):', '    xs.append(i * i)',
                                        '# claim: the squares grow quickly', 'assert xs[-1] > xs[0]'),
    'sorting a made-up list': _cell('upper = sorted(set("Emma" + "ava"))', '# claim: sorts first and takes',
                                    'assert upper[0] == "E"'),
    "'def x' in the source": _cell('# claim: the optimizer microgpt uses', 'assert "def adam_step" in program'),
    "'def x(' for several": _cell('# claim: into functions of their own',
                                  'assert all(f"def {f}(" in program for f in ("a", "b"))'),
    'hasattr': _cell('# claim: the hyperparameters are global variables',
                     'assert all(hasattr(mg, n) for n in ("n_layer", "n_embd"))'),
    'globals()': _cell('# claim: the program defines its own optimizer', 'assert "adam_step" in globals()'),
    'Cauchy-Schwarz': _cell('def length(v):', '    return sum(x * x for x in v) ** 0.5',
                            'ra = [v.data for v in wte[1]]', 'rb = [v.data for v in wte[2]]',
                            'dot = sum(x * y for x, y in zip(ra, rb))',
                            '# claim: could not have been larger than', 'assert dot <= length(ra) * length(rb)'),
    'a square is not negative': _cell('g = mg.params[0].grad', '# claim: the squared gradient is never negative',
                                      'assert g * g >= 0'),
    'a mean between min and max': _cell('xs = [p.data for p in mg.params]', 'm = sum(xs) / len(xs)',
                                        '# claim: the average weight lies between the extremes',
                                        'assert min(xs) <= m <= max(xs)'),
    'the lines counted twice': _cell('# claim: every line is in exactly one chunk',
                                     'assert sum(len(chunk.lines) for chunk in book.chunks) == len(book.lines)'),
}

GOOD_CELLS = {
    'a value of the program': _cell('# claim: the model has four heads', 'assert mg.n_head == 4'),
    'a value the cell computed from the run': _cell('losses = run["losses"]', 'first = losses[:100]',
                                                    '# claim: the loss falls', 'assert sum(first) > sum(losses[-100:])'),
    'a list filled from the data': _cell('lengths = []', 'for name in mg.docs:', '    lengths.append(len(name))',
                                         '# claim: no name is longer than 15 letters', 'assert max(lengths) <= 15'),
    'a counter filled in a loop over the data': _cell('n = 0', 'for name in docs:', '    n += 1',
                                                      '# claim: the file holds many names', 'assert n > 1000'),
    'a text of the program': _cell('# claim: switches the garbage collector off', 'assert "gc.disable()" in program'),
    'a name among the program\'s calls': _cell('calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)'
                                               ' and isinstance(n.func, ast.Name)}',
                                               '# claim: the loop calls adam_step', 'assert "adam_step" in calls'),
    'a gap that can close': _cell('gap = [a - b for a, b in zip(run["losses"], other["losses"])]',
                                  '# claim: lies above at every step', 'assert all(g > 0 for g in gap[99:])'),
    'two numbers that differ': _cell('before, after = loss(0), loss(1)', '# claim: the loss of this name moved',
                                     'assert f"{after:.4f}" != f"{before:.4f}"'),
    'a flag computed from the model': _cell('zero = all(abs(p.grad) < 1e-12 for p in mg.params)',
                                            '# claim: here they are even all zero', 'assert zero'),
    'a cosine of real rows': _cell('def length(v):', '    return sum(x * x for x in v) ** 0.5',
                                   'ra, rb = row("a"), row("o")', '# claim: point much the same way',
                                   'assert sum(x * y for x, y in zip(ra, rb)) > 0.5 * length(ra) * length(rb)'),
    'the program as written to its file': _cell('# claim: every line of it is shown',
                                                'assert (root / "microgpt.py").read_text() == book.text'),
}


@pytest.mark.parametrize('name', WEAK_CELLS)
def test_the_detector_flags_a_claim_that_cannot_fail(name):
    """Each of these asserts could not catch a change to the program, its run or its data."""
    assert weak_claims(WEAK_CELLS[name]), name


@pytest.mark.parametrize('name', GOOD_CELLS)
def test_the_detector_passes_a_claim_that_can_fail(name):
    """Each of these tests a value of the program, its run or its data, and could fail."""
    assert not weak_claims(GOOD_CELLS[name]), (name, weak_claims(GOOD_CELLS[name]))


def test_the_detector_reads_the_arithmetic_of_earlier_cells():
    """`dot` made in one cell and compared in the next is still the dot product."""
    before = _cell('def length(v):', '    return sum(x * x for x in v) ** 0.5', 'ra = row("a")', 'rb = row("b")',
                   'dot = sum(x * y for x, y in zip(ra, rb))')
    cell = _cell('# claim: could not have been larger than', 'assert dot <= length(ra) * length(rb)')
    assert weak_claims(cell, before) and not weak_claims(cell)


def test_each_claim_is_judged_by_its_own_asserts():
    """A weak claim is caught even when the claim before it in the same cell is sound."""
    cell = _cell('# claim: the model has four heads', 'assert mg.n_head == 4',
                 '# claim: the optimizer microgpt uses', 'assert "def adam_step" in program')
    assert [words for words, _ in weak_claims(cell)] == ['the optimizer microgpt uses']


def test_stacked_claims_share_the_asserts_below_them():
    """Two claim lines in a row are both judged by the asserts that follow them."""
    cell = _cell('# claim: the model has four heads', '# claim: the optimizer microgpt uses',
                 'assert "def adam_step" in program')
    assert len(weak_claims(cell)) == 2
    assert not weak_claims(cell.replace('"def adam_step" in program', 'mg.n_head == 4'))
