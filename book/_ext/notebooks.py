"""Sphinx extension: a notebook (.ipynb) to download from every lesson page, and Colab/Binder launch buttons.

Download. Each page with code cells gets `_sources/<page>.ipynb` in the HTML and an ".ipynb" entry in the
theme's download menu. It is the page as MyST-NB executed it (outputs included), made to read well in
plain Jupyter, which does not know the book's MyST extensions:

    {glue:text}`key` / {glue:md}`key`      the glued value
    {lines}`NAME...`                       "lines 30–57", as on the page
    {term}, {ref}, {numref}, {doc}         their text (a section's title, "Fig. 2.1")
    ```{chunk} / ```{show}                 a Python code block under its caption "name · microgpt.py lines a–b"
    ```{exercise}, ```{note}, ...          a quoted block under a bold title; options dropped
    (label)=                               dropped
    ```{live-figure}                       dropped (it runs only in the HTML book; the static figure stays)

In the student edition the solutions are left out (editions.strip_solutions); the teacher edition
keeps them as "Solution" blocks. A first markdown cell says what the notebook is and where it runs; a
first code cell checks that it runs inside a copy of the book (the cells import tangle.py from a
folder above), or, when the repository is configured, fetches a copy (for Colab).

Launch. With `repository: url:` (a GitHub repository) in _config.yml, every lesson gets a launch menu:
Binder opens the repository with the lesson's .md as a notebook (the environment is .binder/), and
Colab opens this notebook from the branch where the built HTML is published (microgpt_launch below).
Without a repository address there are no launch buttons.

Listed under sphinx.local_extensions in _config.yml.
"""

import json
import re
from pathlib import Path

from sphinx.util import logging

import editions

logger = logging.getLogger(__name__)
DIRECTIVE_RE = re.compile(r'^\{([a-z-]+)\}\s*(.*)$')
ROLE_RE = re.compile(r'\{([a-z]+(?::[a-z]+)?)\}`([^`]*)`')
OPTION_RE = re.compile(r'^:[A-Za-z][\w-]*:')
GITHUB_RE = re.compile(r'^https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?$')
# The packages the cells import besides the standard library: pinned as in requirements.txt where the book
# relies on their behaviour; matplotlib, which Colab has, only when missing.
PINNED_PACKAGES = ('myst-nb', 'sphinx_external_toc', 'graphviz')
OTHER_PACKAGES = ('matplotlib',)
DEFAULT_LAUNCH = {'binder': 'https://mybinder.org', 'colab': 'https://colab.research.google.com',
                  'notebooks_branch': 'gh-pages'}


