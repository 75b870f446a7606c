"""The appendix pages are generated from the chapters: course index, line atlas, identifier index, glossary links.

Each test runs the function the page's cell runs (no book build here), and checks it against an
independent reading of the same facts: the chunk table, microgpt.py itself, Python's symtable.
"""

import math
import re
import symtable
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import tangle

REPO = Path(__file__).resolve().parent.parent
APPENDIX = REPO / 'book' / 'appendix'
EXTENSIONS = REPO / 'book' / '_ext'
sys.path[:0] = [str(APPENDIX), str(EXTENSIONS)]

import glossary_hover  # noqa: E402  (the folders are put on the path just above)
import _identifiers  # noqa: E402
import _lessons  # noqa: E402


@pytest.fixture(scope='module')
def book():
    """The chapters' chunk table, read once."""
    return tangle.read_book(REPO)


@pytest.fixture(scope='module')
def program():
    """microgpt.py as committed, one string per line."""
    return (REPO / 'microgpt.py').read_text(encoding='utf-8').splitlines()


@pytest.fixture(scope='module')
def lesson_docnames():
    """The pages of the numbered parts of _toc.yml: the lessons."""
    return [d for _, numbered, docnames in _lessons.toc_parts(REPO) if numbered for d in docnames]


@pytest.fixture(scope='module')
def index(book):
    """(defined, foreign) identifiers, as the identifier page computes them."""
    return _identifiers.index(book)


# ---------------------------------------------------------------- every line has a lesson

def test_every_program_line_is_in_exactly_one_chunk_of_a_lesson(book, program, lesson_docnames):
    """Each line of microgpt.py falls inside one chunk, and that chunk is written in a lesson of _toc.yml."""
    assert book.lines == program
    owners = {}
    for chunk in book.chunks:
        assert chunk.docname in lesson_docnames, f"chunk '{chunk.name}' is in {chunk.docname}, not a lesson"
        for line in range(chunk.start, chunk.start + len(chunk.lines)):
            owners.setdefault(line, []).append(chunk.name)
    assert sorted(owners) == list(range(1, len(program) + 1))
    assert all(len(names) == 1 for names in owners.values())


def test_the_atlas_shows_every_line_once_linked_to_its_lesson(book, program, lesson_docnames):
    """The atlas Markdown holds every program line once, with its number, text and the lesson of its chunk."""
    markdown = _lessons.atlas_markdown(REPO, book)
    covered = _lessons.atlas_coverage(markdown)
    assert sorted(covered) == list(range(1, len(program) + 1)), 'lines missing from the atlas'
    for line, places in covered.items():
        assert len(places) == 1, f'line {line} is shown {len(places)} times'
        name, docname, code = places[0]
        chunk = book.locate(line)[0]
        assert (name, docname, code) == (chunk.name, chunk.docname, program[line - 1])
        assert docname in lesson_docnames
    for chunk in book.chunks:   # the lookup table: one row per chunk, with its lesson
        assert re.search(rf'^\| {{lines}}`{chunk.name}` \| .* \{{doc\}}`/{chunk.docname}` \|$', markdown, re.M)


def test_the_atlas_reader_sees_a_line_that_is_missing(book):
    """atlas_coverage really reads the Markdown: drop a line and it is no longer covered."""
    markdown = _lessons.atlas_markdown(REPO, book)
    chunk = book.chunk('linear')
    broken = markdown.replace(chunk.lines[0] + '\n', '', 1)
    assert chunk.start + len(chunk.lines) - 1 not in _lessons.atlas_coverage(broken)


# ---------------------------------------------------------------- course index

def test_the_course_index_lists_every_lesson_in_book_order(book, lesson_docnames):
    """Lessons numbered 1..n in _toc.yml order, each linked once, each chunk's lines cited by its own lesson only."""
    lessons = _lessons.lessons(REPO, book)
    assert [lesson.docname for lesson in lessons] == lesson_docnames
    assert [lesson.number for lesson in lessons] == list(range(1, len(lessons) + 1))
    markdown = _lessons.course_index_markdown(REPO, book)
    positions = [markdown.index(f'{{doc}}`/{docname}`') for docname in lesson_docnames]
    assert positions == sorted(positions)
    for chunk in book.chunks:
        assert markdown.count(f'{{lines}}`{chunk.name}`') == 1, chunk.name
    for lesson in lessons:
        assert lesson.objectives and lesson.minutes >= 1
        assert [c.name for c in lesson.chunks] == [c.name for c in book.chunks if c.docname == lesson.docname]


