"""Sphinx extension: hovering a glossary link shows the term's definition; each entry names where it is taught.

Every {term} link gets its definition as the HTML title attribute, set while the book is built,
so the tooltip needs no script and works offline and from file:// pages. Math in a definition is
shown as plain text (1 - βᵗ, not 1 - \\beta^t), since a title cannot render it. In the book (a
folder with _toc.yml), every glossary entry also ends with a link to the page that teaches the term,
declared in the glossary's front matter (taught_in, read by _lessons.term_teachers), and the lesson
that links it first when that one comes earlier. It also gives every numbered line of the line atlas
(the page labelled line-atlas) an id, L1 to L200, so a link such as line-atlas.html#L120 lands on the line.
Listed under sphinx.local_extensions in _config.yml.
"""

import importlib
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes

MAX_CHARS = 400   # a tooltip longer than this is cut at a word and ends with an ellipsis

# TeX commands a definition may use, as the characters a title can show.
TEX_SYMBOLS = {
    'alpha': 'α', 'beta': 'β', 'gamma': 'γ', 'delta': 'δ', 'epsilon': 'ε', 'varepsilon': 'ε', 'eta': 'η',
    'theta': 'θ', 'lambda': 'λ', 'mu': 'μ', 'pi': 'π', 'sigma': 'σ', 'Sigma': 'Σ', 'sum': 'Σ', 'prod': 'Π',
    'approx': '≈', 'times': '×', 'cdot': '·', 'le': '≤', 'leq': '≤', 'ge': '≥', 'geq': '≥', 'ne': '≠',
    'neq': '≠', 'infty': '∞', 'to': '→', 'rightarrow': '→', 'partial': '∂', 'sqrt': '√', 'ldots': '…',
    'cdots': '⋯', 'dots': '…', 'mid': '|', 'pm': '±', 'log': 'log', 'exp': 'exp', 'max': 'max', 'min': 'min',
}
SUPERSCRIPTS = dict(zip('0123456789+-=()intk', '⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿᵗᵏ'))
SUBSCRIPTS = dict(zip('0123456789+-=()aeijklmnot', '₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₜ'))


def plain_math(tex):
    """Inline TeX as plain Unicode text, for a title attribute: 1 - \\beta^t gives 1 - βᵗ."""
    text = re.sub(r'\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}', r'\1/\2', tex)
    text = re.sub(r'\\(?:text|mathrm|mathit|operatorname)\{([^{}]*)\}', r'\1', text)
    text = re.sub(r'\\([A-Za-z]+)', lambda m: TEX_SYMBOLS.get(m.group(1), m.group(1)), text)
    text = re.sub(r'\\[,;:! ]', ' ', text)

    def script(match, table, mark):
        body = match.group(1) if match.group(1) is not None else match.group(2)
        if all(c in table for c in body):
            return ''.join(table[c] for c in body)
        return mark + (body if len(body) == 1 else f'({body})')
    text = re.sub(r'\^(?:\{([^{}]*)\}|(\S))', lambda m: script(m, SUPERSCRIPTS, '^'), text)
    text = re.sub(r'_(?:\{([^{}]*)\}|(\S))', lambda m: script(m, SUBSCRIPTS, '_'), text)
    return ' '.join(text.replace('{', '').replace('}', '').replace('\\', '').split())


def definition_text(definition):
    """The text of a definition, its math made plain, on one line and shortened."""
    definition = definition.deepcopy()
    for math in list(definition.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block)))):
        math.replace_self(nodes.Text(plain_math(math.astext())))
    return shorten(definition.astext())


def shorten(text):
    """The definition on one line, cut to MAX_CHARS at a word boundary."""
    text = ' '.join(text.split())
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS].rsplit(' ', 1)[0] + ' \u2026'


def collect_definitions(app, doctree):
    """Remember the definition of every term of the glossaries of the page just read, by term id."""
    found = {}
    for glossary in doctree.findall(addnodes.glossary):
        for item in glossary.findall(nodes.definition_list_item):
            definition = item.next_node(nodes.definition)
            text = definition_text(definition) if definition else ''
            for term in item.findall(nodes.term):
                for node_id in term['ids']:
                    found[node_id] = text
    store = definitions(app.env)
    store.pop(app.env.docname, None)
    if found:
        store[app.env.docname] = found
        add_first_uses(app, doctree)


