"""Sphinx extension: the student, teacher and handout editions of the book.

The environment variable MICROGPT_EDITION chooses the edition; the Makefile sets it:

    student (default)  HTML: solutions in closed dropdowns; downloadable page sources without them.
                       LaTeX and EPUB: no solutions.
    teacher            Solutions open on the page, and each lesson starts with its teaching notes
                       (time, misconceptions) from book/teacher-notes.yml; what a lesson assumes is in
                       every edition's opening box (book/_ext/objectives.py).
    handouts           LaTeX: two documents per lesson of _toc.yml, from one build: the handout (its
                       exercises, no solutions) and the answer key (each exercise followed by its
                       solution, the teaching notes on the first page). Both number sections, listings,
                       figures, tables and exercises as the book does (19.1, Fig. 19.1), and a reference
                       to another lesson reads as its title and number. A third document, the
                       exercise sheet, and each lesson's exit quiz: book/_ext/sheets.py.

The edition is also a Sphinx tag, so a page may hold ```{only} teacher``` blocks.
Listed under sphinx.local_extensions in _config.yml.
"""

import os
import re
import subprocess
from pathlib import Path

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.errors import ConfigError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging, texescape

EDITION_VARIABLE = 'MICROGPT_EDITION'
EDITIONS = ('student', 'teacher', 'handouts')
NOTES_FILE = 'book/teacher-notes.yml'
# The LaTeX theme of the answer keys: Sphinx's howto layout under a name of its own, which tells the
# LaTeX writer to print what only the answer key shows (see AnswerKeyOnly).
ANSWER_KEY_THEME = 'answerkey'
LATEX_THEMES = Path(__file__).resolve().parent / 'latex-themes'
# What a student's download leaves out: solutions, and the exit quiz with its answers (book/_ext/sheets.py).
SOLUTION_FENCE_RE = re.compile(r'^\{(?:solution|quiz)(-start|-end)?\}')
CHECK_FENCE_RE = re.compile(r'^\{check\}')  # what an exercise's answer box accepts (checks.py): goes with the solutions
logger = logging.getLogger(__name__)


def parts(root):
    """[(caption, numbered, [docname, ...])] of every part of _toc.yml, in order."""
    from sphinx_external_toc.parsing import parse_toc_yaml
    site_map = parse_toc_yaml(Path(root) / '_toc.yml')
    return [(part.caption, part.numbered, [re.sub(r'\.(md|ipynb|rst)$', '', name) for name in part.files()])
            for part in site_map[site_map.root.docname].subtrees if part.files()]


def latex_parts(root, engine):
    """LaTeX that names each part of _toc.yml by its first page, for the \\mgptpart macro of _config.yml's
    preamble; the unnumbered part (the appendix) letters its chapters."""
    lines = []
    for caption, numbered, docnames in parts(root):
        option = '' if numbered else r'[\mgpt@appendix]'
        lines.append(rf'\mgptpart{option}{{{docnames[0]}}}{{{texescape.escape(caption, engine)}}}')
    return '\n'.join([r'\makeatletter'] + lines + [r'\makeatother'])


def title_page_facts(root, engine):
    """\\mgptlines (microgpt.py's line count) and \\mgptversion (the date and commit of the sources) for
    the title page of _config.yml's maketitle."""
    lines = len((Path(root) / 'microgpt.py').read_text(encoding='utf-8').splitlines())
    return rf'\newcommand\mgptlines{{{lines}}}' + '\n' + edition_fact(root, engine)


def edition_fact(root, engine):
    """\\mgptversion: the edition of the book, "Edition of 2026-12-06 (commit 1234abc)", the date and commit of
    the sources (the book's title page, and every handout, answer key and exercise sheet)."""
    try:
        done = subprocess.run(['git', '-C', str(root), 'log', '-1', '--format=%cs %h'],
                              capture_output=True, text=True, timeout=30)
        date, commit = done.stdout.split() if done.returncode == 0 else ('', '')
    except (OSError, ValueError, subprocess.TimeoutExpired):
        date, commit = '', ''
    version = f'Edition of {date} (commit {commit})' if date else 'Edition built from sources outside git'
    return rf'\newcommand\mgptversion{{{texescape.escape(version, engine)}}}'


def lessons(root):
    """[(number, docname)] of every page of a numbered part of _toc.yml, numbered 1, 2, ... as the book numbers them."""
    return list(enumerate((name for _, numbered, docnames in parts(root) if numbered for name in docnames), 1))


def read_notes(root):
    """The teaching notes, {docname: {'time': str, 'notes': [str]}}."""
    return yaml.safe_load((Path(root) / NOTES_FILE).read_text(encoding='utf-8')) or {}


