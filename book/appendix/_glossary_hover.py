"""Sphinx extension: hovering a glossary link shows the term's definition.

Every {term} link gets its definition as the HTML title attribute, set while the book is built,
so the tooltip needs no script and works offline and from file:// pages. Listed under
sphinx.local_extensions in _config.yml.
"""

from docutils import nodes
from sphinx import addnodes

MAX_CHARS = 400   # a tooltip longer than this is cut at a word and ends with an ellipsis


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
            text = shorten(definition.astext()) if definition else ''
            for term in item.findall(nodes.term):
                for node_id in term['ids']:
                    found[node_id] = text
    store = definitions(app.env)
    store.pop(app.env.docname, None)
    if found:
        store[app.env.docname] = found


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
        target = ref.get('refid') or ref.get('refuri', '').partition('#')[2]
        if target in by_id and by_id[target]:
            ref['reftitle'] = by_id[target]


def setup(app):
    """Connect the events; the extension keeps its data in the environment, so it is parallel safe."""
    app.connect('doctree-read', collect_definitions)
    app.connect('env-purge-doc', purge)
    app.connect('env-merge-info', merge)
    app.connect('doctree-resolved', add_titles)
    return {'version': '1.0', 'env_version': 1, 'parallel_read_safe': True, 'parallel_write_safe': True}