MINI_TOC = """\
format: jb-book
root: index
parts:
  - caption: Module A
    numbered: true
    chapters:
      - file: one
      - file: two
"""

LESSON_WITH_OBJECTIVES = """\
---
learning_objectives:
  - Say what `x` holds.
  - Explain why the loop stops.
---

(one)=
# Where does x come from?

```{chunk} set-x
x = 1
```
"""

LESSON_WITHOUT = """\
(two)=
# How does y follow?

```{chunk} set-y
y = x + 1
```

```{chunk} print-y
print(y)
```
"""


def test_objectives_come_from_front_matter_else_from_title_and_chunks(tmp_path):
    """A learning_objectives list in the front matter is used as written; without one, a default names the chunks."""
    (tmp_path / '_toc.yml').write_text(MINI_TOC)
    (tmp_path / 'index.md').write_text('# Mini\n')
    (tmp_path / 'one.md').write_text(LESSON_WITH_OBJECTIVES)
    (tmp_path / 'two.md').write_text(LESSON_WITHOUT)
    one, two = _lessons.lessons(tmp_path)
    assert (one.number, one.objectives_given, one.objectives) == \
        (1, True, ['Say what `x` holds.', 'Explain why the loop stops.'])
    assert (two.number, two.objectives_given) == (2, False)
    assert two.objectives == ['Answer the question of the title in your own words.',
                              'Explain what every line of `set-y` and `print-y` does, and why it is there.']
    markdown = _lessons.course_index_markdown(tmp_path)
    assert 'After it you can:\n\n- Say what `x` holds.\n- Explain why the loop stops.\n' in markdown
    assert '*Answer the question of the title in your own words.*' in markdown


def test_reading_time_counts_prose_listings_shown_code_and_exercises():
    """Words of prose (exercise text included), one listing, one shown cell (the hidden one is free), one exercise."""
    prose = ' '.join(['word'] * 390)
    text = textwrap.dedent(f"""\
        # A title of five words

        {prose} {{term}}`vocabulary`, see {{lines}}`linear:2`.

        ```{{chunk}} some-chunk
        a = 1
        ```

        ```{{code-cell}} python
        :tags: [remove-cell]
        hidden = 1
        ```

        ```{{code-cell}} python
        shown = 2
        ```

        ```{{exercise}}
        :label: ex-one
        Two words.
        ```
        """)
    counts = _lessons.count_page(text, tangle.markdown_parser(REPO))
    # 5 (title) + 390 + 1 (the term) + 1 ("see") + 2 ("lines a-b") + 2 (exercise)
    assert (counts.words, counts.listings, counts.cells, counts.exercises) == (401, 1, 1, 1)
    assert counts.cited == ['linear:2']
    lesson = _lessons.Lesson(1, 'x', 'part', 'title', [], [], ['o'], False,
                             counts.words, counts.listings, counts.cells, counts.exercises)
    expected = math.ceil(401 / _lessons.WORDS_PER_MINUTE + _lessons.MINUTES_PER_LISTING
                         + _lessons.MINUTES_PER_CELL + _lessons.MINUTES_PER_EXERCISE)
    assert lesson.minutes == expected


# ---------------------------------------------------------------- identifier index

KNOWN = {  # name as indexed -> the chunk that defines it
    'Value': 'value-init', 'Value.backward': 'backward', 'gpt': 'embeddings', 'softmax': 'softmax',
    'rmsnorm': 'rmsnorm', 'linear': 'linear', 'state_dict': 'parameters', 'params': 'parameters',
    'adam_step': 'adam', 'generate': 'generate', 'wte': 'parameters', 'lm_head': 'parameters',
    'layer{li}.attn_wq': 'parameters', 'vocab_size': 'special-token', 'BOS': 'special-token',
}


