"""Sphinx extension: each lesson's exit quiz, and its exercise sheet among the handouts.

The exit quiz. A lesson holds one ```{quiz}``` block: a definition list of five short questions, each
followed by ": its answer" (MyST's deflist; an answer may use {glue:text}, as the lesson's prose does).
Students never see it: the student HTML, PDF and EPUB leave it out, and so do the pages and notebooks a
reader downloads (editions.strip_solutions). Wherever it is written in the lesson's source, it is shown at
the end of the section that holds the lesson's last exercise ("Check your understanding"):

    teacher    an "Exit quiz" box with the questions and their answers
    handouts   the answer key: the same box; the exercise sheet: the questions, with room to answer

The exercise sheet. `make handouts` (MICROGPT_EDITION=handouts, book/_ext/editions.py) writes a third
LaTeX document per lesson beside the handout and the answer key, lesson-19-attention-sheet.tex: one or two
pages with a name and date line, the lesson's objectives and what it assumes (the "In this lesson" box of
book/_ext/objectives.py), the lesson's exercises as the book numbers them (their text, no solution), each
with room to answer, and the exit quiz's questions. All three documents are the same lesson's doctree:
the sheet prints only what SheetOnly holds, the handout and the answer key only what HandoutBody holds.
Each has a running header ("Lesson 19 · exercise sheet", "Answer key · lesson 19") and the edition (the
date and commit of the sources, editions.title_page_facts) in its footer.

Loaded by editions.setup (so it needs no line of its own in _config.yml).
"""

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import editions

SHEET_THEME = 'exercisesheet'      # book/_ext/latex-themes/exercisesheet: Sphinx's howto layout, named
HANDOUT_THEME = 'howto'            # the handouts' theme (editions.on_env_updated)
QUIZ_QUESTIONS = 5
QUIZ_TITLE = 'Exit quiz'
# Room to answer on the sheet: at least this much under each exercise and each quiz question; whatever the
# page has left over is shared among them (fill glue), so a sheet is never longer for it.
EXERCISE_ROOM = '1.6cm'
QUESTION_ROOM = '0.7cm'
# An exercise starts a new page unless this much is left on the current one: its box and its room. (The box
# ends with glue, a place where the page may break, so the room alone cannot hold on to it.)
EXERCISE_NEED = '4.2cm'
logger = logging.getLogger(__name__)


def sheet_name(number, docname):
    """The file name (no suffix) of a lesson's exercise sheet: lesson-05-letters-to-numbers-sheet."""
    return editions.handout_name(number, docname) + '-sheet'


# ---------------------------------------------------------------- the exit quiz

class quiz_node(nodes.General, nodes.Element):
    """A lesson's exit quiz as written (a definition list), until the edition decides what to show of it."""


class QuizDirective(SphinxDirective):
    """```{quiz}```: a definition list, each term a question and its definition the answer."""
    has_content = True
    option_spec = {'class': directives.class_option}

    def run(self):
        node = quiz_node()
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        items = quiz_items(node)
        if len(node.children) != 1 or not isinstance(node[0], nodes.definition_list):
            logger.warning('a quiz holds one definition list (a question, then ": its answer"), and nothing else',
                           location=node, type='sheets')
        elif len(items) != QUIZ_QUESTIONS:
            logger.warning(f'a quiz has {QUIZ_QUESTIONS} questions, this one {len(items)}', location=node, type='sheets')
        return [node]


def quiz_items(quiz):
    """[(question: term node, answer: definition node)] of a quiz."""
    found = []
    for item in quiz.findall(nodes.definition_list_item):
        term, definition = item.next_node(nodes.term), item.next_node(nodes.definition)
        if term is not None and definition is not None:
            found.append((term, definition))
    return found


def quiz_box(quiz, answers):
    """The "Exit quiz" box: the questions numbered, each with its answer (answers=True) or alone."""
    listing = nodes.enumerated_list('', enumtype='arabic', prefix='', suffix='.')
    for term, definition in quiz_items(quiz):
        item = nodes.list_item('', nodes.paragraph('', '', *[c.deepcopy() for c in term.children]))
        if answers:
            body = [c.deepcopy() for c in definition.children]
            label = nodes.strong('Answer:', 'Answer:')
            if body and isinstance(body[0], nodes.paragraph):
                body[0].insert(0, nodes.Text(' '))
                body[0].insert(0, label)
            else:
                body.insert(0, nodes.paragraph('', '', label))
            item.extend(body)
        listing.append(item)
    return nodes.admonition('', nodes.title(QUIZ_TITLE, QUIZ_TITLE), listing, classes=['admonition-exit-quiz', 'tip'])