class Page:
    """What the text of one page needs to become plain Markdown: the page's glued values and the book's tables."""

    def __init__(self, app, docname, glued):
        self.app = app
        self.docname = docname
        self.book = app.microgpt_book
        self.parser = app.microgpt_parser
        self.glued = {key: output.get('data', {}) for key, output in glued.items()}

    def glue(self, role, text):
        """The text of {glue:text}, {glue:md} or {glue}`key[:format]`, formatted as MyST-NB does."""
        from myst_nb.core.variables import format_plain_text
        key, _, spec = text.partition(':')
        data = self.glued.get(key)
        if data is None:
            logger.warning(f'{self.docname}: no glued value {key!r} for the notebook download', type='notebooks')
            return text
        if role == 'glue:md':
            return self.inline(data.get('text/markdown', ''))
        return format_plain_text(data.get('text/plain', ''), spec or 's')

    def reference(self, role, text):
        """The words a cross-reference shows: its explicit text, else the section title or figure number."""
        explicit = re.match(r'^(.*?)\s*<([^<>]+)>$', text, re.S)
        label = explicit.group(2) if explicit else text
        std = self.app.env.get_domain('std')
        if role == 'numref':
            docname, node_id = std.labels.get(label, (None, None, None))[:2] if label in std.labels \
                else std.anonlabels.get(label, (None, None))
            numbers = self.app.env.toc_fignumbers.get(docname, {}).get('figure', {}).get(node_id)
            number = '.'.join(map(str, numbers)) if numbers else '?'
            form = explicit.group(1) if explicit else self.app.config.numfig_format['figure']
            return form.replace('%s', number).replace('{number}', number)
        if explicit:
            return explicit.group(1)
        if role == 'ref' and label in std.labels:
            return std.labels[label][2]
        if role == 'doc':
            titles = self.app.env.titles
            target = label.lstrip('/')
            return titles[target].astext() if target in titles else label
        return text

    def role(self, match):
        """One inline role as plain text."""
        role, text = match.group(1), match.group(2)
        if role.startswith('glue'):
            return self.glue(role, text)
        if role == 'lines':
            import tangle
            _, first, last = tangle.resolve_lines(self.book, text)
            return tangle.line_span(first, last)
        if role in ('ref', 'numref', 'doc'):
            return self.reference(role, text)
        return re.sub(r'^(.*?)\s*<[^<>]+>$', r'\1', text, flags=re.S)  # {term}`words <entry>` and the like

    def inline(self, text):
        """Text with every role replaced, code spans left alone."""
        parts = re.split(r'(`{2,}.*?`{2,})', text, flags=re.S)
        return ''.join(part if i % 2 else ROLE_RE.sub(self.role, part) for i, part in enumerate(parts))

    def program_block(self, first_name, last_name=None):
        """A chunk (or chunks first..last) of microgpt.py as a captioned Python code block."""
        import tangle
        first = self.book.chunk(first_name)
        last = self.book.chunk(last_name or first_name)
        where = f'{tangle.PROGRAM} {tangle.line_span(first.start, last.last)}'
        caption = f'{first.name} \u00b7 {where}' if first is last else f'{where} (from {first.name} to {last.name})'
        code = '\n'.join(self.book.lines[first.start - 1:last.last])
        return f'*{caption}*\n\n```python\n{code}\n```\n'

    def block(self, name, argument, content):
        """A directive (other than chunk and show) as a quoted block under a bold title."""
        lines = content.splitlines()
        if lines and lines[0].strip() == '---':  # a YAML block of options
            end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == '---'), 0)
            lines = lines[end + 1:]
        while lines and OPTION_RE.match(lines[0]):
            lines.pop(0)
        if name == 'exercise':
            title = 'Exercise' + (f': {argument}' if argument else '')
        elif name == 'solution':
            title = 'Solution'
        else:
            title = argument or name.capitalize()
        body = self.markdown('\n'.join(lines).strip('\n'))
        quoted = '\n'.join(f'> {line}' if line else '>' for line in body.splitlines())
        return f'> **{self.inline(title)}.**\n>\n{quoted}\n'

    def markdown(self, text):
        """A markdown cell's MyST text as plain Markdown (see the module docstring)."""
        lines = text.splitlines(keepends=True)
        out = []
        done = 0
        for token in self.parser.parse(text):
            if not token.map or token.level != 0:
                continue
            if token.type in ('fence', 'colon_fence'):
                match = DIRECTIVE_RE.match(token.info.strip())
                if not match:
                    continue
                out.append(self.inline(''.join(lines[done:token.map[0]])))
                name, argument = match.group(1), match.group(2).strip()
                if name == 'chunk':
                    out.append(self.program_block(argument))
                elif name == 'show':
                    out.append(self.program_block(*argument.split('..', 1)))
                elif name == 'solution-start':
                    out.append('> **Solution.**\n')
                elif name == 'check':
                    pass  # an answer box of the HTML page (book/_ext/checks.py): a notebook has none
                elif name not in ('solution-end', 'live-figure'):  # a live figure runs only in the HTML book
                    out.append(self.block(name, argument, token.content))
                done = token.map[1]
            elif token.type == 'myst_target':
                out.append(self.inline(''.join(lines[done:token.map[0]])))
                done = token.map[1]
        out.append(self.inline(''.join(lines[done:])))
        return re.sub(r'\n{3,}', '\n\n', ''.join(out)).strip('\n')