def test_known_names_are_found_in_their_defining_chunks(book, index):
    """The analysis finds the program's main names, each defined in the chunk that really defines it."""
    defined, _ = index
    top = {e.name: e for e in defined if e.scope in ('', 'Value', 'state_dict', 'Value attributes')}
    for name, chunk_name in KNOWN.items():
        assert name in top, f'{name} not indexed'
        assert book.locate(top[name].line)[0].name == chunk_name, name
    assert top['layer{li}.attn_wq'].keys == ['layer0.attn_wq']
    assert top['wte'].keys == ['wte']
    uses = {name: {book.locate(line)[0].name for line in top[name].uses} for name in ('gpt', 'Value.backward', 'BOS')}
    assert uses['gpt'] == {'name-loss', 'generate'}
    assert uses['Value.backward'] == {'train-loop'}
    assert {'encode-decode', 'generate'} <= uses['BOS']


def test_every_def_and_class_is_indexed_as_a_regex_finds_them(program, index):
    """Cross-check with a second, simple method: every `def` and `class` line the regex sees, and nothing else."""
    defined, _ = index
    by_regex = set()
    for number, text in enumerate(program, 1):
        match = re.match(r'^(\s*)(def|class)\s+(\w+)', text)
        if match:
            by_regex.add(('Value.' if match.group(1) else '') + match.group(3) + f'@{number}')
    by_ast = {f'{e.name}@{e.line}' for e in defined if e.kind in (_identifiers.FUNCTION, _identifiers.CLASS,
                                                                   _identifiers.METHOD)}
    assert by_ast == by_regex


COMPREHENSIONS = ('listcomp', 'genexpr', 'setcomp', 'dictcomp')


def comprehension_names(table):
    """The loop variables of the comprehensions of one scope (comprehensions inside them included)."""
    names = set()
    for child in table.get_children():
        if child.get_name() in COMPREHENSIONS:
            names |= {n for n in child.get_locals() if n not in ('.0', '_')} | comprehension_names(child)
    return names


def functions(table):
    """The function scopes directly under a symtable (comprehensions are not functions here)."""
    return [c for c in table.get_children() if c.get_type() == 'function' and c.get_name() not in COMPREHENSIONS]


def test_scopes_agree_with_pythons_symtable(index):
    """Module names, each function's parameters, locals and comprehension variables match Python's own symtable."""
    defined, _ = index
    source = (REPO / 'microgpt.py').read_text(encoding='utf-8')
    table = symtable.symtable(source, 'microgpt.py', 'exec')

    def ours(scope, *kinds):
        return {e.name.split('.')[0] if e.kind == _identifiers.MODULE else e.name
                for e in defined if e.scope == scope and e.kind in kinds}

    module_names = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    assert ours('', _identifiers.GLOBAL, _identifiers.FUNCTION, _identifiers.CLASS, _identifiers.MODULE) == module_names
    assert ours('', _identifiers.COMPREHENSION) == comprehension_names(table)
    for function in functions(table):
        params = set(function.get_parameters())
        assert ours(function.get_name(), _identifiers.PARAMETER) == params, function.get_name()
        assert ours(function.get_name(), _identifiers.LOCAL) == set(function.get_locals()) - params, function.get_name()
        assert ours(function.get_name(), _identifiers.COMPREHENSION) == comprehension_names(function), function.get_name()
    methods = [m for c in table.get_children() if c.get_type() == 'class' for m in functions(c)]
    assert ours('Value methods', _identifiers.PARAMETER, _identifiers.LOCAL) == set().union(*(m.get_locals() for m in methods))
    assert ours('Value methods', _identifiers.COMPREHENSION) == set().union(*(comprehension_names(m) for m in methods))


def test_the_count_of_identifiers_matches_an_independent_count_and_the_page(book, index):
    """The number of names indexed equals a count made from symtable and regexes, and the page shows each once."""
    defined, _ = index
    source = (REPO / 'microgpt.py').read_text(encoding='utf-8')
    table = symtable.symtable(source, 'microgpt.py', 'exec')
    count = len({s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()})
    count += len(comprehension_names(table))
    for function in functions(table):
        count += len(set(function.get_locals())) + len(comprehension_names(function))
    for cls in (c for c in table.get_children() if c.get_type() == 'class'):
        count += len({s.get_name() for s in cls.get_symbols() if s.is_assigned()})   # its methods and __slots__
        count += len(set().union(*(m.get_locals() for m in functions(cls))))          # merged over the methods
        count += len(set().union(*(comprehension_names(m) for m in functions(cls))))
    slots = re.search(r'__slots__ = \(([^)]*)\)', source).group(1)
    count += len(set(re.findall(r"'(\w+)'", slots)) | set(re.findall(r'self\.(\w+) =', source)))
    count += len(set(re.findall(r"'(\w+)': matrix\(", source)) | set(re.findall(r"state_dict\[f?'([^']+)'\] =", source)))
    assert len(defined) == count
    shown = ''.join(_identifiers.group_markdown(group, book) for group in ('program', 'value', 'keys', 'locals'))
    labels = re.findall(r'^\* - \((identifier-[a-z0-9-]+)\)=$', shown, re.M)
    assert len(labels) == len(set(labels)) == len(defined)
    python = _identifiers.group_markdown('python', book)
    assert not set(labels) & set(re.findall(r'^\* - \((identifier-[a-z0-9-]+)\)=$', python, re.M))


