"""Sphinx extension: the EPUB edition (`make epub`, Sphinx's `epub` builder), read without JavaScript.

E-readers run no scripts, so the EPUB carries none, and what the HTML does with scripts is done here
at build time. Nothing changes for the other builders.

    math      Sphinx's math renderer "mathml" (the EPUB's; the HTML keeps MathJax): every $...$ and $$...$$
              becomes MathML, written by latex2mathml (pure Python) while the pages are written, with the
              LaTeX in its alttext; a function name keeps the thin space TeX sets before its argument
              ("log p", not "logp"). A formula it cannot convert is a build warning, so an error under -W.
    cover     _static/microgpt-cover.png, drawn with matplotlib when the build starts: the title and a
              subtitle over the first lines of microgpt.py, with their numbers. Not committed.
    scripts   sphinx-thebe's <script> blocks are removed; editions.py drops the code of folded cells and,
              outside the teacher edition, the solutions, as in the PDF (a fold needs a script to open).
    ids       sphinx-exercise gives every exercise body the id "exercise-content" (and every solution
              "solution-content"); ids must be unique in XHTML and nothing links there, so they go.
    styles    the pages link book/_ext/ebook.css instead of MyST-NB's stylesheet (nested CSS, which
              epubcheck and e-readers reject), sphinx-exercise's (an icon from a font the EPUB does not
              carry) and those of the script-driven widgets (toggles, copy buttons, thebe), whose files
              are left out of the EPUB.
    package   at the end of the build, once every extension has copied its files (sphinx-exercise
              copies its CSS only then, sphinx-mathjax-offline its 24 MB of MathJax), the files the
              EPUB must not carry are deleted, the manifest (content.opf) is written again so that it
              lists every file, each page's item gets the properties EPUB 3 requires ("mathml"; "svg"
              for inline SVG) and the cover image "cover-image", the contents (nav.xhtml) list the
              lessons under the parts of _toc.yml with their numbers, and each lesson's sections, the NCX names the book by its
              identifier as the manifest does, and the .epub is zipped again.

Listed under sphinx.local_extensions in _config.yml; the epub_* settings are in its sphinx.config block.
"""

import hashlib
import re
import shutil
import xml.etree.ElementTree as ET
from fnmatch import fnmatch
from html import escape
from pathlib import Path
from urllib.parse import unquote

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)
COVER = '_static/microgpt-cover.png'                 # inside the EPUB; epub_cover in _config.yml names it
DUPLICATE_IDS = {'exercise-content', 'solution-content'}
STYLESHEET = 'ebook.css'                             # book/_ext/ebook.css, copied to _static
# Stylesheets of the HTML the EPUB's pages do not link, and files of the output folder the EPUB leaves out
# (globs): MathJax (sphinx-mathjax-offline), jupyter-book's redirecting index.html, the unlinked styles.
UNLINKED_STYLES = ('mystnb.*.css', 'exercise.css', 'togglebutton.css', 'copybutton.css', 'sphinx-thebe.css')
NOT_IN_THE_EPUB = ('_static/mathjax', 'index.html', *(f'_static/{name}' for name in UNLINKED_STYLES))
UNKNOWN_COMMAND_RE = re.compile(r'<m[ion]>(\\[A-Za-z]+)</m[ion]>')  # a command latex2mathml copied as it is
# A function name (\log, \exp: latex2mathml's only <mi> of several letters) before its argument, "log p": TeX sets a
# thin space between them; MathML shows "logp" unless told. The invisible function application and a thin space.
FUNCTION_NAME_RE = re.compile(r'(<mi>[A-Za-z]{2,}</mi>)(?=<(?:mi|mn|msub|msup|msubsup|mrow|mfrac|msqrt)[ >])')
THIN_SPACE = '<mo>&#x02061;</mo><mspace width="0.1667em"/>'


def is_epub(app):
    """True when this build writes the EPUB."""
    return getattr(app.builder, 'name', None) == 'epub'