def source(cell):
    """A cell's source as one string."""
    return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def repository(app):
    """(url, owner, name, branch) of the GitHub repository in _config.yml, or None."""
    options = app.config.html_theme_options or {}
    match = GITHUB_RE.match(str(options.get('repository_url') or '').strip())
    if not match:
        return None
    return match.group(0).rstrip('/'), match.group(1), match.group(2), options.get('repository_branch') or 'main'


def pinned(root, names):
    """'name==version' for each package, as requirements.txt pins it."""
    pins = {}
    for line in (Path(root) / 'requirements.txt').read_text(encoding='utf-8').splitlines():
        name = line.partition('==')[0]
        pins[name.strip().lower().replace('_', '-')] = line.strip()
    return [pins.get(n.lower().replace('_', '-'), n) for n in names]


def first_cells(app, docname):
    """The notebook's opening cells: what it is and how to run it; a code cell that finds, or fetches, the book."""
    number = app.microgpt_lessons.get(docname)
    title = app.env.titles[docname].astext()
    folder = str(Path(docname).parent)
    where = f'lesson {number} of ' if number else ''
    repo = repository(app)
    if not number:
        solutions = ''
    elif editions.edition(app) == 'teacher':
        solutions = 'This is the teacher edition: the solutions are included.'
    else:
        solutions = 'Exercise solutions are not included; ask your teacher, or check your answer by running code.'
    about = (f'**{title}** \u2014 {where}*{app.config.html_title}*.\n\n'
             f'This notebook is the page as the book was built: its text, its code cells and their '
             f'outputs. The cells rebuild `microgpt.py` from the book\'s chapters with `tangle.py`, so they run '
             f'inside a copy of the book: save this file in the `{folder}` folder of your copy, beside '
             f'`{Path(docname).name}.md`, and open it there. {solutions}'.rstrip())
    check = ('import pathlib\n'
             'inside_the_book = any((folder / "tangle.py").is_file() for folder in pathlib.Path.cwd().parents)\n')
    if repo:
        url, _, _, branch = repo
        packages = ', '.join(f'"{p}"' for p in pinned(app.srcdir, PINNED_PACKAGES) + list(OTHER_PACKAGES))
        about += ' Opened elsewhere (on Colab, say), the first code cell fetches a copy of the book and the ' \
                 'packages its cells import.'
        check += ('if not inside_the_book:  # e.g. on Colab: fetch a copy of the book and the packages the cells import\n'
                  '    import os, subprocess, sys\n'
                  f'    subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{branch}", "{url}", '
                  '"microgpt-book"], check=True)\n'
                  f'    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", {packages}], check=True)\n'
                  f'    os.chdir("microgpt-book/{folder}")\n')
    else:
        check += ('if not inside_the_book:\n'
                  f'    raise RuntimeError("Run this notebook from the {folder} folder of a copy of the book: no folder above "\n'
                  '                       + str(pathlib.Path.cwd()) + " holds tangle.py")\n')
    return [{'id': 'about-this-notebook', 'cell_type': 'markdown', 'metadata': {}, 'source': about},
            {'id': 'find-the-book', 'cell_type': 'code', 'metadata': {}, 'execution_count': None, 'outputs': [],
             'source': check}]


def without_solutions(cells, parser):
    """The cells without solutions: fenced ones, and those between solution-start and solution-end,
    which may enclose code cells (MyST-NB ends a markdown cell at each code cell)."""
    kept = []
    inside = False
    for cell in cells:
        if cell['cell_type'] != 'markdown':
            if not inside:
                kept.append(cell)
            continue
        lines = source(cell).splitlines(keepends=True)
        text = ''
        done = 0
        for token in parser.parse(source(cell)):
            match = editions.SOLUTION_FENCE_RE.match(token.info.strip()) if token.type == 'fence' else None
            if not match or not token.map or token.level != 0 or match.group(1) is None:
                continue
            if match.group(1) == '-start' and not inside:
                text += ''.join(lines[done:token.map[0]])
                inside = True
            elif match.group(1) == '-end' and inside:
                inside = False
            done = token.map[1]
        if not inside:
            text += ''.join(lines[done:])
        kept.append({**cell, 'source': editions.strip_solutions(text, parser)})
    return kept