def handout_name(number, docname):
    """The file name (no suffix) of a lesson's handout: lesson-05-letters-to-numbers."""
    return f'lesson-{number:02d}-' + re.sub(r'^\d+-', '', docname.rsplit('/', 1)[-1])


def answer_key_name(number, docname):
    """The file name (no suffix) of a lesson's answer key: lesson-05-letters-to-numbers-answers."""
    return handout_name(number, docname) + '-answers'


def edition(app):
    """The edition this build makes."""
    return app.config.microgpt_edition


def on_config_inited(app, config):
    """Read the edition from the environment and set what it changes in the configuration."""
    chosen = os.environ.get(EDITION_VARIABLE, '').strip() or 'student'
    if chosen not in EDITIONS:
        raise ConfigError(f'{EDITION_VARIABLE}={chosen!r}: the edition is one of {", ".join(EDITIONS)}')
    config.microgpt_edition = chosen
    app.tags.add(chosen)
    if chosen == 'teacher':
        config.html_title = f'{config.html_title or config.project} (teacher edition)'
    if chosen == 'handouts':
        # A handout is short: Sphinx's own title, no table of contents, no index.
        # Each is dated by the edition of the book (\mgptversion: the date and commit of the sources), which
        # book/_ext/sheets.py also prints in every page's footer.
        preamble = '\n'.join([config.latex_elements.get('preamble', ''), edition_fact(app.srcdir, config.latex_engine)])
        # A handout is a worksheet, not a book to read through: Sphinx's own page (10 pt type, 1 in margins, a
        # 6.5 in line) keeps the teaching notes on the answer key's first page and an exercise sheet on two pages;
        # the book's PDF sets its 80-character column in _config.yml.
        config.latex_elements = {**config.latex_elements, 'maketitle': r'\sphinxmaketitle', 'preamble': preamble,
                                 'tableofcontents': '', 'makeindex': '', 'printindex': '',
                                 'pointsize': '10pt', 'sphinxsetup': '',
                                 # Figures stay where the lesson puts them: a floated figure could split a
                                 # solution across its page break, or land between a question and its room.
                                 'figure_align': 'H'}
        config.latex_theme_path = [*config.latex_theme_path, str(LATEX_THEMES)]  # the answer keys' theme
    elif '\\mgptpart' in config.latex_elements.get('preamble', ''):
        # The book's PDF: a page, a contents entry and a bookmark for each part of _toc.yml, and the
        # facts its title page prints.
        preamble = '\n'.join([config.latex_elements['preamble'], latex_parts(app.srcdir, config.latex_engine),
                              title_page_facts(app.srcdir, config.latex_engine)])
        config.latex_elements = {**config.latex_elements, 'preamble': preamble}


def on_builder_inited(app):
    """Load the teaching notes once for the teacher edition and the answer keys; every page reads them."""
    app.microgpt_notes = read_notes(app.srcdir) if edition(app) in ('teacher', 'handouts') else {}
    app.microgpt_lessons = dict((docname, number) for number, docname in lessons(app.srcdir))


def inline_text(text):
    """Plain text with `code` spans as literal nodes."""
    parts = re.split(r'`([^`]+)`', text)
    return [nodes.literal(part, part) if i % 2 else nodes.Text(part) for i, part in enumerate(parts) if part]


def notes_admonition(app, docname, entry):
    """The "Teaching notes" admonition of one lesson."""
    items = nodes.bullet_list()

    def item(*children):
        items.append(nodes.list_item('', nodes.paragraph('', '', *children)))

    item(nodes.strong('Suggested time:', 'Suggested time:'), nodes.Text(' '), *inline_text(str(entry['time'])))
    for note in entry['notes']:
        item(*inline_text(note))
    return nodes.admonition('', nodes.title('Teaching notes', 'Teaching notes'), items,
                            classes=['admonition-teaching-notes', 'tip'])


def on_doctree_read(app, doctree):
    """Teacher edition: open every solution, and put the teaching notes under the lesson's title."""
    if edition(app) != 'teacher':
        return
    from sphinx_exercise.nodes import solution_node
    for solution in doctree.findall(solution_node):
        solution['classes'] = [c for c in solution['classes'] if c != 'dropdown']
    entry = app.microgpt_notes.get(app.env.docname)
    section = doctree.next_node(nodes.section)
    if entry and section is not None:
        title = section.next_node(nodes.title)
        section.insert(section.index(title) + 1, notes_admonition(app, app.env.docname, entry))


