r"""Sphinx extension: the book on paper, for the LaTeX builds (the book's PDF and the handouts).

Nothing changes for the HTML and the EPUB.

    figures     Vector figures. When a LaTeX build starts, its kernels are told to write every figure as PDF
                beside the PNG: matplotlib's inline backend through an IPython profile of the build
                (<build>/ipython-print, IPYTHONDIR; set once here, not in the lessons), the graph figures
                through MICROGPT_FIGURES=pdf, which book/_ext/runtime.py's png() reads. MyST-NB's LaTeX output
                prefers application/pdf to image/png; the HTML and the EPUB take the PNG. On paper a line that
                does not choose its style gets one with its colour (solid, dashed, ...): a black-and-white
                copy still tells the lines apart; and no text prints under 7 pt (book/_ext/paper_kernel.py,
                run by each kernel at its start, enlarges it in the PDF alone).
    next        The web's "Next: ..." line at the end of a lesson is navigation: on paper the next lesson
                follows, and the line alone on a last page is a page of nothing. It is left out.
    references  A reference to a lesson or a section ({ref}, {doc}) carries the lesson's number and the page
                in the book's PDF: "title (lesson 19, p. 104)"; within the same lesson, "(p. 104)" when the
                target is on another page (the preamble's \mgptpageref). (The handouts name other lessons by
                number instead: book/_ext/editions.py.)
    index       The book's index has real entries: each glossary term at every place a lesson links it
                ({term}), beside its definition in the glossary (the bold page), and each name microgpt.py
                defines (functions, classes, methods, module-level variables) wherever the prose writes it
                as code, in code type.
    title page  The web addresses of the book and of microgpt.py, from repository.url in _config.yml (the
                book's address can be set apart with html.baseurl); the title page prints them when set.
    metadata    The PDF's Title and Author (hyperref), from the document's title and author.

Listed under sphinx.local_extensions in _config.yml.
"""

import ast
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import texescape

FIGURES_VARIABLE = 'MICROGPT_FIGURES'   # book/_ext/runtime.py's png() writes PDF too when it says "pdf"
KERNEL_CONFIG = """\
# Written by book/_ext/paper.py for a LaTeX build: every matplotlib figure is also written as PDF (vector),
# which the LaTeX output takes instead of the PNG; fonts embedded as TrueType. Lines that do not choose their own
# style take one from the cycle with their colour (solid, dashed, dash-dot, dotted, ...), so that a black-and-white
# copy still tells them apart.
from cycler import cycler
c.InlineBackend.figure_formats = {'png', 'pdf'}
c.InlineBackend.rc = {
    'pdf.fonttype': 42,
    'axes.prop_cycle': cycler(color=['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
                                     '#7f7f7f', '#bcbd22', '#17becf'])
                       + cycler(linestyle=['-', '--', '-.', ':', (0, (5, 1, 1, 1, 1, 1)), '-', '--', '-.', ':',
                                           (0, (5, 1, 1, 1, 1, 1))]),
}
"""
NEXT = 'Next:'


def is_latex(app):
    return getattr(app.builder, 'format', None) == 'latex'


def edition(app):
    return getattr(app.config, 'microgpt_edition', 'student')


# ------------------------------------------------------------------ configuration: title page, metadata

def addresses(config):
    """(the book's web address, microgpt.py's), each '' when unknown: from repository.url (the HTML is published to
    GitHub Pages, microgpt.py is in the repository), html.baseurl overriding the book's."""
    options = config.html_theme_options or {}
    repository = (options.get('repository_url') or '').rstrip('/')
    branch = options.get('repository_branch') or 'main'
    book = (config.html_baseurl or '').strip()
    program = ''
    found = re.fullmatch(r'https://github\.com/([^/]+)/([^/]+?)(?:\.git)?', repository)
    if found:
        book = book or f'https://{found.group(1).lower()}.github.io/{found.group(2)}/'
        program = f'https://github.com/{found.group(1)}/{found.group(2)}/blob/{branch}/microgpt.py'
    return book, program