# ------------------------------------------------------------------ math as MathML

def mathml(translator, node, latex, display):
    """The MathML of one formula (latex2mathml), with the LaTeX as alttext; the LaTeX itself, and a
    warning, when it cannot be converted to well-formed MathML."""
    from latex2mathml.converter import convert
    try:
        markup = convert(latex.strip(), display=display)
        ET.fromstring(markup)  # latex2mathml can leave an unescaped "&" (as in aligned); XHTML must be well formed
        unknown = UNKNOWN_COMMAND_RE.search(markup)
        if unknown:
            raise ValueError(f'latex2mathml does not know {unknown.group(1)}')
    except Exception as err:  # noqa: BLE001 - any failure of the converter is reported the same way
        logger.warning(f'cannot write this formula as MathML ({err}): {latex!r}', location=node, type='ebook')
        return translator.encode(latex)
    markup = FUNCTION_NAME_RE.sub(lambda m: m.group(1) + THIN_SPACE, markup)
    return markup.replace('<math ', f'<math alttext="{escape(" ".join(latex.split()))}" ', 1)


def visit_math(translator, node):
    """Inline math: <span class="math"><math display="inline">...</math></span>."""
    translator.body.append(translator.starttag(node, 'span', '', CLASS='math'))
    translator.body.append(mathml(translator, node, node.astext(), 'inline') + '</span>')
    raise nodes.SkipNode


def visit_displaymath(translator, node):
    """Display math: one block formula per paragraph of the directive, and its number if it has one."""
    from sphinx.util.math import get_node_equation_number
    translator.body.append(translator.starttag(node, 'div', CLASS='math'))
    if node.get('number'):
        translator.body.append(f'<span class="eqno">({get_node_equation_number(translator, node)})</span>')
    parts = [node.astext()] if node.get('nowrap') else [p for p in node.astext().split('\n\n') if p.strip()]
    for part in parts:
        if r'\\' in part and not node.get('nowrap'):  # lines of one formula, aligned at "&", as Sphinx's MathJax does
            part = r'\begin{split}' + part + r'\end{split}'
        translator.body.append(mathml(translator, node, part, 'block'))
    translator.body.append('</div>\n')
    raise nodes.SkipNode


def on_config_inited(app, config):
    """Registering a second math renderer would make the HTML builder pick it: the HTML keeps MathJax.
    The cover page template is in book/_ext/templates; epub_cover is a pair, which YAML writes as a list."""
    if isinstance(config.epub_cover, list):
        config.epub_cover = tuple(config.epub_cover)
    if not config.html_math_renderer:
        config.html_math_renderer = 'mathjax'
    templates = str(Path(__file__).parent / 'templates')
    if templates not in config.templates_path:
        config.templates_path = [*config.templates_path, templates]


# ------------------------------------------------------------------ the cover

