"""Sphinx extension: every lesson opens with what the reader will be able to do and what it assumes.

The box comes from the one source the course index uses: _lessons.lessons() reads each lesson's front matter
(learning_objectives, and assumes: pages of the book, `words <page>`, or plain text). It is put under the
lesson's title while the page is read, as ordinary document content (an admonition), so the HTML, the PDF,
the EPUB and the handouts all carry it; no lesson writes it by hand. Each lesson ends with its own
"Summary" section (tests/test_objectives.py checks both). Listed under sphinx.local_extensions in _config.yml.
"""

import importlib
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes

TITLE = 'In this lesson'
CLASS = 'lesson-objectives'


HERE = Path(__file__).resolve().parent   # book/_ext of the repository that holds this extension


def appendix_module(name):
    """Import a helper module of the appendix pages (book/appendix/NAME.py, beside this folder), with the
    repository's tangle.py importable as it needs."""
    for folder in (str(HERE.parent.parent), str(HERE.parent / 'appendix')):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    return importlib.import_module(name)


def on_builder_inited(app):
    """Read every lesson's objectives and assumptions once, in book order, from the chapters' front matter."""
    root = Path(app.srcdir)
    app.microgpt_objectives = {}
    if not (root / '_toc.yml').exists():
        return
    _lessons = appendix_module('_lessons')
    app.microgpt_objectives = {lesson.docname: lesson for lesson in _lessons.lessons(root)}
    app.microgpt_assumed_item = _lessons.assumed_item


def inline_text(text):
    """Plain text with `code` spans as literal nodes."""
    parts = re.split(r'`([^`]+)`', text)
    return [nodes.literal(part, part) if i % 2 else nodes.Text(part) for i, part in enumerate(parts) if part]


def page_reference(app, docname, text, from_docname):
    """A link to a page of the book: to a lesson, its title then "(lesson N)"; with text, those words.
    In the handouts a link to another lesson becomes "*title* (lesson N)" (editions.OtherLessonReferences),
    so the number is not added twice there."""
    number = app.microgpt_objectives[docname].number if docname in app.microgpt_objectives else None
    ref = addnodes.pending_xref('', refdomain='std', reftype='doc', reftarget='/' + docname,
                                refexplicit=text is not None, refwarn=True, refdoc=from_docname)
    ref += nodes.inline(text or docname, text or docname, classes=['xref', 'std', 'std-doc'])
    handouts = getattr(app.config, 'microgpt_edition', None) == 'handouts'
    return [ref] + ([nodes.Text(f' (lesson {number})')] if number and text is None and not handouts else [])


def objectives_box(app, lesson, docname):
    """The "In this lesson" admonition: the objectives as a list, then what the lesson assumes."""
    items = nodes.bullet_list()
    for objective in lesson.objectives:
        items += nodes.list_item('', nodes.paragraph('', '', *inline_text(' '.join(objective.split()))))
    box = nodes.admonition('', nodes.title(TITLE, TITLE), nodes.paragraph('', 'After it you can:'), items,
                           classes=[CLASS, 'note'])
    if lesson.assumes:
        words = [nodes.strong('It assumes:', 'It assumes:'), nodes.Text(' ')]
        for i, item in enumerate(lesson.assumes):
            text, page = app.microgpt_assumed_item(item)
            if i:
                words.append(nodes.Text('; '))
            words += page_reference(app, page, text, docname) if page else inline_text(text)
        box += nodes.paragraph('', '', *words, nodes.Text('.'))
    return box


def on_doctree_read(app, doctree):
    """Put the box of a lesson right under its title."""
    lesson = getattr(app, 'microgpt_objectives', {}).get(app.env.docname)
    section = doctree.next_node(nodes.section)
    if lesson is None or section is None:
        return
    title = section.next_node(nodes.title)
    section.insert(section.index(title) + 1, objectives_box(app, lesson, app.env.docname))


def setup(app):
    """Connect the events; the lessons are read once in the main process, so reading in parallel is safe."""
    app.connect('builder-inited', on_builder_inited)
    app.connect('doctree-read', on_doctree_read)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