def title_page_addresses(config):
    """\\mgptaddresses: the lines of the title page that give the web addresses (nothing when none is set)."""
    book, program = addresses(config)
    lines = []
    if book:
        lines.append(rf'The book on the web: \url{{{book}}}')
    if program:
        lines.append(rf'The program, \sphinxcode{{microgpt.py}}: \url{{{program}}}')
    return r'\newcommand\mgptaddresses{' + '\\par '.join(lines) + '}'


METADATA = r"""\makeatletter
% The PDF's metadata: the document's title and author (hyperref's pdfinfo).
\AtBeginDocument{\hypersetup{pdftitle={\@title},pdfauthor={\@author},pdfsubject={SUBJECT}}}
\makeatother"""


def on_config_inited(app, config):
    """The title page's addresses and the PDF's metadata, after the preamble of _config.yml."""
    subject = texescape.escape(config.project or '', config.latex_engine)
    preamble = '\n'.join([config.latex_elements.get('preamble', ''), title_page_addresses(config),
                          METADATA.replace("SUBJECT", subject)])
    config.latex_elements = {**config.latex_elements, 'preamble': preamble}


# ------------------------------------------------------------------ figures

def on_builder_inited(app):
    """A LaTeX build: the kernels it starts write figures as PDF too (see the module's docstring)."""
    if not is_latex(app):
        return
    profile = Path(app.doctreedir).parent / 'ipython-print' / 'profile_default'
    profile.mkdir(parents=True, exist_ok=True)
    (profile / 'ipython_kernel_config.py').write_text(KERNEL_CONFIG, encoding='utf-8')
    # Each kernel runs book/_ext/paper_kernel.py at its start, in a namespace of its own (the page's stays clean).
    startup = profile / 'startup'
    startup.mkdir(exist_ok=True)
    source = (Path(__file__).with_name('paper_kernel.py')).read_text(encoding='utf-8')
    (startup / '00-paper.py').write_text(
        f"exec(compile({source!r}, 'paper_kernel.py', 'exec') , _paper := {{}}); _paper['install'](); del _paper\n",
        encoding='utf-8')
    os.environ['IPYTHONDIR'] = str(profile.parent)
    os.environ[FIGURES_VARIABLE] = 'pdf'


# ------------------------------------------------------------------ the pages

def program_names(root):
    """{name as the prose writes it: name as the index prints it} of what microgpt.py defines."""
    path = Path(root) / 'microgpt.py'
    if not path.is_file():
        return {}
    tree = ast.parse(path.read_text(encoding='utf-8'))
    names = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = node.name + '()'
        elif isinstance(node, ast.ClassDef):
            names[node.name] = node.name
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith('__'):
                    names.setdefault(item.name, item.name + '()')
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and len(name.id) > 1:
                        names.setdefault(name.id, name.id)
    return names


CODE_NAME_RE = re.compile(r'(?:Value\.)?([A-Za-z_][A-Za-z0-9_]*)(?:\(.*\))?')