def last_exercise_section(doctree):
    """The section that holds the page's last exercise, or None."""
    from sphinx_exercise.nodes import is_exercise_node
    found = list(doctree.findall(is_exercise_node))
    section = found[-1].parent if found else None
    while section is not None and not isinstance(section, nodes.section):
        section = section.parent
    return section


def place_quiz(doctree, quiz):
    """Move the quiz to the end of the section of the lesson's last exercise (before any subsection)."""
    section = last_exercise_section(doctree)
    if section is None:
        return
    quiz.parent.remove(quiz)
    subsections = [i for i, child in enumerate(section.children) if isinstance(child, nodes.section)]
    section.insert(subsections[0] if subsections else len(section.children), quiz)


def on_doctree_read(app, doctree):
    """Every edition but the handouts decides now: the teacher sees the quiz with its answers, students never."""
    chosen = editions.edition(app)
    for quiz in list(doctree.findall(quiz_node)):
        place_quiz(doctree, quiz)
        if chosen == 'teacher':
            quiz.replace_self(quiz_box(quiz, answers=True))
        elif chosen != 'handouts':
            quiz.parent.remove(quiz)


def skip(self, node):
    """A quiz node never reaches a writer (on_doctree_read and on_doctree_resolved replace it); if it did, print nothing."""
    raise nodes.SkipNode


# ---------------------------------------------------------------- the exercise sheet

class ThemeOnly(nodes.General, nodes.Element):
    """Handouts: what only the documents of some LaTeX themes print (node['themes']); the others skip it."""


def visit_theme_only(self, node):
    """LaTeX: print the content in a document of one of the node's themes, skip it in any other."""
    if self.theme.name not in node['themes']:
        raise nodes.SkipNode


def depart_theme_only(self, node):
    """Nothing to close."""


class LatexElements(nodes.General, nodes.Element):
    """Handouts: settings of the LaTeX template (node['elements'], such as maketitle) for the documents of
    node['themes'] only: the writer renders the template after the body, from the elements it holds then."""


def visit_latex_elements(self, node):
    """Set the elements for this document when it is of one of the node's themes; print nothing."""
    if self.theme.name in node['themes']:
        self.elements.update(node['elements'])
    raise nodes.SkipNode


def only_in(themes, *children):
    """A ThemeOnly node of the given themes holding children."""
    node = ThemeOnly('', *children)
    node['themes'] = list(themes)
    return node


def raw(latex):
    """A raw LaTeX node."""
    return nodes.raw('', latex, format='latex')


def page_style(header):
    """LaTeX: every page of the document, the first included, has header (LaTeX) at its top left, the page
    number at its top right and the edition (\\mgptversion, the date and commit of the sources) in its footer."""
    style = (r'\fancyhf{}\fancyhead[L]{\py@HeaderFamily\small ' + header + '}'
             r'\fancyhead[R]{\py@HeaderFamily\small\thepage}'
             r'\fancyfoot[L]{\py@HeaderFamily\footnotesize\mgptversion}'
             r'\renewcommand{\headrulewidth}{0.4pt}\renewcommand{\footrulewidth}{0.4pt}')
    return raw('\n'.join([r'\makeatletter', rf'\fancypagestyle{{normal}}{{{style}}}',
                          rf'\fancypagestyle{{plain}}{{{style}}}', r'\pagestyle{normal}\thispagestyle{normal}',
                          r'\makeatother']) + '\n')


# The sheet's title: the lesson's question, who it is from, then the name and date line (no big title block);
# and \mgptneed{length}, a new page unless that much is left on this one (as needspace.sty's \Needspace).
SHEET_TITLE = r'''\makeatletter
\begingroup\def\and{\& }\hypersetup{pdftitle={\@title}}\endgroup
\noindent{\py@HeaderFamily\LARGE\raggedright \@title\par}
\vspace{4pt}\noindent{\py@HeaderFamily\small \@author}\par
\vspace{14pt}\noindent{\py@HeaderFamily Name:}\enspace\rule{0.5\linewidth}{0.4pt}\hfill
{\py@HeaderFamily Date:}\enspace\rule{0.22\linewidth}{0.4pt}\par
\vspace{10pt}
\def\mgptneed#1{\par\penalty-100\begingroup\dimen@=#1\relax\dimen@ii=\pagegoal\advance\dimen@ii-\pagetotal
  \ifdim\dimen@>\dimen@ii\ifdim\dimen@ii>\z@\vfil\fi\penalty-10000\fi\endgroup}
\makeatother'''