def readable_notebook(app, docname, notebook, glued):
    """The executed notebook of a page, as a reader downloads it; glued is MyST-NB's {key: output} of the page."""
    page = Page(app, docname, glued)
    cells = first_cells(app, docname)
    given = notebook['cells']
    if editions.edition(app) != 'teacher':
        given = without_solutions(given, page.parser)
    for cell in given:
        if cell['cell_type'] == 'markdown':
            text = page.markdown(source(cell))
            if not text.strip():
                continue
            cell = {**cell, 'source': text}
        cells.append(cell)
    if (notebook.get('nbformat'), notebook.get('nbformat_minor', 0)) < (4, 5):  # cell ids came with nbformat 4.5
        cells = [{k: v for k, v in cell.items() if k != 'id'} for cell in cells]
    metadata = {k: v for k, v in notebook['metadata'].items() if k not in ('source_map', 'jupytext')}
    return {**notebook, 'metadata': metadata, 'cells': cells}


def on_builder_inited(app):
    """The MyST parser, once per build (the lesson numbers come from editions, the chunks from tangle)."""
    app.microgpt_parser = editions.markdown_parser(app)


def on_html_page_context(app, pagename, templatename, context, doctree):
    """Write the page's notebook to _sources and offer it; add the launch buttons. Runs before the theme's buttons.
    Not in the EPUB: an e-reader has no download menu, and the EPUB may hold only files it can show."""
    if app.builder.format != 'html' or app.builder.name == 'epub' or doctree is None:
        return
    executed = Path(app.outdir).parent / 'jupyter_execute' / f'{pagename}.ipynb'
    if not executed.is_file() or not app.env.metadata[pagename].get('kernelspec'):
        return
    glue_file = executed.with_suffix('.glue.json')  # MyST-NB keeps the glued values here, not in the notebook
    glued = json.loads(glue_file.read_text(encoding='utf-8')) if glue_file.is_file() else {}
    notebook = readable_notebook(app, pagename, json.loads(executed.read_text(encoding='utf-8')), glued)
    target = Path(app.outdir, '_sources', f'{pagename}.ipynb')
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix('.ipynb.tmp')
    temporary.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    temporary.replace(target)
    context['ipynb_source'] = f'{pagename}.ipynb'
    repo = repository(app)
    if repo and 'header_buttons' in context:
        context['header_buttons'].append(launch_menu(app, pagename, repo))


def launch_menu(app, pagename, repo):
    """The theme's header-button group for Binder and Colab."""
    url, owner, name, branch = repo
    launch = {**DEFAULT_LAUNCH, **(app.config.microgpt_launch or {})}
    book_path = str((app.config.html_theme_options or {}).get('path_to_docs') or '').strip('/')
    page_path = f'{book_path}/{pagename}' if book_path else pagename
    buttons = [
        {'type': 'link', 'text': 'Binder', 'tooltip': 'Launch on Binder', 'label': 'launch-binder-button',
         'icon': '_static/images/logo_binder.svg',
         'url': f'{launch["binder"].rstrip("/")}/v2/gh/{owner}/{name}/{branch}?urlpath=lab/tree/{page_path}.md'},
        {'type': 'link', 'text': 'Colab', 'tooltip': 'Launch on Colab', 'label': 'launch-colab-button',
         'icon': '_static/images/logo_colab.png',
         'url': f'{launch["colab"].rstrip("/")}/github/{owner}/{name}/blob/{launch["notebooks_branch"]}'
                f'/_sources/{pagename}.ipynb'},
    ]
    return {'type': 'group', 'tooltip': 'Launch interactive content', 'icon': 'fas fa-rocket',
            'buttons': buttons, 'label': 'launch-buttons'}


def setup(app):
    """Register the launch setting and connect the events."""
    app.add_config_value('microgpt_launch', {}, 'html', [dict])
    app.connect('builder-inited', on_builder_inited)
    # The theme makes its header-button list at priority 500 and its download menu at 501; at 500 this
    # runs between the two, as the theme's extension is set up before the book's own extensions.
    app.connect('html-page-context', on_html_page_context, priority=500)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