def in_moving_text(node):
    """True inside a title, caption or term, where an index entry or a page number has no place."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, (nodes.title, nodes.caption, nodes.term, nodes.subtitle, addnodes.toctree,
                               nodes.literal_block, nodes.table)):
            return True
        parent = parent.parent
    return False


def docname_of(node, default):
    """The page node comes from in the LaTeX builder's one big document, whose sections carry their page's name
    (Sphinx's inline_all_toctrees; the children it moves under start_of_file keep their old parents)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section) and parent.get('docname'):
            return parent['docname']
        parent = parent.parent
    return default


def lesson_label(app):
    """{docname: 'lesson 4' or 'appendix B'} for every page of _toc.yml's parts."""
    import editions  # beside this file
    labels = {docname: f'lesson {number}' for number, docname in editions.lessons(app.srcdir)}
    appendix = [name for _, numbered, docnames in editions.parts(app.srcdir) if not numbered for name in docnames]
    labels.update({docname: f'appendix {chr(ord("A") + i)}' for i, docname in enumerate(appendix)})
    return labels


def latex_label(uri):
    """The LaTeX label Sphinx's writer gives an internal reference's target ('%doc#id' or '%doc')."""
    docname, _, labelid = uri[1:].partition('#')
    target = f'{docname}:{labelid}' if labelid else f'{docname}::doc'
    return r'\detokenize{%s}' % target.translate(texescape.tex_replace_map).encode(
        'ascii', 'backslashreplace').decode('ascii').replace('\\', '_')


def xref_classes(reference):
    inner = reference.next_node(nodes.inline)
    return set(inner['classes']) if inner is not None else set()


def drop_next_lines(doctree):
    for paragraph in list(doctree.findall(nodes.paragraph)):
        # "**Next:** {ref}`...`" or "Next: {ref}`...`" (in a handout the link is text by now: editions.py)
        if paragraph.astext().lstrip().startswith(NEXT):
            paragraph.parent.remove(paragraph)


def add_pages_to_references(app, doctree, docname):
    labels = lesson_label(app)
    for reference in list(doctree.findall(nodes.reference)):
        uri = reference.get('refuri') or ('#' + reference['refid'] if reference.get('refid') else '')
        if not uri.startswith(('%', '#')) or not {'std-ref', 'std-doc'} & xref_classes(reference) \
                or in_moving_text(reference):
            continue
        here = docname_of(reference, docname)
        if uri.startswith('#'):   # a label of the same page
            uri = f'%{here}{uri}'
        target = uri[1:].partition('#')[0]
        where = labels.get(target) if target != here else None
        label = latex_label(uri)
        text = rf' ({where}, p.~\pageref{{{label}}})' if where else rf'\mgptpageref{{{label}}}'
        reference.parent.insert(reference.parent.index(reference) + 1, nodes.raw('', text, format='latex'))


def term_entry(term, main=''):
    """The \\index of a glossary term: its text as the sort key and as the entry, in characters only (no command, which
    LaTeX would write differently inside the glossary's terms), the page in bold where main."""
    text = re.sub(r'[!@|"{}\\#$%&^_~]', '', term)
    return rf'\index{{{text}@{text}' + ('|spxpagem' if main else '') + '}'


def add_index_entries(app, doctree, docname):
    std = app.env.get_domain('std')
    terms = {labelid: name for (objtype, name), (_, labelid) in std.objects.items() if objtype == 'term'}
    glossary = {docname for (objtype, _), (docname, _) in std.objects.items() if objtype == 'term'}
    names = program_names(app.srcdir)
    engine = app.config.latex_engine
    for entry in list(doctree.findall(addnodes.index)):
        # The glossary's own entries (Sphinx's, inside the term) written as the ones below are, with the page in bold:
        # makeindex merges entries only when their text is the same, character for character.
        if docname_of(entry, docname) in glossary and all(kind == 'single' for kind, *_ in entry['entries']):
            entry.replace_self([nodes.raw('', term_entry(term, main), format='latex')
                                for _, term, _, main, _ in entry['entries']])
    for reference in list(doctree.findall(nodes.reference)):
        uri = reference.get('refuri', '')
        if 'std-term' not in xref_classes(reference) or in_moving_text(reference) \
                or docname_of(reference, docname) in glossary:
            continue
        term = terms.get(uri.partition('#')[2])
        if term:
            reference.parent.insert(reference.parent.index(reference), nodes.raw('', term_entry(term), format='latex'))
    for literal in list(doctree.findall(nodes.literal)):
        if not isinstance(literal.parent, (nodes.paragraph, nodes.list_item, nodes.inline, nodes.emphasis,
                                           nodes.strong)) or in_moving_text(literal):
            continue
        found = CODE_NAME_RE.fullmatch(literal.astext().strip())
        name = found and names.get(found.group(1))
        if name:
            key = found.group(1).lower()
            shown = texescape.escape(name, engine)
            literal.parent.insert(literal.parent.index(literal), nodes.raw(
                '', rf'\index{{{key}@\sphinxcode{{\sphinxupquote{{{shown}}}}}}}', format='latex'))


def on_doctree_resolved(app, doctree, docname):
    """The LaTeX builds: no "Next:" line; the book: pages in references, and the index's entries."""
    if not is_latex(app):
        return
    drop_next_lines(doctree)
    if edition(app) != 'handouts':
        add_pages_to_references(app, doctree, docname)
        add_index_entries(app, doctree, docname)


def setup(app):
    app.connect('config-inited', on_config_inited)
    app.connect('builder-inited', on_builder_inited)
    app.connect('doctree-resolved', on_doctree_resolved)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
