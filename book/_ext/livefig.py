"""Sphinx extension: live figures, which the reader plays with and the program in the page computes (issue 22).

In a lesson, beside (under) its static figure:

    ```{live-figure} KIND
    :scores: 2.0 1.0 -0.5 -2.0
    A sentence or two that says what to try (MyST; shown only with the live figure).
    ```

KIND is one of tokens (lesson 6: type a name, see encode's ids or what it refuses), softmax (lesson 16: move the
scores, see the probabilities), attention (lesson 19: pick a name and a position, see each head's weights) and
temperature (lesson 31: drag the temperature, see the first letter's probabilities and the names). Options give a
figure's controls their first values: :name: (tokens), :scores: (softmax), :temperature: (temperature).

Only the student edition's HTML site with the in-page Python (inpage.enabled) shows it: a <div class="livefig">
holding the text and the controls that static/livefig.js builds. Its values come from the page's Python (Pyodide),
through pagert.live_figure and livefigrt.py, which run the tangled program with tangle.load; the JavaScript only
draws them. The PDF, the EPUB, the teacher edition, the handouts, the notebooks and a site without Pyodide show
nothing in its place: the lesson's static figure, which stays on the page in every edition, is the figure there.

Listed under sphinx.local_extensions in _config.yml, after inpage.
"""

import json
import shutil
from html import escape
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

import inpage

KINDS = ('tokens', 'softmax', 'attention', 'temperature')
RUNTIME = inpage.HERE / 'livefigrt.py'  # the figures' Python, beside pagert.py in _inpage/


class live_figure(nodes.General, nodes.Element):
    """A live figure: its kind and options as attributes, the directive's text as children."""


class LiveFigure(SphinxDirective):
    required_arguments = 1
    has_content = True
    option_spec = {'name': directives.unchanged, 'scores': directives.unchanged,
                   'temperature': directives.unchanged}

    def run(self):
        kind = self.arguments[0]
        if kind not in KINDS:
            raise self.error(f'live-figure: the kind is one of {", ".join(KINDS)}, not {kind!r}')
        options = dict(self.options)
        if 'scores' in options:
            try:
                options['scores'] = [float(s) for s in options['scores'].split()]
            except ValueError:
                raise self.error('live-figure: :scores: are numbers separated by spaces') from None
        if 'temperature' in options:
            options['temperature'] = float(options['temperature'])
        node = live_figure(kind=kind, options=json.dumps(options))
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def shown(translator):
    """Whether this page is the HTML site that runs Python in the page (the student edition's, with Pyodide)."""
    return inpage.enabled(translator.builder.app)


def visit_html(translator, node):
    if not shown(translator):
        raise nodes.SkipNode
    translator.body.append(
        f'<div class="livefig" data-livefig="{node["kind"]}" data-options="{escape(node["options"])}">'
        '<p class="livefig-title">Live figure</p>')


def depart_html(translator, node):
    translator.body.append(
        '<div class="livefig-body"><p class="livefig-fallback">This figure runs the program in the page when the book '
        'is served over HTTP with its in-page Python (<code>make serve</code>); until then, the figure above is its '
        'static version.</p></div></div>\n')


def skip(translator, node):
    raise nodes.SkipNode


def on_builder_inited(app):
    if not inpage.enabled(app):
        return
    static = str(inpage.HERE / 'static')
    if static not in app.config.html_static_path:
        app.config.html_static_path.append(static)
    app.add_js_file('livefig.js', defer='defer')
    app.add_css_file('livefig.css')


def on_build_finished(app, exception):
    """livefigrt.py beside pagert.py in _inpage/, and in files.json, so the worker puts it on Python's path."""
    if exception or not inpage.enabled(app):
        return
    out = Path(app.outdir, inpage.OUT)
    listing = out / 'files.json'
    if not listing.is_file():  # inpage wrote no runtime (a build without the inpage extension)
        return
    shutil.copyfile(RUNTIME, out / RUNTIME.name)
    files = json.loads(listing.read_text(encoding='utf-8'))
    entry = [RUNTIME.name, f'/book/{inpage.OUT}/{RUNTIME.name}']
    if entry not in files:
        files.append(entry)
    listing.write_text(json.dumps(files), encoding='utf-8')


def setup(app):
    app.add_node(live_figure, html=(visit_html, depart_html), latex=(skip, None), text=(skip, None),
                 man=(skip, None), texinfo=(skip, None))
    app.add_directive('live-figure', LiveFigure)
    app.connect('builder-inited', on_builder_inited)
    app.connect('build-finished', on_build_finished, priority=600)  # after inpage has written files.json
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