def on_env_updated(app, env):
    """Handouts: one short "howto" LaTeX document per lesson of _toc.yml, titled by the lesson's H1."""
    if edition(app) != 'handouts':
        return
    # Set only now: jupyter-book rewrites latex_documents after Sphinx starts and fails on a list
    # of several. An empty title makes Sphinx's LaTeX writer take the page's H1 as the title.
    # The answer key of each lesson is a second document of the same build, in the answer key's theme.
    engine = app.config.latex_engine
    byline = texescape.escape(f'{app.config.html_title} \u00b7 lesson ', engine)
    app.config.latex_documents = [
        document for number, docname in lessons(app.srcdir) for document in (
            (docname, handout_name(number, docname) + '.tex', '', f'{byline}{number}', 'howto'),
            (docname, answer_key_name(number, docname) + '.tex',
             texescape.escape(f'Answer key: {env.titles[docname].astext()}', engine),
             f'{byline}{number} \u00b7 for teachers', ANSWER_KEY_THEME))]


class AnswerKeyOnly(nodes.General, nodes.Element):
    """Handouts: what only the answer key prints (solutions, teaching notes); the handout skips it."""


def visit_answer_key_only(self, node):
    """LaTeX: print the content in a document of the answer key's theme, skip it in any other."""
    if self.theme.name != ANSWER_KEY_THEME:
        raise nodes.SkipNode


def depart_answer_key_only(self, node):
    """Nothing to close."""


def lesson_numbering(number):
    """LaTeX that numbers a lesson's handout and answer key as the book numbers the lesson: sections 19.1,
    19.2, ... and figures, tables, listings and equations 19.1, 19.2, ... through the whole lesson (Sphinx's
    howto layout numbers them 1, 2, ... and 3.1, per section). Exercises carry the book's numbers already."""
    counters = ('figure', 'table', 'literalblock', 'equation')
    return '\n'.join([r'\makeatletter']
                     + [rf'\@removefromreset{{{counter}}}{{{level}}}' for counter in counters
                        for level in ('section', 'subsection')]
                     + [rf'\renewcommand\the{counter}{{{number}.\arabic{{{counter}}}}}'
                        for counter in ('section',) + counters]
                     + [r'\makeatother'])


HIDDEN_INPUT_TAGS = {'tag_hide-input', 'tag_hide-cell', 'tag_remove-input'}  # cells whose code the HTML hides


def unfolded(app):
    """True for the outputs where nothing can be folded away and opened on a click: LaTeX, and the EPUB
    (e-readers run no scripts). They leave out what the HTML folds away."""
    return app.builder.format == 'latex' or app.builder.name == 'epub'


def on_doctree_resolved(app, doctree, docname):
    """LaTeX and EPUB, every edition: no code of a cell whose code the HTML hides (its output stays).
    Handouts: the book's numbering, and the solutions and teaching notes for the answer key only.
    LaTeX and EPUB outside the teacher edition: no solutions."""
    if not unfolded(app):
        return
    for cell in list(doctree.findall(nodes.container)):
        if 'cell' in cell['classes'] and HIDDEN_INPUT_TAGS & set(cell['classes']):
            for part in [c for c in cell.findall(nodes.Element) if 'cell_input' in c.get('classes', [])]:
                part.parent.remove(part)
    if app.builder.format == 'html':
        # MyST-NB has already wrapped folded parts of cells in <details> (HideCodeCellNode): keep what they hold.
        from myst_nb.sphinx_ import HideCodeCellNode
        for fold in list(doctree.findall(HideCodeCellNode)):
            fold.parent.replace(fold, list(fold.children))  # (replace_self would merge classes)
    if edition(app) == 'teacher':
        return
    from sphinx_exercise.nodes import solution_node
    for solution in list(doctree.findall(solution_node)):
        if edition(app) == 'handouts':
            wrapper = AnswerKeyOnly()
            solution.replace_self(wrapper)
            wrapper.append(solution)
        else:
            solution.parent.remove(solution)
    number = app.microgpt_lessons.get(docname)
    section = doctree.next_node(nodes.section)
    if edition(app) == 'handouts' and number and section is not None:
        title = section.next_node(nodes.title)
        start = [nodes.raw('', lesson_numbering(number), format='latex')]
        entry = app.microgpt_notes.get(docname)
        if entry:
            start.append(AnswerKeyOnly('', notes_admonition(app, docname, entry)))
        section[section.index(title) + 1:section.index(title) + 1] = start