def room(height):
    """LaTeX: blank room to write in, at least height; the rest of a page's leftover space is shared among them.
    No page break between what it follows and the room (\\nobreak): the room is never lost at a page break,
    and an exercise that has no room left on its page moves to the next with it."""
    return raw(rf'\par\nobreak\vspace{{{height} plus 1fill}}' + '\n')


def sheet_heading(text):
    """LaTeX: an unnumbered heading of the sheet."""
    return raw(r'\subsection*{' + text + '}\n')


def exercise_sheet(app, doctree, number, quizzes):
    """The content of a lesson's exercise sheet (a ThemeOnly of the sheet's theme)."""
    from sphinx_exercise.nodes import is_exercise_node
    sheet = only_in([SHEET_THEME], raw(r'\vspace{-6pt}' + '\n'))
    box = next(doctree.findall(lambda n: isinstance(n, nodes.admonition)
                               and 'lesson-objectives' in n.get('classes', [])), None)
    if box is not None:
        sheet.append(box.deepcopy())
    exercises = list(doctree.findall(is_exercise_node))
    if exercises:
        sheet.append(sheet_heading('Exercises'))
    for exercise in exercises:
        sheet.extend([raw(rf'\mgptneed{{{EXERCISE_NEED}}}' + '\n'), exercise.deepcopy(), room(EXERCISE_ROOM)])
    for quiz in quizzes:
        sheet.append(sheet_heading(QUIZ_TITLE))
        listing = quiz_box(quiz, answers=False).next_node(nodes.enumerated_list)
        for item in listing.children:
            item.append(room(QUESTION_ROOM))
        sheet.append(listing)
    return sheet


def on_doctree_resolved(app, doctree, docname):
    """Handouts: the lesson's page as three documents. Under the title: the running headers and footers of
    each, the exercise sheet, then the lesson itself (the handout and the answer key, with the quiz and its
    answers in the key). Runs after editions.on_doctree_resolved, so the lesson includes what it put there."""
    if editions.edition(app) != 'handouts' or app.builder.format != 'latex':
        return
    number = app.microgpt_lessons.get(docname)
    section = doctree.next_node(nodes.section)
    if not number or section is None:
        return
    quizzes = list(doctree.findall(quiz_node))
    sheet = exercise_sheet(app, doctree, number, quizzes)
    for quiz in quizzes:
        quiz.replace_self(editions.AnswerKeyOnly('', quiz_box(quiz, answers=True)))
    title = section.next_node(nodes.title)
    start = section.index(title) + 1
    body = only_in([HANDOUT_THEME, editions.ANSWER_KEY_THEME], *section.children[start:])
    del section[start:]
    dated = LatexElements()   # each document is dated by the edition, not by the day it was typeset
    dated['themes'], dated['elements'] = [HANDOUT_THEME, editions.ANSWER_KEY_THEME, SHEET_THEME], {'date': r'\mgptversion'}
    settings = LatexElements()
    settings['themes'], settings['elements'] = [SHEET_THEME], {'maketitle': SHEET_TITLE}
    section.extend([
        dated,
        only_in([HANDOUT_THEME], page_style(f'Lesson {number} \u00b7 handout')),
        only_in([editions.ANSWER_KEY_THEME], page_style(f'Answer key \u00b7 lesson {number}')),
        only_in([SHEET_THEME], page_style(f'Lesson {number} \u00b7 exercise sheet')),
        settings, sheet, body])


def on_env_updated(app, env):
    """Handouts: a third document per lesson, its exercise sheet (after editions.on_env_updated set the list)."""
    if editions.edition(app) != 'handouts':
        return
    byline = app.config.html_title + ' \u00b7 lesson '
    from sphinx.util import texescape
    app.config.latex_documents = list(app.config.latex_documents) + [
        (docname, sheet_name(number, docname) + '.tex', '',
         texescape.escape(f'{byline}{number} \u00b7 exercise sheet', app.config.latex_engine), SHEET_THEME)
        for number, docname in editions.lessons(app.srcdir)]


def setup(app):
    """The quiz directive, its node, the sheet's nodes; events after editions' own (priority 600)."""
    app.add_directive('quiz', QuizDirective)
    app.add_node(quiz_node, html=(skip, None), latex=(skip, None), text=(skip, None))
    app.add_node(ThemeOnly, latex=(visit_theme_only, depart_theme_only))
    app.add_node(LatexElements, latex=(visit_latex_elements, None))
    app.connect('doctree-read', on_doctree_read, priority=600)
    app.connect('doctree-resolved', on_doctree_resolved, priority=600)
    app.connect('env-updated', on_env_updated, priority=600)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