def test_every_key_the_program_builds_is_indexed(index):
    """The keys of the real state_dict (the program run through its parameters chunk) are all in the index."""
    defined, _ = index
    indexed = {key for e in defined if e.kind == _identifiers.KEY for key in e.keys}
    assert set(tangle.load('parameters', REPO).state_dict) == indexed


# ---------------------------------------------------------------- glossary

CODE_DIRECTIVES = {'code-cell', 'chunk', 'show', 'code-block', 'code', 'sourcecode', 'math', 'raw'}


def term_roles(text, parser):
    """The targets of every {term} role of MyST text, directives' bodies included, lowercased as Sphinx looks them up."""
    found = []
    for token in parser.parse(text):
        if token.type in ('fence', 'colon_fence'):
            name, _ = _lessons.directive_of(token)
            if name and name not in CODE_DIRECTIVES:
                found += term_roles(_lessons.directive_body(token.content)[1], parser)
        for child in token.children or []:
            if child.type == 'myst_role' and child.meta.get('name') == 'term':
                found.append(_lessons.role_target(child.content).lower())
    return found


@pytest.fixture(scope='module')
def glossary_terms():
    """The terms of the one {glossary} block, lowercased."""
    text = (APPENDIX / 'glossary.md').read_text(encoding='utf-8')
    block = re.search(r'^```\{glossary\}\n(.*?)^```$', text, re.M | re.S).group(1)
    return [line.strip().lower() for line in block.splitlines() if line.strip() and not line[0].isspace()]


@pytest.fixture(scope='module')
def term_links(book):
    """{docname: [term targets]} for every page of the book."""
    parser = tangle.markdown_parser(REPO)
    return {docname: term_roles(tangle.chapter_file(REPO, docname).read_text(encoding='utf-8'), parser)
            for docname in book.docnames}


def test_the_glossary_has_at_least_sixty_terms_each_once(glossary_terms):
    """Enough terms for the book, none defined twice."""
    assert len(glossary_terms) >= 60
    assert len(glossary_terms) == len(set(glossary_terms))


def test_every_term_role_points_to_a_glossary_entry(term_links, glossary_terms):
    """A {term} with no entry would break the build: name the page and the term."""
    dangling = sorted({(docname, term) for docname, terms in term_links.items() for term in terms
                       if term not in glossary_terms})
    assert not dangling, f'{{term}} roles with no glossary entry: {dangling}'


def test_every_glossary_term_is_linked_from_some_page(term_links, glossary_terms):
    """A term no page links to (other than the glossary itself) is dead weight or a forgotten link."""
    linked = {term for docname, terms in term_links.items() if docname != 'book/appendix/glossary' for term in terms}
    unused = [term for term in glossary_terms if term not in linked]
    assert not unused, f'glossary terms never linked with {{term}}: {unused}'


def test_every_glossary_term_is_taught_on_a_declared_page_of_the_book_that_links_it(term_links, glossary_terms):
    """The glossary's taught_in map names, for each term and for no other, a page of _toc.yml (a lesson, with its
    book number, or an appendix page) whose text links the term: "taught in lesson N" points where the idea is."""
    taught = _lessons.term_teachers(REPO)
    assert sorted(set(glossary_terms) - set(taught)) == [], 'terms with no declared page'
    assert sorted(set(taught) - set(glossary_terms)) == [], 'declared terms that are not in the glossary'
    number = {lesson.docname: lesson.number for lesson in _lessons.lessons(REPO)}
    for term, teacher in taught.items():
        assert teacher.docname in term_links, (term, teacher.docname)
        assert teacher.number == number.get(teacher.docname), (term, teacher)
        assert teacher.docname != 'book/appendix/glossary' and term in term_links[teacher.docname], \
            f'{term!r} is declared taught in {teacher.docname}, which does not link it with {{term}}'
    # The ideas the overview lessons only mention are taught later (round 2's review of the glossary).
    assert {t: taught[t].number for t in ('loss', 'temperature', 'sampling', 'held-out names', 'parameter',
                                          'autograd')} == {'loss': 25, 'temperature': 31, 'sampling': 30,
                                                           'held-out names': 29, 'parameter': 14, 'autograd': 10}