class OtherLessonReferences(SphinxPostTransform):
    """Handouts: a reference to another page reads as that page's title and lesson number, not as a dead link.

    {ref}`label` and {doc}`page`: "*title* (lesson 7)"; {ref}`text <label>`: "text (lesson 7, *title*)";
    {numref}`fig-chain`: "Fig. 9.1 (lesson 9, *title*)", numbered as the book numbers it.
    """
    default_priority = 5  # before Sphinx resolves references (10): one handout cannot link to another page
    formats = ('latex',)

    def run(self, **kwargs):
        """Replace every reference to a page outside this handout by text that names it."""
        if edition(self.app) != 'handouts':
            return
        std = self.env.get_domain('std')
        for ref in list(self.document.findall(addnodes.pending_xref)):
            if ref.get('refdomain') != 'std':
                continue
            target, explicit = ref['reftarget'], ref.get('refexplicit')
            if ref['reftype'] == 'numref' and target in std.anonlabels:
                docname, labelid = std.anonlabels[target]
                text = self.numbered(ref, docname, labelid)
            elif ref['reftype'] == 'ref' and target in std.labels:
                docname, _, text = std.labels[target]
            elif ref['reftype'] == 'doc' and target.lstrip('/') in self.env.titles:
                docname = target.lstrip('/')
                text = self.env.titles[docname].astext()
            else:
                continue
            if docname == self.env.docname or not text:
                continue
            number = self.app.microgpt_lessons.get(docname)
            if ref['reftype'] == 'numref' or (explicit and number):
                title = self.env.titles[docname].astext()
                words = [nodes.Text(ref.astext() if ref['reftype'] != 'numref' else text)]
                if number:
                    words += [nodes.Text(f' (lesson {number}, '), nodes.emphasis(title, title), nodes.Text(')')]
                ref.replace_self(words)
            elif not explicit:
                ref.replace_self([nodes.emphasis(text, text)] + ([nodes.Text(f' (lesson {number})')] if number else []))

    def numbered(self, ref, docname, labelid):
        """The text a {numref} to labelid of docname shows, "Fig. 9.1", or '' when it has no number."""
        for figtype, numbers in self.env.toc_fignumbers.get(docname, {}).items():
            if labelid in numbers:
                number = '.'.join(map(str, numbers[labelid]))
                title = ref.astext() if ref.get('refexplicit') else self.config.numfig_format.get(figtype, '')
                return title.replace('{number}', number) if '{number}' in title else title.replace('%s', number)
        return ''


def strip_solutions(text, parser):
    """Markdown text without its {solution} blocks (fenced, or gated by solution-start/solution-end) and {check}
    blocks (which say what the answer is)."""
    lines = text.splitlines(keepends=True)
    drop = set()
    start = None
    for token in parser.parse(text):
        if token.type in ('fence', 'colon_fence') and token.map and CHECK_FENCE_RE.match(token.info.strip()):
            drop.update(range(*token.map))
            continue
        match = SOLUTION_FENCE_RE.match(token.info.strip()) if token.type in ('fence', 'colon_fence') else None
        if not match or not token.map:
            continue
        if match.group(1) == '-start':
            start = token.map[0]
        elif match.group(1) == '-end' and start is not None:
            drop.update(range(start, token.map[1]))
            start = None
        elif match.group(1) is None:
            drop.update(range(*token.map))
    kept = ''.join(line for i, line in enumerate(lines) if i not in drop)
    return re.sub(r'\n{3,}', '\n\n', kept)


def markdown_parser(app):
    """MyST's markdown-it parser with the book's MyST extensions, as the book parses its pages."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser
    return create_md_parser(MdParserConfig(enable_extensions=set(app.config.myst_enable_extensions)), RendererHTML)


def on_build_finished(app, exception):
    """Student HTML: the page sources a reader downloads (.md) have no solutions; notebooks.py writes the .ipynb."""
    if exception or app.builder.format != 'html' or edition(app) == 'teacher':
        return
    parser = markdown_parser(app)
    for path in sorted(Path(app.outdir, '_sources').rglob('*.md')):
        text = strip_solutions(path.read_text(encoding='utf-8'), parser)
        path.write_text(text, encoding='utf-8')
        if '{solution' in text or '{quiz' in text:
            logger.warning(f'a solution or quiz is left in the downloadable source {path.relative_to(app.outdir)}',
                           type='editions')


def setup(app):
    """Register the edition setting and connect the events; all state is on the app, so it is parallel safe."""
    app.add_config_value('microgpt_edition', 'student', 'env', [str])
    app.connect('config-inited', on_config_inited)
    app.connect('builder-inited', on_builder_inited)
    app.connect('doctree-read', on_doctree_read)
    app.connect('env-updated', on_env_updated)
    app.connect('doctree-resolved', on_doctree_resolved)
    app.connect('build-finished', on_build_finished)
    app.add_post_transform(OtherLessonReferences)
    app.add_node(AnswerKeyOnly, latex=(visit_answer_key_only, depart_answer_key_only))
    app.setup_extension('sheets')   # the exit quizzes and the exercise sheets (book/_ext/sheets.py)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