def draw_cover(path, title, subtitle, author, program_lines):
    """A 1200 x 1800 pixel PNG: the title and subtitle over the program's first lines, numbered."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure = plt.figure(figsize=(6, 9), dpi=200)
    figure.patch.set_facecolor('#16213a')
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    for row, line in enumerate(program_lines[:52]):  # the program itself, faint, as the background
        axes.text(0.05, 0.985 - row * 0.0165, f'{row + 1:3d}  {line[:72]}', family='DejaVu Sans Mono',
                  fontsize=5.2, color='#5a6b8c', alpha=0.55, va='top')
    # A band behind the title hides the program there (patches are drawn under text unless zorder says otherwise).
    axes.add_patch(matplotlib.patches.Rectangle((0, 0.46), 1, 0.3, color='#16213a', alpha=0.93, zorder=4))
    words = title.split(', ', 1)
    axes.text(0.08, 0.69, words[0] + (',' if len(words) > 1 else ''), fontsize=40, weight='bold', color='white',
              va='center', family='DejaVu Sans', zorder=5)
    if len(words) > 1:
        axes.text(0.08, 0.61, words[1], fontsize=30, color='#f2b84b', va='center', family='DejaVu Sans', zorder=5)
    axes.text(0.08, 0.515, subtitle, fontsize=11, color='#dfe6f3', va='center', family='DejaVu Sans', wrap=True, zorder=5)
    axes.text(0.08, 0.06, author, fontsize=10, color='#dfe6f3', family='DejaVu Sans', zorder=5)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, facecolor=figure.get_facecolor(), metadata={'Software': None})
    plt.close(figure)


def on_builder_inited(app):
    """Draw the cover into the output folder, and add the EPUB's stylesheet."""
    if not is_epub(app):
        return
    static = Path(app.outdir) / '_static'
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name(STYLESHEET), static / STYLESHEET)
    app.add_css_file(STYLESHEET)
    source = Path(app.srcdir) / 'microgpt.py'
    program = source.read_text(encoding='utf-8').splitlines() if source.is_file() else []  # (a test's mini-book)
    subtitle = (f'A complete GPT language model in {len(program)} lines of plain Python, '
                'explained for readers new to machine learning')
    draw_cover(Path(app.outdir) / COVER, app.config.epub_title, subtitle, app.config.epub_author, program)


# ------------------------------------------------------------------ the pages

def on_doctree_resolved(app, doctree, docname):
    """No scripts, and no id twice on a page. Runs after sphinx-thebe has added its scripts."""
    if not is_epub(app):
        return
    for raw in list(doctree.findall(nodes.raw)):
        if 'html' in raw.get('format', '').split() and '<script' in raw.astext():
            raw.parent.remove(raw)
    for node in doctree.findall(nodes.Element):
        if DUPLICATE_IDS & set(node.get('ids', [])):
            node['ids'] = [i for i in node['ids'] if i not in DUPLICATE_IDS]


def on_html_page_context(app, pagename, templatename, context, doctree):
    """The page links none of the stylesheets the EPUB leaves out."""
    if is_epub(app) and 'css_files' in context:
        context['css_files'] = [css for css in context['css_files']
                                if not any(fnmatch(Path(css.filename).name, name) for name in UNLINKED_STYLES)]


# ------------------------------------------------------------------ the package

def manifest_properties(outdir, href, media_type):
    """The EPUB 3 properties of a manifest item: what its XHTML contains, or the cover image."""
    if href == COVER:
        return ['cover-image']
    if media_type != 'application/xhtml+xml':
        return []
    text = (outdir / unquote(href)).read_text(encoding='utf-8')
    found = []
    if '<math' in text:
        found.append('mathml')
    if '<svg' in text:
        found.append('svg')
    if '<script' in text:
        found.append('scripted')  # there should be none; epubcheck would report it undeclared otherwise
    return found


NAV = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="{lang}" xml:lang="{lang}">
  <head>
    <title>Contents</title>
    <style>ol {{ list-style-type: none; }}</style>
  </head>
  <body>
    <nav epub:type="toc" id="toc">
      <h1>Contents</h1>
      <ol>
{items}
      </ol>
    </nav>
  </body>
