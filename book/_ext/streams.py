"""Sphinx extension: a cell with `merge_streams` shows what it printed as it printed it.

MyST-NB merges a cell's stream outputs by stripping each piece's trailing whitespace and adding a line break. The
kernel sends what a cell prints in pieces cut by time, not by line (under load, in the middle of a line of
`print(a, b)`), so a line could come out broken in two on the page, and the executed notebook kept the merged text
beside the pieces. Here the pieces of each stream are first joined as they were printed, into copies, and MyST-NB's
own merge then sees one piece per stream: a cell's output no longer depends on when the kernel flushed it.
Listed under sphinx.local_extensions in _config.yml.
"""

import nbformat
from myst_nb.core import render, utils

MYST_NB_MERGE = utils.coalesce_streams


def join_streams(outputs):
    """outputs with each stream's pieces joined, in order, into (a copy of) its first piece; MyST-NB's merge after."""
    joined, first = [], {}
    for output in outputs or []:
        if output['output_type'] == 'stream':
            if output['name'] in first:
                first[output['name']]['text'] += output['text']
                continue
            output = first[output['name']] = nbformat.from_dict(dict(output))
        joined.append(output)
    return MYST_NB_MERGE(joined)


def setup(app):
    render.coalesce_streams = join_streams
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