def test_a_term_declared_on_a_page_outside_the_book_is_an_error(tmp_path):
    """A taught_in entry naming a lesson that does not exist stops with the term and the page."""
    (tmp_path / '_toc.yml').write_text(MINI_TOC.replace('      - file: two\n', '      - file: two\n'
                                                         '  - caption: Appendix\n    chapters:\n'
                                                         '      - file: book/appendix/glossary\n'))
    (tmp_path / 'index.md').write_text('# Mini\n')
    (tmp_path / 'one.md').write_text(LESSON_WITH_OBJECTIVES)
    (tmp_path / 'two.md').write_text(LESSON_WITHOUT)
    (tmp_path / 'book' / 'appendix').mkdir(parents=True)
    glossary = tmp_path / 'book' / 'appendix' / 'glossary.md'
    glossary.write_text('---\ntaught_in:\n  loss: two\n---\n# Glossary\n')
    assert _lessons.term_teachers(tmp_path)['loss'] == _lessons.Teacher('two', 'How does y follow?', 2)
    glossary.write_text('---\ntaught_in:\n  loss: book/09-nowhere/01-lost\n---\n# Glossary\n')
    with pytest.raises(ValueError, match='"loss" is taught in book/09-nowhere/01-lost, which is not a page'):
        _lessons.term_teachers(tmp_path)


def test_term_roles_are_found_in_directives_and_across_lines():
    """The role reader sees roles in exercises and colon fences, with explicit titles and line breaks."""
    text = 'A {term}`Token` and {term}`linear\nlayer <Linear Layer>`.\n\n```{exercise}\n:label: e\nSee {term}`BOS`.\n```\n' \
           '\n:::{note}\n{term}`loss`\n:::\n\n```{code-cell} python\n# {term}`not-a-role`\n```\n'
    assert term_roles(text, tangle.markdown_parser(REPO)) == ['token', 'linear layer', 'bos', 'loss']


def test_glossary_links_carry_their_definition_as_a_hover_title(tmp_path):
    """The glossary_hover extension puts each term's definition in the title of every link to it."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'conf.py').write_text("extensions = ['glossary_hover']\n")
    (src / 'index.rst').write_text('Index\n=====\n\n.. toctree::\n\n   glossary\n   page\n')
    (src / 'glossary.rst').write_text('Glossary\n========\n\n.. glossary::\n\n   BOS\n      The token that marks'
                                      ' where a name\n      starts and ends.\n\n   vector\n      A list of numbers,'
                                      ' see :term:`BOS`.\n')
    (src / 'page.rst').write_text('Page\n====\n\nA :term:`bos` and a :term:`list <vector>`.\n')
    with patch_docutils(str(src)), docutils_namespace():   # as sphinx-build does: no registration leaks out
        app = Sphinx(str(src), str(src), str(tmp_path / 'out'), str(tmp_path / 'doctrees'), 'html',
                     status=None, warning=None, freshenv=True)
        app.build()
    page = (tmp_path / 'out' / 'page.html').read_text(encoding='utf-8')
    assert 'href="glossary.html#term-BOS" title="The token that marks where a name starts and ends."' in page
    assert 'title="A list of numbers, see BOS."' in page
    glossary = (tmp_path / 'out' / 'glossary.html').read_text(encoding='utf-8')
    assert 'href="#term-BOS" title="The token that marks where a name starts and ends."' in glossary
    assert glossary_hover.shorten('word ' * 200).endswith(' \u2026')


def test_the_book_enables_the_hover_extension():
    """_config.yml lists the extension with the folder it lives in."""
    config = yaml.safe_load((REPO / '_config.yml').read_text(encoding='utf-8'))
    local = config['sphinx']['local_extensions']
    assert (REPO / local['glossary_hover']).resolve() == EXTENSIONS