def add_first_uses(app, doctree):
    """In the book, end every glossary entry with a link to the page that teaches its term (declared in the
    glossary's front matter, _lessons.term_teachers) and, when a lesson links it earlier, that lesson's number."""
    root = Path(app.srcdir)
    if not (root / '_toc.yml').exists():
        return
    _lessons = appendix_module(root, '_lessons')   # it needs the book's tangle.py
    taught = _lessons.term_teachers(root)
    first = _lessons.term_first_uses(root)
    for docname in {t.docname for t in taught.values()} | {lesson.docname for lesson in first.values()}:
        app.env.note_dependency(str(_lessons.tangle.chapter_file(root, docname)))
    for glossary in doctree.findall(addnodes.glossary):
        for item in glossary.findall(nodes.definition_list_item):
            definition = item.next_node(nodes.definition)
            terms = [term.astext().strip().lower() for term in item.findall(nodes.term)]
            teacher = next((taught[term] for term in terms if term in taught), None)
            if definition is None or teacher is None:
                continue
            definition += taught_paragraph(app, teacher, next((first[t] for t in terms if t in first), None))


def taught_paragraph(app, teacher, first=None):
    """*Taught in lesson 25:* How wrong is a guess? (or *Taught in the appendix:* Math refresher), and
    "(first linked in lesson 1)" when a lesson before the teaching one links the term."""
    where = f'lesson {teacher.number}' if teacher.number else 'the appendix'
    link = addnodes.pending_xref('', nodes.inline('', teacher.title, classes=['xref', 'std', 'std-doc']),
                                 refdomain='std', reftype='doc', reftarget='/' + teacher.docname,
                                 refdoc=app.env.docname, refexplicit=True, refwarn=True)
    words = [nodes.emphasis('', f'Taught in {where}: '), link]
    if first is not None and (teacher.number is None or first.number < teacher.number):
        words.append(nodes.Text(f' (first linked in lesson {first.number})'))
    return nodes.paragraph('', '', *words, classes=['glossary-taught-in'])


def appendix_module(root, name):
    """Import a helper module of the appendix pages (book/appendix/NAME.py), as those pages do."""
    folder = str(root / 'book' / 'appendix')
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def definitions(env):
    """{docname: {term id: definition}} kept in the build environment."""
    if not hasattr(env, 'glossary_hover'):
        env.glossary_hover = {}
    return env.glossary_hover


def purge(app, env, docname):
    """Forget the definitions of a page that is read again or removed."""
    definitions(env).pop(docname, None)


def merge(app, env, docnames, other):
    """Bring in the definitions read by a parallel worker."""
    for docname in docnames:
        if docname in definitions(other):
            definitions(env)[docname] = definitions(other)[docname]


def add_titles(app, doctree, docname):
    """Give every resolved {term} reference of a page its definition as title."""
    by_id = {}
    for found in definitions(app.env).values():
        by_id.update(found)
    for ref in doctree.findall(nodes.reference):
        if not any('std-term' in child.get('classes', []) for child in ref.children if isinstance(child, nodes.Element)):
            continue
        if len(ref.astext().strip()) == 1:
            continue   # a one-letter link is the glossary's letter bar, not a use of the term
        target = ref.get('refid') or ref.get('refuri', '').partition('#')[2]
        if target in by_id and by_id[target]:
            ref['reftitle'] = by_id[target]


ATLAS_LABEL = 'line-atlas'
LINENO = re.compile(r'<span class="linenos">(\s*)(\d+)</span>')


def anchor_atlas_lines(app, pagename, templatename, context, doctree):
    """On the line-atlas page, give each line number of the listings an id: L1, L2, ..."""
    target = app.env.domaindata.get('std', {}).get('labels', {}).get(ATLAS_LABEL)
    if not target or target[0] != pagename or 'body' not in context:
        return
    context['body'] = LINENO.sub(lambda m: f'<span class="linenos" id="L{m.group(2)}">{m.group(1)}{m.group(2)}</span>',
                                 context['body'])


def setup(app):
    """Connect the events; the extension keeps its data in the environment, so it is parallel safe."""
    app.connect('doctree-read', collect_definitions)
    app.connect('env-purge-doc', purge)
    app.connect('env-merge-info', merge)
    app.connect('doctree-resolved', add_titles)
    app.connect('html-page-context', anchor_atlas_lines)
    return {'version': '1.0', 'env_version': 1, 'parallel_read_safe': True, 'parallel_write_safe': True}
