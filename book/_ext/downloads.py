"""Sphinx extension: the HTML landing page offers the PDF and the EPUB, whenever they were built.

`make pdf` writes _build/latex/microgpt-book.pdf and `make epub` writes _build/epub/microgpt-book.epub.
When the HTML book is built after them (as the publishing workflow does), this extension copies each
one that exists into the site (_downloads/) and ends the landing page with a paragraph that links them,
with their sizes. With neither built, the landing page has no such paragraph, so it never links a
file that is not there. The landing page is read again on every build, so that a PDF built since the
last HTML build appears.

Listed under sphinx.local_extensions in _config.yml.
"""

import shutil
from pathlib import Path

from docutils import nodes

FOLDER = '_downloads'   # inside the HTML output; Sphinx's {download} role uses it too
ENDING = 'books-other-formats'


def editions(app):
    """[(label, description, built file)] of the PDF and EPUB that exist beside this HTML build."""
    build = Path(app.outdir).parent
    found = []
    for label, description, path in [
            ('PDF', 'to print or read offline', build / 'latex' / 'microgpt-book.pdf'),
            ('EPUB', 'for e-readers', build / 'epub' / 'microgpt-book.epub')]:
        if path.is_file():
            found.append((label, description, path))
    return found


def is_site(app):
    """True for the HTML site itself (not the EPUB, which the epub builder also makes from HTML)."""
    return app.builder.format == 'html' and not app.builder.name.startswith('epub')


def always_read_the_root(app, env, added, changed, removed):
    """Read the landing page again on every HTML build, as the files beside the build may have changed."""
    return [env.config.root_doc] if is_site(app) and env.config.root_doc in env.found_docs else []


def add_paragraph(app, doctree, docname):
    """End the landing page with links to the PDF and the EPUB that were built."""
    if docname != app.config.root_doc or not is_site(app):
        return
    found = editions(app)
    if not found:
        return
    paragraph = nodes.paragraph(ids=[ENDING])
    paragraph += nodes.strong('', f'The book as {" and ".join(label for label, _, _ in found)}.')
    paragraph += nodes.Text(' Download the whole book as ')
    for i, (label, description, path) in enumerate(found):
        if i:
            paragraph += nodes.Text(', or as ')
        size = f'{path.stat().st_size / 1e6:.1f} MB'
        up = '../' * docname.count('/')   # the landing page may sit in a folder (book/index)
        paragraph += nodes.reference('', f'{label} ({size})', refuri=f'{up}{FOLDER}/{path.name}')
        paragraph += nodes.Text(f', {description}')
    paragraph += nodes.Text(f'. {"Both are" if len(found) == 2 else "It is"} the student edition: '
                            'the exercises without their solutions.')
    section = next(iter(doctree.findall(nodes.section)), doctree)
    section += paragraph


def copy_files(app, exception):
    """Put the PDF and the EPUB into the site, where the landing page links them."""
    if exception is None and is_site(app):
        for _, _, path in editions(app):
            target = Path(app.outdir) / FOLDER / path.name
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, target)


def setup(app):
    app.connect('env-get-outdated', always_read_the_root)
    app.connect('doctree-resolved', add_paragraph)
    app.connect('build-finished', copy_files)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