</html>
"""


def write_nav(app, outdir):
    """nav.xhtml, the contents an e-reader shows: the landing page, then each part of _toc.yml with its pages and
    their sections, numbered as their headings are (Sphinx's own lists the pages alone, without parts or numbers)."""
    import editions  # beside this file: the parts of _toc.yml
    env = app.env

    def numbered(docname, anchor, text):
        number = '.'.join(map(str, env.toc_secnumbers.get(docname, {}).get(anchor, ())))
        return (f'{number} ' if '.' in number else f'{number}. ' if number else '') + text

    def entry(docname):
        uri = app.builder.get_target_uri(docname)
        title = numbered(docname, '', env.titles[docname].astext())
        return f'<li><a href="{escape(uri)}">{escape(title)}</a>{sections(docname, uri)}</li>'

    def sections(docname, uri):
        # The page's own sections, from its contents (env.tocs: the H1's item holds a list of the H2s).
        top = env.tocs[docname].next_node(nodes.list_item)
        below = top.next_node(nodes.bullet_list) if top is not None else None
        if below is None:
            return ''
        items = []
        for item in below.children:
            reference = item.next_node(nodes.reference)
            if reference is None or not reference.get('anchorname'):
                continue
            text = numbered(docname, reference['anchorname'], reference.astext())
            items.append(f'<li><a href="{escape(uri + reference["anchorname"])}">{escape(text)}</a></li>')
        return '\n<ol>\n' + '\n'.join(items) + '\n</ol>' if items else ''
    items = [entry(app.config.root_doc)]
    for caption, _, docnames in editions.parts(app.srcdir):
        items.append(f'<li><span>{escape(caption)}</span>\n<ol>\n' + '\n'.join(map(entry, docnames)) + '\n</ol></li>')
    (outdir / 'nav.xhtml').write_text(NAV.format(lang=escape(app.config.epub_language), items='\n'.join(items)),
                                      encoding='utf-8')


ITEM_RE = re.compile(r'<item id="([^"]*)" href="([^"]*)" media-type="([^"]*)" />')


def on_build_finished(app, exception):
    """Write the manifest again with every file and the EPUB 3 properties, and zip the EPUB again."""
    if exception or not is_epub(app) or not hasattr(app.builder, 'files'):
        return  # (no files: no page was out of date, Sphinx wrote nothing, and the EPUB from before stands)
    outdir = Path(app.outdir)
    for pattern in NOT_IN_THE_EPUB:
        for path in outdir.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    builder = app.builder
    (outdir / builder.coverpage_name).unlink(missing_ok=True)  # written again below; else in the spine twice
    builder.build_content()  # lists the files now in the output folder, and writes content.opf
    if 'nav.xhtml' not in builder.files:
        builder.files.append('nav.xhtml')
    opf = outdir / 'content.opf'

    def with_properties(match):
        found = manifest_properties(outdir, match.group(2), match.group(3))
        extra = f' properties="{" ".join(found)}"' if found else ''
        return f'<item id="{match.group(1)}" href="{match.group(2)}" media-type="{match.group(3)}"{extra} />'
    opf.write_text(ITEM_RE.sub(with_properties, opf.read_text(encoding='utf-8')), encoding='utf-8')
    write_nav(app, outdir)
    ncx = outdir / 'toc.ncx'  # Sphinx writes epub_uid (the name of the identifier) where its value belongs
    ncx.write_text(re.sub(r'(<meta name="dtb:uid" content=")[^"]*"', lambda m: m.group(1) + escape(
        app.config.epub_identifier) + '"', ncx.read_text(encoding='utf-8')), encoding='utf-8')
    builder.build_epub()
    epub = outdir / f'{app.config.epub_basename}.epub'
    digest = hashlib.sha256(epub.read_bytes()).hexdigest()[:12]
    logger.info(f'ebook: {epub.name} written again with its full manifest ({epub.stat().st_size:,} bytes, {digest})')


def setup(app):
    """Register the MathML renderer (the EPUB's) and connect the events; nothing here keeps state."""
    app.add_html_math_renderer('mathml', (visit_math, None), (visit_displaymath, None))
    # Sphinx looks up <builder>_math_renderer before html_math_renderer: the epub builder uses MathML.
    app.add_config_value('epub_math_renderer', 'mathml', 'epub', [str])
    app.connect('config-inited', on_config_inited)
    app.connect('builder-inited', on_builder_inited)
    app.connect('doctree-resolved', on_doctree_resolved, priority=900)
    app.connect('html-page-context', on_html_page_context)
    app.connect('build-finished', on_build_finished, priority=900)  # after every other extension's copies
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
