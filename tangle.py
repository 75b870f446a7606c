"""Rebuild microgpt.py from the book's chapters, and show the chapters' code with its real line numbers.

The chapters are the source. A *chunk* is a fenced block whose info string is ``{chunk} NAME``;
its body is exactly some lines of microgpt.py. Chunks are joined in the order of ``_toc.yml``
(read with Jupyter Book's own TOC parser), then in page order (read with MyST's own Markdown
parser), so the book and this file can never disagree about what a chunk is or what comes first.
A chunk the book would render but this file cannot read as the book does (from an {include}, in {eval-rst}
or an .rst chapter, in a Markdown cell that MyST-NB drops or would cut elsewhere) is refused at its line.

Command line (exit 0 on success, 1 when --check finds a difference, 2 on bad input)::

    python tangle.py              write microgpt.py from the chapters (refused over edits the chapters lack)
    python tangle.py --force      ... even over such edits, which are lost
    python tangle.py --check      write nothing; print a diff naming chapter and chunk if they differ, and
                                  which way to sync; check every {lines} reference
    python tangle.py -o PATH      write PATH instead of microgpt.py (a regular file or a new path)
    python tangle.py --stitch     write the lines of an edited microgpt.py back into their chunks

Which side changed is judged against the last sync: the program and its chunks as the last tangle or
stitch left them (_build/tangle-state.json), else as committed in git. tangle never overwrites an edit
of the program, stitch never reverts a chunk changed in a chapter since, and a chunk changed on both
sides is refused, as is an edit while the chapters added, removed or reordered chunks. stitch writes only a
program that compiles.

Sphinx extension (listed in _config.yml), in the chapters::

    ```{chunk} NAME                a chunk, rendered as Python with its microgpt.py line numbers
    {lines}`NAME`                  "lines 30–57", linked to the chunk
    {lines}`NAME:3`                the 3rd line of the chunk ("line 32"); NAME:3-5 for a range
    {lines}`NAME~text`             the first line of the chunk that contains text
    ```{show} NAME or FIRST..LAST  re-show chunks from the tangled program, not tangled again

Executed cells run the program as the chapters have it so far with ``tangle.load(NAME)``.
"""

import argparse
import difflib
import hashlib
import itertools
import os
import re
import stat
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The runtime of the executed cells (load, the cached runs and variants, timings) and the book's data types live
# in book/_ext/runtime.py, which the page's Python receives as is; tangle re-exports them for the cells.
sys.path.insert(0, str(ROOT / 'book' / '_ext'))
from runtime import (Book, Chunk, DATA_ENV, PROGRAM, SECOND_BLOCK, SNAPSHOT_STEPS, TIMED_NAMES,  # noqa: E402,F401
                     TRAINING_CHUNK, VARIANTS, line_span, load, names_file, png, program, resolve_lines,
                     snapshot_run, timings, trained_run, variant_diff, variant_run)
import runtime  # noqa: E402

TOC = '_toc.yml'
CONFIG = '_config.yml'
CHUNK_DIRECTIVE = '{chunk}'
NAME_RE = re.compile(r'^[a-z0-9]+(-[a-z0-9]+)*$')
INVISIBLE = '\u00a0\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff'  # blank to a reader
CHUNK_FENCE_RE = re.compile(rf'^[ \t{INVISIBLE}]*(`{{3,}}|~{{3,}}|:{{3,}})[ \t{INVISIBLE}]*\{{chunk\}}', re.IGNORECASE)  # to a person
# Directives whose content the book shows as it is (code, math): a chunk fence inside one is an example.
# Every other directive's content is read as Markdown, so a chunk fence inside it would be rendered.
LITERAL_DIRECTIVES = {'code-block', 'code', 'sourcecode', 'code-cell', 'literalinclude', 'math', 'raw', 'eval-rst',
                      'graphviz', 'mermaid', 'csv-table', 'highlight', 'show', 'chunk', 'glue', 'glue:any',
                      'glue:text', 'glue:md', 'glue:math', 'glue:figure'}
# Lines a person may have meant as a chunk fence: a directive-like brace word after a fence of any length
# (or two backticks), `{ chunk}`, ```chunk NAME, ```{chunk NAME. Which brace words are near 'chunk' is decided
# by near_chunk(); the exact directive after three or more backticks is read by the parser instead.
NEAR_MISS_RE = re.compile(r'^[ \t]{0,3}(?P<fence>`+|~+|:+|\'{3,}|"{3,})[ \t]*(?:\{(?P<word>[^{}\n]{1,16})\}'
                          r'|(?P<bare>\{?chunk[s-]?)(?=[ \t]|$))[ \t]*(?P<name>[\w.-]*)[ \t]*$', re.IGNORECASE | re.MULTILINE)
RST_CHUNK_RE = re.compile(r'^[ \t]*\.\.[ \t]+chunk[ \t]*::', re.IGNORECASE | re.MULTILINE)  # the chunk directive in reStructuredText
# An include, as MyST writes it (a fence of any kind) or as reStructuredText does; the path is the rest of the line.
INCLUDE_RE = re.compile(r'^[ \t]*(?:(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*\{include\}|\.\.[ \t]+include[ \t]*::)[ \t]*'
                        r'(?P<path>\S.*?)[ \t]*$', re.IGNORECASE)
RST_OPTION_RE = re.compile(r'^[ \t]+:(?P<key>[\w-]+):(?:[ \t]+(?P<value>.*?))?[ \t]*$')  # `.. include::` options
OPENING_FENCE_RE = re.compile(r'^ {0,3}(`{3,})[ \t]*[^`\s]')  # a backtick fence with an info string
OPTION_RE = re.compile(r'^(:[\w.-]+:(\s|$)|---\s*$)')  # a directive option (or option block) line
BOM = '\ufeff'
BLOCK_BREAK_RE = re.compile(r'^[ \t]*\+\+\+', re.MULTILINE)  # where MyST-NB may start a Markdown cell with tags
LINE_SEPARATORS = '\x0b\x0c\x1c-\x1e\x85\u2028\u2029'  # Python's str.splitlines splits at these, Markdown does not
MOVE_MIN = 2  # a block of this many lines deleted in one chunk and inserted in another is a move
STATE = '_build/tangle-state.json'  # what the last tangle or stitch wrote (git ignores _build/)
STATE_VERSION = 1
MAX_TOC_DEPTH = 100  # YAML levels of _toc.yml (a section is two: its entry and its list)
SKIP_DIRS = {'.git', '.venv', '_build', 'tests', 'node_modules', '__pycache__'}


class TangleError(Exception):
    """Bad input, located at a file and line."""

    def __init__(self, path, line, message):
        super().__init__(f'{path}:{line}: {message}' if line else f'{path}: {message}')


def shown(text):
    """text with every character a reader cannot see (and every control character) written as U+XXXX."""
    return re.sub(rf'[{INVISIBLE}\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]', lambda m: f'U+{ord(m.group()):04X}', text)


def fence_directive(info):
    """The directive a fence's info string names, as MyST reads it ('{name} args'), lower-cased; None if none."""
    parts = info.strip().split(maxsplit=1)
    name = parts[0] if parts else ''
    return name[1:-1].lower() if len(name) > 2 and name.startswith('{') and name.endswith('}') else None


def markdown_parser(root):
    """MyST's own markdown-it parser, configured with the book's MyST extensions (parse: myst_enable_extensions)."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser
    return create_md_parser(MdParserConfig(enable_extensions=myst_extensions(root)), RendererHTML)


def myst_extensions(root):
    """The MyST extensions the book's build enables: Jupyter Book's computed configuration of _config.yml."""
    return book_config(root)['myst_extensions']


_CONFIGS = {}  # (root, the text of _config.yml) -> what book_config found: a page reads the book often


def book_config(root):
    """What tangle needs of _config.yml, each key checked for its shape, computed as Jupyter Book computes it:
    {'myst_extensions', 'local_extensions', 'exclude_patterns', 'only_build_toc_files'}."""
    config_path = Path(root) / CONFIG
    text = read_chapter(config_path, CONFIG) if config_path.exists() else ''
    key = (str(root), text)
    if key not in _CONFIGS:
        _CONFIGS[key] = _book_config(root, config_path, text)
    return _CONFIGS[key]


def _book_config(root, config_path, text):
    """book_config, uncached."""
    config = read_yaml(config_path, CONFIG) if config_path.exists() else None
    lines = text.splitlines()

    def line_of(*keys):
        at = 0
        for key in keys:  # each key searched for after the one that holds it
            at = next((i for i, line in enumerate(lines, 1) if i > at and re.match(rf'\s*{re.escape(key)}\s*:', line)),
                      at or 1)
        return at or 1

    def expect(value, kind, *keys, example=''):
        if value is not None and not isinstance(value, kind):
            want = {dict: 'a mapping', list: 'a list', bool: 'true or false', str: 'a string'}[kind]
            raise TangleError(CONFIG, line_of(*keys), f"'{': '.join(keys)}' must be {want}{example}, "
                                                      f'not {type(value).__name__}')
        return value

    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TangleError(CONFIG, 1, f'must be a mapping of settings (key: value), not {type(config).__name__}')
    parse = expect(config.get('parse'), dict, 'parse', example=' (myst_enable_extensions: [...])') or {}
    sphinx = expect(config.get('sphinx'), dict, 'sphinx', example=' (config:, extra_extensions:, local_extensions:)') or {}
    sphinx_config = expect(sphinx.get('config'), dict, 'sphinx', 'config') or {}
    for where, keys in ((parse, ('parse', 'myst_enable_extensions')),
                        (sphinx_config, ('sphinx', 'config', 'myst_enable_extensions'))):
        names = where.get(keys[-1])
        if names is not None and (not isinstance(names, list) or not all(isinstance(e, str) for e in names)):
            raise TangleError(CONFIG, line_of(*keys), f"'{keys[-1]}' must be a list of extension names, "
                                                      'e.g. [colon_fence, dollarmath]')
    local = expect(sphinx.get('local_extensions'), dict, 'sphinx', 'local_extensions', example=' (name: folder)') or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in local.items()):
        raise TangleError(CONFIG, line_of('sphinx', 'local_extensions'),
                          "'sphinx: local_extensions' must map each extension's name to its folder")
    extra = expect(sphinx.get('extra_extensions'), list, 'sphinx', 'extra_extensions') or []
    if not all(isinstance(e, str) for e in extra):
        raise TangleError(CONFIG, line_of('sphinx', 'extra_extensions'),
                          "'sphinx: extra_extensions' must be a list of module names")
    exclude = expect(config.get('exclude_patterns'), list, 'exclude_patterns') or []
    if not all(isinstance(p, str) for p in exclude):
        raise TangleError(CONFIG, line_of('exclude_patterns'), "'exclude_patterns' must be a list of patterns")
    only_toc = expect(config.get('only_build_toc_files'), bool, 'only_build_toc_files')
    from jupyter_book.config import get_final_config
    try:
        final, _ = get_final_config(user_yaml=config, cli_config={'latex_individualpages': False},
                                    sourcedir=Path(root), validate=False)
    except Exception as err:  # noqa: BLE001  Jupyter Book's own refusal, whatever its type
        raise TangleError(CONFIG, 1, f'Jupyter Book cannot read it: {err}') from None
    extensions = final.get('myst_enable_extensions') or []
    if not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions):
        raise TangleError(CONFIG, line_of('myst_enable_extensions'),
                          "'myst_enable_extensions' must be a list of extension names, e.g. [colon_fence, dollarmath]")
    unknown = [e for e in extensions if not _known_myst_extension(e)]
    if unknown:
        at = next((i for i, line in enumerate(lines, 1)
                   if re.search(rf'(^|[\s\[,-]){re.escape(unknown[0])}\s*($|[\],#])', line)),
                  line_of('myst_enable_extensions'))
        raise TangleError(CONFIG, at, f"unknown MyST extension {', '.join(map(repr, map(shown, unknown)))} "
                                      'in myst_enable_extensions')
    return {'myst_extensions': set(extensions), 'local_extensions': local,
            'exclude_patterns': list(final.get('exclude_patterns') or []) + exclude,
            'only_build_toc_files': bool(only_toc)}


def _known_myst_extension(name):
    """Whether MyST knows the extension name."""
    from myst_parser.config.main import MdParserConfig
    try:
        MdParserConfig(enable_extensions={name})
    except (ValueError, TypeError):
        return False
    return True


def read_yaml(path, rel):
    """A YAML file's data; errors name the file and line."""
    import yaml
    try:
        return yaml.safe_load(read_chapter(path, rel))
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        raise TangleError(rel, mark.line + 1 if mark else 1, f'not valid YAML: {getattr(err, "problem", err)}') from None
    except RecursionError:
        raise TangleError(rel, 1, 'nested too deep to read: flatten it') from None


def toc_docnames(root):
    """Document names in _toc.yml order, each checked to exist as a file."""
    from sphinx_external_toc.parsing import MalformedError, parse_toc_yaml
    toc_path = Path(root) / TOC
    if not toc_path.exists():
        raise TangleError(TOC, 1, 'file not found')
    data = read_yaml(toc_path, TOC)  # YAML and UTF-8 errors, located
    if data is None:
        raise TangleError(TOC, 1, 'empty: it must name at least the root document')
    toc_lines = toc_path.read_text(encoding='utf-8').splitlines()
    entry = re.compile(r'^\s*(-\s*)?(file|root):\s*["\']?(.*?)(\.(md|ipynb|rst))?["\']?\s*(#.*)?$')
    entry_lines = {}  # each entry's name -> the lines that list it, in order: one reading of the file
    for number, text in enumerate(toc_lines, 1):
        match = entry.match(text)
        if match:
            entry_lines.setdefault(match.group(3), []).append(number)

    def toc_line(docname, after=0):
        lines = entry_lines.get(docname, []) + entry_lines.get(f'./{docname}', [])
        return next((i for i in sorted(lines) if i > after), 1)

    depth, stack = 0, [(data, 0)]  # nesting, measured without recursion before any parser recurses into it
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        if level > MAX_TOC_DEPTH:
            raise TangleError(TOC, 1, f'sections nested more than {MAX_TOC_DEPTH} deep: the book cannot be read '
                                      'that deep; flatten the table of contents')
        if isinstance(node, dict):
            stack.extend((value, level + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, level + 1) for value in node)
    try:
        site_map = parse_toc_yaml(toc_path)
    except (MalformedError, ValueError) as err:
        raise TangleError(TOC, 1, f'not a valid table of contents: {err}') from None
    except RecursionError:
        raise TangleError(TOC, 1, 'sections nested too deep to read: flatten the table of contents') from None
    from sphinx_external_toc.api import FileItem, GlobItem

    order, seen_at = [], {}
    pending = [site_map.root.docname]  # depth first, in order, without recursion
    while pending:
        docname = pending.pop()
        name = re.sub(r'\.(md|ipynb|rst)$', '', docname)
        while name.startswith('./'):  # Sphinx's document name has no ./ (the chunk directive compares them)
            name = name[2:]
        if name in seen_at:  # e.g. 'a' and 'a.md': the book would show one page, tangle would read it twice
            line = toc_line(name, seen_at[name])
            raise TangleError(TOC, line, f"'{name}' is listed twice (first at {TOC}:{seen_at[name]}): "
                                         'a chapter appears once in the book')
        seen_at[name] = toc_line(name)
        order.append(name)
        children = []
        for subtree in site_map[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, GlobItem):
                    line = next((i for i, text in enumerate(toc_lines, 1) if re.match(r'^\s*(-\s*)?glob\s*:', text)), 1)
                    raise TangleError(TOC, line, f"glob entry '{item}': list the chapters one by one, so that "
                                                 'the order of the program is written down')
                if isinstance(item, FileItem):
                    children.append(str(item))
        pending.extend(reversed(children))
    for docname in order:
        line = seen_at[docname]
        if Path(docname).is_absolute() or '..' in Path(docname).parts:
            raise TangleError(TOC, line, f"'{docname}' is outside the book: "
                                         f'chapters are files under the folder of {TOC}')
        if not chapter_file(root, docname):
            missing = 'is a folder, not a file' if (Path(root) / f'{docname}.md').is_dir() else 'does not exist'
            raise TangleError(TOC, line, f"'{docname}' names no file ({docname}.md {missing})")
    return order


def chapter_file(root, docname):
    """The source file of a document, or None."""
    for suffix in ('.md', '.ipynb', '.rst'):
        path = Path(root) / (docname + suffix)
        if path.is_file():
            return path
    return None


def read_utf8(path, rel):
    """The text of a file, line endings kept; errors name the file and the line of a bad byte."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise TangleError(rel, 1, f'cannot read: {err.strerror or err}') from None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as err:
        raise TangleError(rel, data.count(b'\n', 0, err.start) + 1, 'not valid UTF-8') from None


def read_chapter(path, rel):
    """The text of a chapter, line endings kept, a leading byte order mark dropped (as Sphinx does)."""
    return read_utf8(path, rel).removeprefix(BOM)


_READ = {}  # (chapter, its text, the parser's extensions, ...) -> its chunks: a page loads the program often


def chapter_chunks(parser, text, rel, docname):
    """The chunks written in one chapter, in page order (remembered for an unchanged text; fresh copies)."""
    config = parser.options.get('myst_config')
    key = (rel, docname, tuple(sorted(config.enable_extensions)) if config else None,
           hashlib.sha256(text.encode('utf-8', 'surrogatepass')).digest())
    if key not in _READ:
        _READ[key] = _chapter_chunks(parser, text, rel, docname)
    return [Chunk(c.name, c.path, c.docname, c.body_line, list(c.lines)) for c in _READ[key]]


# The book's own directives that are two letters from "chunk": a slip into one of them is caught by its directive
# (a {check} whose body is not its YAML fails the build), so they are not refused here.
OTHER_DIRECTIVES = {'check'}


def near_chunk(word):
    """Whether a brace word is a slip for {chunk}: a spacing, a suffix, or one or two letters off (not
    one of OTHER_DIRECTIVES)."""
    word = word.lower()
    if word in OTHER_DIRECTIVES:
        return False
    if word.strip(' \t-_s') == 'chunk' or word.startswith('chunk') or word.endswith('chunk'):
        return True
    previous = list(range(len('chunk') + 1))  # Levenshtein distance to 'chunk', at most 2
    for i, a in enumerate(word, 1):
        current = [i]
        for j, b in enumerate('chunk', 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] <= 2 and len(word) >= 4


def near_misses(text):
    """(line number, line, chunk name) of every line that is almost a chunk fence, but not one."""
    for match in NEAR_MISS_RE.finditer(text):
        fence, word, bare = match.group('fence'), match.group('word'), match.group('bare')
        if word is not None:
            exact = word == word.strip() and word.lower() == 'chunk' and len(fence) >= 3 and fence[0] in '`~:'
            if exact or not near_chunk(word):
                continue  # the directive itself (its spellings are the parser's), or another directive
        elif len(fence) < 3 or fence[0] != '`':
            continue
        yield text.count('\n', 0, match.start()) + 1, match.group().strip(), match.group('name') or 'some-name'


def _chapter_chunks(parser, text, rel, docname):
    """The chunks written in one chapter, in page order.

    A fence is a chunk exactly when the book renders it as the chunk directive: a top-level backtick
    fence whose first word is {chunk} (MyST's reading of the info string). Everything a person could
    take for a chunk that the book would render differently is refused at its line.
    """
    slips = list(near_misses(text))
    if CHUNK_DIRECTIVE not in text.lower() and not slips and not RST_CHUNK_RE.search(text):
        return []  # no chunk, nor anything that looks like one: no need to parse
    raw_lines = text.split('\n')
    for number, raw in enumerate(raw_lines, 1):
        if '\r' in raw[:-1]:  # Markdown would count a line here that this file does not
            raise TangleError(rel, number, 'carriage return (CR) inside a line: save the file with LF line endings')
    chunks, examples, parsed_inside, rst_inside = [], set(), {}, {}
    for token in parser.parse(text):
        if token.type not in ('fence', 'colon_fence') or not token.map:
            continue
        first, end = token.map  # 0-based lines [first, end) of the whole fence
        directive = fence_directive(token.info)
        fence_char = token.markup[0]
        closing = raw_lines[end - 1].strip() if end - 1 < len(raw_lines) else ''
        closed = end - 1 > first and closing.startswith(token.markup) and set(closing) == {fence_char}
        if not closed and directive != 'chunk':  # a fence left open swallows the rest of the chapter
            for number in range(first + 2, end + 1):
                if CHUNK_FENCE_RE.match(raw_lines[number - 1]):
                    raise TangleError(rel, number, f'chunk fence inside the fence opened at line {first + 1}, '
                                                   f'which is never closed: close that fence first')
        if token.info.strip().lower().startswith(CHUNK_DIRECTIVE) and directive != 'chunk':
            raise TangleError(rel, first + 1, f"'{shown(token.info.strip())}' is not a chunk to the book (it shows plain "
                                              'code): put a space between {chunk} and the name')
        if directive == 'eval-rst':  # read as reStructuredText, where `.. chunk::` is the chunk directive
            rst_inside.update((number, first + 1) for number in range(first + 2, end))
        if directive != 'chunk':
            if token.type == 'colon_fence' or (directive and directive not in LITERAL_DIRECTIVES):
                for number in range(first + 2, end):
                    parsed_inside[number] = (directive or token.info.strip() or token.markup, first + 1)
            else:
                for number in range(first + 2, end) if fence_char == '`' else ():
                    inner = CHUNK_FENCE_RE.match(raw_lines[number - 1])
                    if inner and inner.group(1)[0] == '`' and len(inner.group(1)) >= len(token.markup):
                        # an example would need a longer outer fence: this one was left open before a chunk
                        raise TangleError(rel, first + 1, f"fence '{shown(raw_lines[first].strip())}' is not closed "
                                                          f'before the chunk at line {number}, which it swallows: '
                                                          f'close it with {token.markup}')
                examples.update(range(first + 2, end))  # 1-based lines of a literal fence: may show chunk syntax
            continue
        if token.info.strip().split()[0] != CHUNK_DIRECTIVE:
            raise TangleError(rel, first + 1, f"'{shown(token.info.strip().split()[0])}': write {CHUNK_DIRECTIVE} in "
                                              'lower case')
        if token.type == 'colon_fence':
            raise TangleError(rel, first + 1, 'chunk fence of colons: write a chunk with backticks, '
                                              '```{chunk} some-name')
        if token.level > 0:
            raise TangleError(rel, first + 1, 'chunk inside a block quote or list: a chunk must start at the left margin')
        if raw_lines[first][:1].isspace():  # the body would lose its indentation
            raise TangleError(rel, first + 1, 'chunk fence is indented: a chunk must start at the left margin')
        if fence_char == '~':
            raise TangleError(rel, first + 1, 'chunk fence of tildes: write a chunk with backticks, '
                                              '```{chunk} some-name')
        args = token.info.strip()[len(CHUNK_DIRECTIVE):].split()
        if not closed:
            raise TangleError(rel, first + 1, f"chunk fence {token.markup} is never closed")
        if not args:
            raise TangleError(rel, first + 1, 'chunk without a name: write ```{chunk} some-name')
        name = args[0]
        if len(args) > 1 or not NAME_RE.match(name):
            raise TangleError(rel, first + 1, f"chunk name '{shown(' '.join(args))}' is not one kebab-case word")
        lines = token.content.split('\n')[:-1]
        closer = re.compile(rf'^[ {INVISIBLE}]{{0,3}}{re.escape(fence_char)}{{{len(token.markup)},}}[ \t{INVISIBLE}]*$')
        for number, (raw, line) in enumerate(zip(raw_lines[first + 1:end - 1], lines), first + 2):
            if raw.endswith('\r'):
                raise TangleError(rel, number, f"CRLF line ending in chunk '{name}'")
            if closer.match(raw):  # it would close the chunk, but for an invisible character
                raise TangleError(rel, number, f"'{shown(raw)}' would end chunk '{name}' but for an invisible "
                                               'character: delete it, or the chunk runs on into the prose')
            if BOM in raw:
                raise TangleError(rel, number, f"byte order mark (U+FEFF) in chunk '{name}'")
            if CHUNK_FENCE_RE.match(raw):
                raise TangleError(rel, number, f"chunk fence inside chunk '{name}': close '{name}' first")
            opening = OPENING_FENCE_RE.match(raw)
            if opening and len(opening.group(1)) >= len(token.markup):
                raise TangleError(rel, first + 1, f"chunk '{name}' is not closed before the fence at line {number} "
                                                  f'(\'{shown(raw.strip())}\'), which it swallows: close it with '
                                                  f'{token.markup}')
            if '\0' in raw or raw != line:
                raise TangleError(rel, number, f"line of chunk '{name}' does not read back verbatim (a NUL character?)")
        if lines and OPTION_RE.match(lines[0]):
            raise TangleError(rel, first + 2, f"chunk '{name}' starts with a directive option ('{shown(lines[0])}'): "
                                              'a chunk takes no options, its body is program lines only')
        if not any(line.strip() for line in lines):
            raise TangleError(rel, first + 1, f"chunk '{name}' is empty")
        chunks.append(Chunk(name, rel, docname, first + 2, lines))
    opened = {c.body_line - 1 for c in chunks}
    for number, line, name in slips:
        if number not in examples and number not in opened:
            raise TangleError(rel, number, f"'{shown(line)}' is almost a chunk fence, but the book shows it as "
                                           f'something else: write ```{{chunk}} {shown(name)}')
    for match in RST_CHUNK_RE.finditer(text):
        number = text.count('\n', 0, match.start()) + 1
        if number in rst_inside or number in parsed_inside:  # in {eval-rst}, or in a directive that may hold one
            inside, at = ('eval-rst', rst_inside[number]) if number in rst_inside else parsed_inside[number]
            raise TangleError(rel, number, f'chunk directive in reStructuredText (inside {shown(inside)}, line {at}): '
                                           'the book would render it, but tangle reads only chunks written as '
                                           'Markdown fences: write it as ```{chunk} NAME at the top level')
    for number, raw in enumerate(raw_lines, 1):
        if not CHUNK_FENCE_RE.match(raw) or number in opened or number in examples:
            continue
        if number in parsed_inside:
            inside, at = parsed_inside[number]
            raise TangleError(rel, number, f'chunk fence inside {shown(inside)} (line {at}): the book would show it '
                                           'there, but a chunk must stand at the top level of its chapter')
        raise TangleError(rel, number, 'looks like a chunk fence but is not read as one (indented by a tab or '
                                       '4 spaces, inside HTML, or after an invisible character): '
                                       'start the line with ```{chunk}')
    notebook_cells(parser, text, rel, chunks)  # even with no chunk: a shifted cut could make an example one
    return chunks


def notebook_cells(parser, text, rel, chunks):
    """Refuse what MyST-NB's cut of a MyST notebook chapter into cells would hide from the book: a chunk in a
    Markdown cell tagged remove-cell, and a line separator that Python splits at and Markdown does not (MyST-NB
    cuts the chapter's lines by Markdown's line numbers, so the cells would shift). The cells are MyST-NB's own."""
    separator = re.search(f'[{LINE_SEPARATORS}]', text)
    if not separator and not BLOCK_BREAK_RE.search(text):
        return  # the cells are cut at code cells only, and no Markdown cell has tags: nothing is hidden or shifted
    from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook
    if not is_myst_markdown_notebook(text):
        return  # a plain Markdown page: MyST reads it whole
    if separator:
        raise TangleError(rel, text.count('\n', 0, separator.start()) + 1,
                          f'line separator {shown(separator.group())} in a notebook chapter: MyST-NB would split '
                          'the line there and cut the chapter into cells at the wrong lines, so a chunk could '
                          'vanish from the book: delete it')
    try:
        notebook = read_myst_markdown_notebook(text, parser.options.get('myst_config'), add_source_map=True)
    except Exception as err:  # noqa: BLE001  MyST-NB's own refusal (cell metadata, front matter), whatever its type
        why = (str(err).strip() or type(err).__name__).splitlines()[0]
        raise TangleError(rel, 1, f'MyST-NB cannot read it as a notebook: {why}') from None
    starts = notebook.metadata['source_map'] + [text.count('\n') + 1]
    for cell, start, end in zip(notebook.cells, starts, starts[1:]):
        tags = cell.metadata.get('tags', [])
        try:
            removed = 'remove_cell' in tags or 'remove-cell' in tags  # MyST-NB's test, as it writes it
        except TypeError:
            raise TangleError(rel, start, f'cell tags {shown(repr(tags))} are not a list') from None
        if cell.cell_type != 'markdown' or not removed:
            continue
        for chunk in chunks:
            if start <= chunk.body_line - 2 < end:
                raise TangleError(rel, chunk.body_line - 1, f"chunk '{chunk.name}' is in a Markdown cell tagged "
                                                            f'remove-cell (the +++ at line {start}), which the book '
                                                            'drops: remove the tag, or end the cell before the chunk')


def notebook_chunks(path, rel):
    """A notebook chapter holds no chunk: refuse a chunk fence in any of its cells, at its line in the file."""
    text = read_chapter(path, rel)
    for number, line in enumerate(text.split('\n'), 1):
        if '{chunk}' in line.lower():
            raise TangleError(rel, number, 'chunk fence in a notebook chapter: the book would show it, but tangle '
                                           'reads chunks from Markdown chapters only: move it to a .md chapter')


def rst_chunks(root, path, rel):
    """A reStructuredText chapter holds no chunk: refuse the chunk directive in it, at its line."""
    text = read_chapter(path, rel)
    match = RST_CHUNK_RE.search(text)
    if match:
        raise TangleError(rel, text.count('\n', 0, match.start()) + 1,
                          'chunk directive in a reStructuredText chapter: the book would render it, but tangle reads '
                          'chunks from Markdown chapters only: move it to a .md chapter as ```{chunk} NAME')
    included_chunks(root, path, rel, text)


def include_options(lines, number, fence, argument):
    """The options of the include directive at line number (1-based) of lines, converted by the include
    directive's own option spec: a MyST fence's (its `:key: value` lines or `---` block, read by MyST's own
    directive reader), else the indented `:key: value` lines of a reStructuredText `.. include::`. None when they
    cannot be read (the build would report them): then the whole file counts."""
    from docutils.parsers.rst.directives.misc import Include
    if fence:
        body = []
        for raw in lines[number:]:
            if re.match(rf'^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$', raw):
                break
            body.append(raw)
        from myst_parser.parsers.directives import MarkupError, parse_directive_text
        try:
            return parse_directive_text(Include, argument, '\n'.join(body)).options  # a bad option dropped, as MyST does
        except (MarkupError, ValueError, TypeError):
            return None
    options = {}
    for raw in lines[number:]:
        match = RST_OPTION_RE.match(raw)
        if not match:
            break
        convert = Include.option_spec.get(match.group('key'))
        if convert is None:
            return None
        try:
            options[match.group('key')] = convert(match.group('value'))
        except (ValueError, TypeError, AttributeError):
            return None
    return options


def included_part(text, options):
    """(the lines of an included file's text the include brings in, the 0-based file line of the first), cut as
    MyST's include does: Python's line splitting, then start-line/end-line, then start-after/end-before (text
    not found: the build reports it and brings nothing in). docutils' include cuts the same way."""
    lines = text.splitlines()
    start, end = options.get('start-line'), options.get('end-line')
    part, first = '\n'.join(lines[start:end]), len(lines[:start]) if start else 0
    for key in ('start-after', 'end-before'):
        mark = options.get(key)
        if not mark:
            continue
        at = part.find(mark)
        if at < 0:
            return [], first
        if key == 'start-after':
            first += part.count('\n', 0, at + len(mark))
            part = part[at + len(mark):]
        else:
            part = part[:at]
    return part.splitlines(), first


def included_chunks(root, path, rel, text, line=None, seen=()):
    """Refuse an include that brings a chunk into a chapter, at the include's line in the chapter (line, when
    path is itself included): tangle reads a chunk only where a chapter writes it. Only the part of the file
    the include's options bring in counts. An include shown as code (:literal:, :code:) or of a missing file is
    left alone, as are includes of includes already followed."""
    if 'include' not in text.lower():
        return
    lines = text.split('\n')
    for number, raw in enumerate(lines, 1):
        match = INCLUDE_RE.match(raw)
        if not match or match.group('path').startswith('<'):
            continue
        options = include_options(lines, number, match.group('fence'), match.group('path'))
        if options is not None and ('literal' in options or 'code' in options):
            continue
        target = match.group('path')
        included = Path(root) / target.lstrip('/') if target.startswith('/') else path.parent / target
        if not included.is_file() or included.resolve() in seen:
            continue
        try:
            name = included.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            name = str(included)
        inner = read_chapter(included, name)
        part, first = included_part(inner, options or {})
        for at, inner_line in enumerate(part, first + 1):
            if (CHUNK_FENCE_RE.match(inner_line) or RST_CHUNK_RE.match(inner_line)) and \
                    not (line is None and path.suffix == '.md' and shown_as_code(root, text, number)):
                raise TangleError(rel, line or number, f'include of {shown(name)}, whose line {at} is a chunk fence: '
                                                       'the book would render the chunk here, but tangle reads a '
                                                       'chunk only where a chapter writes it: move the chunk into '
                                                       'the chapter')
        included_chunks(root, included, rel, '\n'.join(part), line or number, (*seen, path.resolve()))


def shown_as_code(root, text, number):
    """Whether line number of a Markdown chapter lies inside a fence the book shows as code (an example)."""
    for token in markdown_parser(root).parse(text):
        if token.type == 'fence' and token.map and token.map[0] + 1 < number <= token.map[1] and \
                (fence_directive(token.info) or 'code') in LITERAL_DIRECTIVES | {'code'}:
            return True
    return False


def read_book(root=ROOT, texts=None):
    """Parse every chapter in TOC order into a Book; raise TangleError on bad input.

    texts, {chapter path relative to root: text}, stands in for those chapters' files (stitch proves its
    result on the texts it is about to write)."""
    root = Path(root)
    parser = markdown_parser(root)
    docnames = toc_docnames(root)
    book = Book(root, docnames)
    seen = {}
    for docname in docnames:
        path = chapter_file(root, docname)
        rel = path.relative_to(root).as_posix()
        if path.suffix == '.ipynb':
            notebook_chunks(path, rel)
        if path.suffix == '.rst':
            rst_chunks(root, path, rel)
        if path.suffix != '.md':
            continue
        text = texts[rel].removeprefix(BOM) if texts and rel in texts else read_chapter(path, rel)
        included_chunks(root, path, rel, text)
        if not text.strip():
            raise TangleError(rel, 1, 'chapter is empty: a chapter has at least a title')
        for chunk in chapter_chunks(parser, text, rel, docname):
            if chunk.name in seen:
                first = seen[chunk.name]
                raise TangleError(rel, chunk.body_line - 1,
                                  f"chunk '{chunk.name}' defined twice (first at {first.path}:{first.body_line - 1})")
            seen[chunk.name] = chunk
            book.chunks.append(chunk)
    in_toc = {chapter_file(root, d) for d in docnames}
    from sphinx.util.matching import Matcher
    excluded = Matcher(book_config(root)['exclude_patterns'])  # files the book never reads, as Sphinx matches them
    for path in sorted(stray_markdown(root)):
        rel = path.relative_to(root).as_posix()
        if path in in_toc or excluded(rel):
            continue
        strays = chapter_chunks(parser, read_chapter(path, rel), rel, None)
        if strays:
            raise TangleError(rel, strays[0].body_line - 1,
                              f"chunk '{strays[0].name}' is in a file that {TOC} does not list")
    start = 1
    for chunk in book.chunks:
        chunk.start = start
        start += len(chunk.lines)
    return book


def stray_markdown(root):
    """Every Markdown file under root outside tooling folders, except files no book reads: dot-files (editor
    locks such as .#a.md), backups (a.md~, #a.md#), and links that lead nowhere."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith('.')]
        yield from (Path(folder) / f for f in files
                    if f.endswith('.md') and not f.startswith(('.', '#')) and (Path(folder) / f).is_file())


def write_atomically(path, text):
    """Write text to path through a temporary file and a rename, so no half-written file is ever seen."""
    write_all_atomically({path: text})


def write_all_atomically(texts):
    """Write each {path: text} to a temporary file beside it, then rename them all: every file or none.

    A path that is a symbolic link is written through: the file it leads to is replaced, the link kept.
    If a rename fails after others succeeded, the files already replaced get their old bytes back. An
    OSError names the real file that could not be written, never a temporary one.
    """
    temporaries, replaced = [], []
    try:
        for path, text in texts.items():
            real = Path(os.path.realpath(path))
            try:
                fd, tmp = tempfile.mkstemp(prefix=f'.{real.name}.', dir=real.parent)
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(path)) from None
            temporaries.append((tmp, real, path))
            try:  # a full disk fails here, in write or close: the error names the file, not the temporary
                with os.fdopen(fd, 'w', encoding='utf-8', newline='\n') as f:
                    f.write(text)
                os.chmod(tmp, stat.S_IMODE(real.stat().st_mode) if real.exists() else 0o644)
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(path)) from None
        old = {real: real.read_bytes() if real.exists() else None for _, real, _ in temporaries}
        for tmp, real, path in temporaries:
            try:
                os.replace(tmp, real)
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(path)) from None
            replaced.append(real)
    except BaseException:
        for tmp, _, _ in temporaries:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for real in reversed(replaced):  # put back what was already replaced
            if old[real] is None:
                os.unlink(real)
            else:
                fd, tmp = tempfile.mkstemp(prefix=f'.{real.name}.', dir=real.parent)
                with os.fdopen(fd, 'wb') as f:
                    f.write(old[real])
                os.chmod(tmp, stat.S_IMODE(real.stat().st_mode))
                os.replace(tmp, real)
        raise


def diff(book, committed, target_name):
    """A unified diff from the file to the chapters, each hunk naming the chapter and chunk to fix."""
    lines = list(difflib.unified_diff(committed.splitlines(keepends=True), book.text.splitlines(keepends=True),
                                      target_name, 'the chapters (tangled)'))
    hunk_re = re.compile(r'^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@')
    header, new_line = None, 0
    for i, line in enumerate(lines):
        match = hunk_re.match(line)
        if match:
            header, new_line = i, int(match.group(1))
        elif header is not None and line[:1] in ('+', '-'):
            if book.chunks:  # name the place of the first changed line of this hunk
                places = [book.locate(new_line)]
                after = next((later[:1] for later in lines[i:] if not later.startswith('-')), ' ')
                pure_deletion = line[0] == '-' and after != '+'
                emptied = [(c, c.body_line) for c in book.chunks if c.start == new_line and not ''.join(c.lines).strip()]
                if pure_deletion and emptied:
                    places = emptied  # a chunk lost every line: that is where they went missing
                elif pure_deletion and new_line > 1 and places[0][0].start == min(new_line, len(book.lines)):
                    places.insert(0, book.locate(new_line - 1))  # a deletion at a boundary: either chunk
                named = ' or '.join(f"{chunk.path}:{chapter_line} (chunk '{chunk.name}')" for chunk, chapter_line in places)
                lines[header] = lines[header].rstrip('\n') + f' {named}\n'
            header = None
        elif header is not None:
            new_line += 1
    return ''.join(line if line.endswith('\n') else line + '\n\\ No newline at end of file\n' for line in lines)


def program_lines(text, name):
    """The lines of an edited program, a leading byte order mark dropped; CR or U+FEFF inside are refused."""
    lines = text.removeprefix(BOM).split('\n')
    if lines[-1] == '':
        lines.pop()
    for number, line in enumerate(lines, 1):
        if '\r' in line:
            raise TangleError(name, number, f'carriage return (CR): {name} has LF line endings only')
        if BOM in line:
            raise TangleError(name, number, 'byte order mark (U+FEFF) inside the program')
    return lines


def stitch(book, edited, name):
    """The new lines of every chunk, {chunk name: lines}, so that the chunks join to the edited program.

    difflib matches the tangled lines to the edited ones. A kept, changed or deleted line stays with the
    chunk that held it; lines inserted between two chunks go to the end of the earlier one (before the
    first chunk, to its start). A deletion across chunks is split between them, as is a change across
    chunks that keeps the number of lines. Refused, naming the edited file's line: a block of lines moved
    from one chunk to another, a change across chunks that changes the number of lines, a chunk left with
    no line (or only blank ones).
    """
    if not book.chunks:
        raise TangleError(name, 1, 'the chapters hold no chunk to stitch into')
    old = book.lines
    owner = [chunk for chunk in book.chunks for _ in chunk.lines]  # the chunk of each tangled line
    goes_to = [None] * len(edited)  # the chunk each edited line goes to
    opcodes = line_opcodes(old, edited)
    across = None
    for tag, i1, i2, j1, j2 in opcodes:  # deleted lines simply leave their chunks
        if tag == 'insert':
            goes_to[j1:j2] = [owner[i1 - 1] if i1 else owner[0]] * (j2 - j1)
        elif tag == 'replace' and owner[i1] is owner[i2 - 1]:
            goes_to[j1:j2] = [owner[i1]] * (j2 - j1)
        elif tag != 'delete' and i2 - i1 == j2 - j1:  # kept lines, or a change that keeps the count: line by line
            goes_to[j1:j2] = owner[i1:i2]
        elif tag == 'replace':
            across = across or (i1, i2, j1, j2)
    removals = [(i1, i2) for tag, i1, i2, _, _ in opcodes if tag in ('delete', 'replace')]
    additions = [(j1, j2) for tag, _, _, j1, j2 in opcodes if tag in ('insert', 'replace')]
    moved = find_move(old, edited, owner, goes_to, removals, additions)
    if moved:
        i, j, size = moved
        chunk, chapter_line = book.locate(i + 1)
        first, last = j + 1, j + size
        what = f'line {first} was' if first == last else f'lines {first}\u2013{last} were'
        raise TangleError(name, first, f"{what} moved here from chunk '{chunk.name}' ({chunk.path}:{chapter_line}): "
                                       f'move code between chunks in the chapters, not in {name}')
    if across:
        i1, i2, j1, j2 = across
        names = ', '.join(dict.fromkeys(f"'{owner[i].name}'" for i in range(i1, i2)))
        raise TangleError(name, j1 + 1, f'lines {j1 + 1}\u2013{j2} replace lines of chunks {names} with a different '
                                         'number of lines, so which chunk gets which line is unclear: '
                                         'change one chunk at a time, or edit the chapters')
    bodies = {chunk.name: [] for chunk in book.chunks}
    for line, chunk in zip(edited, goes_to):
        bodies[chunk.name].append(line)
    at = 1
    for chunk in book.chunks:
        if not any(line.strip() for line in bodies[chunk.name]):
            raise TangleError(name, at, f"chunk '{chunk.name}' ({chunk.path}:{chunk.body_line - 1}) would be left "
                                        f'empty: remove a chunk in its chapter, not in {name}')
        at += len(bodies[chunk.name])
    return bodies


def line_opcodes(old, new):
    """difflib's opcodes from old to new, in about linear time for the long, mostly unique lines of a program.

    Lines found exactly once in each (anchors, kept in order by a longest increasing subsequence) split the
    two into short stretches, which difflib aligns one by one: difflib on the whole is quadratic when edits
    are everywhere (as patience diff does, for the same reason)."""
    import bisect
    count_old, count_new = {}, {}
    for line in old:
        count_old[line] = count_old.get(line, 0) + 1
    for line in new:
        count_new[line] = count_new.get(line, 0) + 1
    where_new = {line: j for j, line in enumerate(new) if count_new[line] == 1}
    pairs = [(i, where_new[line]) for i, line in enumerate(old) if count_old[line] == 1 and line in where_new]
    tails, tail_at, back = [], [], [None] * len(pairs)  # longest increasing run of j, in O(n log n)
    for k, (_, j) in enumerate(pairs):
        at = bisect.bisect_left(tails, j)
        back[k] = tail_at[at - 1] if at else None
        tails[at:at + 1], tail_at[at:at + 1] = [j], [k]
    anchors, k = [], tail_at[-1] if tail_at else None
    while k is not None:
        anchors.append(pairs[k])
        k = back[k]
    anchors.reverse()
    opcodes, i0, j0 = [], 0, 0
    for i, j in anchors + [(len(old), len(new))]:
        if i > i0 or j > j0:
            matcher = difflib.SequenceMatcher(None, old[i0:i], new[j0:j], autojunk=False)
            opcodes += [(tag, a1 + i0, a2 + i0, b1 + j0, b2 + j0) for tag, a1, a2, b1, b2 in matcher.get_opcodes()]
        if i < len(old):
            opcodes.append(('equal', i, i + 1, j, j + 1))
        i0, j0 = i + 1, j + 1
    merged = []
    for op in opcodes:
        if merged and op[0] == 'equal' == merged[-1][0]:
            merged[-1] = ('equal', merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    return merged


def kept_between(kept, first, last):
    """Whether a sorted list of edited line indexes holds one between first and last."""
    import bisect
    at = bisect.bisect_right(kept, first)
    return at < len(kept) and kept[at] < last


def find_move(old, edited, owner, goes_to, removals, additions):
    """(old index, edited index, size) of the first block of lines deleted in one chunk and inserted in another,
    else None. In time linear in the lines changed (plus the pairs of equal written lines among them).

    A move is a run of at least MOVE_MIN lines, not all blank, equal in a deleted and an inserted range, whose
    chunks differ; or the written (non-blank) lines of a deleted range of MOVE_MIN or more lines, found in a row
    among the inserted written lines, with no kept written line between them, going to other chunks (difflib
    may align a blank line of the block apart, or keep it and so split the block in two inserted ranges).
    """
    added_at = {}  # written line -> its places in the inserted ranges: (range index, position in edited)
    for r, (j1, j2) in enumerate(additions):
        for j in range(j1, j2):
            if edited[j].strip():
                added_at.setdefault(edited[j], []).append((r, j))
    found, seen = [], set()
    for i1, i2 in removals:
        for i in range(i1, i2):
            for r, j in added_at.get(old[i], ()) if old[i].strip() else ():
                if (i, j) in seen:
                    continue
                j1, j2 = additions[r]
                start_i, start_j = i, j  # the whole run of equal lines through (i, j), within both ranges
                while start_i > i1 and start_j > j1 and old[start_i - 1] == edited[start_j - 1]:
                    start_i, start_j = start_i - 1, start_j - 1
                size = 0
                while start_i + size < i2 and start_j + size < j2 and old[start_i + size] == edited[start_j + size]:
                    seen.add((start_i + size, start_j + size))
                    size += 1
                sources = {owner[k].name for k in range(start_i, start_i + size)}
                targets = {goes_to[k] and goes_to[k].name for k in range(start_j, start_j + size)}
                if size >= MOVE_MIN and sources != targets:
                    found.append((start_j, start_i, size))
    # The written lines of all inserted ranges in order, and the place of each among them. A kept blank line
    # may split one moved block into two inserted ranges (difflib aligned it with a blank line of the block);
    # a kept written line between two of them ends the block.
    written = [j for j1, j2 in additions for j in range(j1, j2) if edited[j].strip()]
    place = {j: n for n, j in enumerate(written)}
    inserted = {j for j1, j2 in additions for j in range(j1, j2)}
    kept_written = [j for j in range(len(edited)) if edited[j].strip() and j not in inserted]
    for i1, i2 in removals:
        gone = [line for line in old[i1:i2] if line.strip()]
        if i2 - i1 < MOVE_MIN or not gone:
            continue
        owners = {owner[k].name for k in range(i1, i2) if old[k].strip()}
        for _, j in added_at.get(gone[0], ()):
            run = written[place[j]:place[j] + len(gone)]
            if ([edited[k] for k in run] == gone and {goes_to[k] and goes_to[k].name for k in run} != owners
                    and not kept_between(kept_written, run[0], run[-1])):
                found.append((run[0], i1 + next(k for k in range(i2 - i1) if old[i1 + k].strip()), run[-1] - run[0] + 1))
    if not found:
        return None
    j, i, size = min(found)
    return i, j, size


def stitched_chapters(book, bodies, name):
    """{chapter file: new text} for the chapters whose chunks change, each checked by reading it back."""
    parser = markdown_parser(book.root)
    starts, at = {}, 1
    for chunk in book.chunks:
        starts[chunk.name], at = at, at + len(bodies[chunk.name])
    by_path = {}
    for chunk in book.chunks:
        by_path.setdefault(chunk.path, []).append(chunk)
    texts = {}
    for path in dict.fromkeys(c.path for c in book.chunks if bodies[c.name] != c.lines):
        in_chapter = by_path[path]
        old_lines = read_utf8(book.root / path, path).split('\n')
        lines, copied = [], 0  # the chapter rebuilt in one pass: text between chunks, then each new body
        for chunk in in_chapter:
            fence = re.match('`*', old_lines[chunk.body_line - 2].removeprefix(BOM)).group()
            for number, line in enumerate(bodies[chunk.name], starts[chunk.name]):
                if re.fullmatch(rf' {{0,3}}`{{{len(fence)},}}[ \t]*', line):
                    raise TangleError(name, number, f"this line would close the fence of chunk '{chunk.name}' "
                                                    f'({path}:{chunk.body_line - 1}): lengthen that fence first')
            lines += old_lines[copied:chunk.body_line - 1] + bodies[chunk.name]
            copied = chunk.body_line - 1 + len(chunk.lines)
        lines += old_lines[copied:]
        text = '\n'.join(lines)
        first = min(starts[c.name] for c in in_chapter if bodies[c.name] != c.lines)
        try:
            read_back = chapter_chunks(parser, text.removeprefix(BOM), path, in_chapter[0].docname)
        except TangleError as err:
            raise TangleError(name, first, f'cannot stitch: the chapter would read wrong: {err}') from None
        if [(c.name, c.lines) for c in read_back] != [(c.name, bodies[c.name]) for c in in_chapter]:
            raise TangleError(name, first, f'cannot stitch: {path} would not read back as these lines')
        texts[book.root / path] = text
    return texts


def prove_stitch(book, texts, edited, name):
    """Refuse (TangleError) unless the stitched chapters are exactly right, before anything is written.

    Read with the new texts in place of the old, the book must tangle to exactly the edited lines with
    the same chunks in the same places; every line of every chapter outside the chunk bodies must be
    byte-identical to before; and each chunk whose body changed must be one that held or bordered a
    changed line of the program.
    """
    after = read_book(book.root, texts={Path(p).relative_to(book.root).as_posix(): t for p, t in texts.items()})
    if after.lines != edited:
        at = next((i for i, (a, b) in enumerate(zip(after.lines, edited), 1) if a != b), min(len(after.lines), len(edited)) + 1)
        raise TangleError(name, at, 'cannot stitch safely: the stitched chapters would not tangle to this file')
    if [(c.name, c.path) for c in after.chunks] != [(c.name, c.path) for c in book.chunks]:
        raise TangleError(name, 1, 'cannot stitch safely: the stitched chapters would not hold the same chunks')
    for path, text in texts.items():
        rel = Path(path).relative_to(book.root).as_posix()
        outside = []
        for which, chapter in ((book, read_utf8(path, rel)), (after, text)):
            lines = chapter.split('\n')
            inside = {n for c in which.chunks if c.path == rel for n in range(c.body_line - 1, c.body_line - 1 + len(c.lines))}
            outside.append([line for n, line in enumerate(lines) if n not in inside])
        if outside[0] != outside[1]:
            line = next((i for i, (a, b) in enumerate(zip(*outside), 1) if a != b), 1)
            raise TangleError(rel, line, f'cannot stitch safely: {rel} would change outside its chunks')
    touched = set()
    owner = [c.name for c in book.chunks for _ in c.lines]
    for tag, i1, i2, _, _ in line_opcodes(book.lines, edited):
        if tag != 'equal':
            touched.update(owner[max(i1 - 1, 0):min(i2 + 1, len(owner))])
    for old, new in zip(book.chunks, after.chunks):
        if old.lines != new.lines and old.name not in touched:
            raise TangleError(name, new.start, f"cannot stitch safely: chunk '{old.name}' would change, but no line "
                                               'of it was edited')


# ---------------------------------------------------------------- references into the program

def role_uses(parser, text, offset=0):
    """(line, target) of every {lines}`target` role the book would read in a chapter's Markdown text,
    including inside directives whose content is Markdown, never inside code."""
    for token in parser.parse(text):
        if token.type == 'inline' and token.map:
            searched = 0
            for child in token.children or ():
                if child.type == 'myst_role' and child.meta.get('name') == 'lines':
                    at = token.content.find(child.content, searched)
                    searched = max(at, searched)
                    yield offset + token.map[0] + 1 + token.content.count('\n', 0, max(at, 0)), child.content
        elif token.type in ('fence', 'colon_fence') and token.map:
            directive = fence_directive(token.info)
            if token.type == 'colon_fence' or (directive and directive not in LITERAL_DIRECTIVES):
                yield from role_uses(parser, token.content, offset + token.map[0] + 1)


def references(book):
    """[(chapter, line, target, (chunk, first, last) or the KeyError's message)] for every {lines} role of the
    book; first and last are 0-based lines of the chunk."""
    parser, found = markdown_parser(book.root), []
    for docname in book.docnames:
        path = chapter_file(book.root, docname)
        if path.suffix != '.md':
            continue
        rel = path.relative_to(book.root).as_posix()
        text = read_chapter(path, rel)
        if '{lines}' not in text:
            continue
        for line, target in role_uses(parser, text):
            try:
                chunk, first, last = resolve_lines(book, target)
                found.append((rel, line, target, (chunk, first - chunk.start, last - chunk.start)))
            except KeyError as err:
                found.append((rel, line, target, err.args[0]))
    return found


def picks_inside(target):
    """Whether a {lines} target picks lines inside its chunk (NAME:N, NAME:N-M, NAME~text)."""
    return bool(re.search(r'[:~]', target))


def reference_record(found):
    """{'chapter NUL target': [chunk body, first, last]} of the references that pick lines inside a chunk."""
    return {f'{rel}\0{target}': [list(place[0].lines), place[1], place[2]] for rel, _, target, place in found
            if not isinstance(place, str) and picks_inside(target)}


def moved_reference(place, record):
    """Why a reference now picks other lines than it did when recorded (None if it picks the same ones, edited
    or not): the recorded lines are followed through the chunk's changes by difflib."""
    chunk, first, last = place
    body, was_first, was_last = record
    follow = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, body, chunk.lines, autojunk=False).get_opcodes():
        if tag == 'equal' or (tag == 'replace' and i2 - i1 == j2 - j1):
            follow.update(zip(range(i1, i2), range(j1, j2)))
    now = (follow.get(was_first), follow.get(was_last))
    if now == (first, last):
        return None
    picked = line_span(chunk.start + first, chunk.start + last)
    if None in now:
        return f"the line it picked ('{shown(body[was_first].strip())}') is gone; it now picks {picked}"
    return (f"the line it picked ('{shown(body[was_first].strip())}') is now "
            f'{line_span(chunk.start + now[0], chunk.start + now[1])}, but it picks {picked}')


def reference_problems(found, recorded):
    """[(key, message)] for references that do not resolve, or that pick other lines than at the last sync."""
    problems = []
    for rel, line, target, place in found:
        key = f'{rel}\0{target}'
        if isinstance(place, str):
            problems.append((key, f'{rel}:{line}: {{lines}}`{target}` is broken: {place}'))
        elif key in recorded:
            try:
                why = moved_reference(place, recorded[key])
            except (TypeError, ValueError, IndexError):  # a damaged record: no judgement
                why = None
            if why:
                problems.append((key, f'{rel}:{line}: {{lines}}`{target}`: {why}: re-read it (tangle.py then '
                                      'records it as read)'))
    return problems

# ---------------------------------------------------------------- sync state: which side changed

def state_key(root, target):
    """The state file's key for a target: its path under root, or its absolute real path."""
    real = Path(os.path.realpath(target))
    try:
        return real.relative_to(Path(os.path.realpath(root))).as_posix()
    except ValueError:
        return str(real)


def target_label(root, target, given=None):
    """How messages name the target: its path under root, else the path as given."""
    key = state_key(root, target)
    return key if not os.path.isabs(key) else str(given or target)


def _sha(text):
    """The hex SHA-256 of a text."""
    return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()


def load_state(root):
    """The state file's records, {target key: record}; empty when it is missing or unreadable (it is a cache)."""
    import json
    try:
        data = json.loads((Path(root) / STATE).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return {}
    records = data.get('targets') if isinstance(data, dict) and data.get('version') == STATE_VERSION else None
    return records if isinstance(records, dict) else {}


def record_sync(root, target, book, text, references=None):
    """Remember, in the state file, the program text written to target and the chunks it was cut into."""
    import json
    old = load_state(root)
    records = {key: record for key, record in old.items()
               if os.path.exists(key if os.path.isabs(key) else Path(root) / key)}
    record = {'program': _sha(text), 'text': text,
              'chunks': [[c.name, len(c.lines), _sha('\n'.join(c.lines))] for c in book.chunks]}
    previous = old.get(state_key(root, target))
    if references is None and isinstance(previous, dict):
        references = previous.get('references')
    if references is not None:
        record['references'] = references
    records[state_key(root, target)] = record
    if records == old:
        return  # nothing new to remember: the state file is not touched
    path = Path(root) / STATE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({'version': STATE_VERSION, 'targets': records}, indent=1) + '\n')
    except OSError as err:  # the program is written; without a record the next run is only more careful
        print(f'tangle: {STATE}: cannot record the sync: {err.strerror or err}', file=sys.stderr)


class Synced:
    """The program as last synced: its text, its lines, and the bodies of its chunks ({name: lines}, in order)."""

    def __init__(self, text, chunks, source):
        self.text, self.chunks, self.source = text, chunks, source
        self.lines = program_lines(text, PROGRAM) if text else []
        self.references = {}


def last_sync(root, target):
    """The program as the last successful tangle or stitch left it (the state file), else as committed in git
    (when the committed program is the committed chapters' tangle); None when neither is known."""
    record = load_state(root).get(state_key(root, target))
    try:
        text = record['text']
        if _sha(text) == record['program']:
            lines, chunks, at = program_lines(text, PROGRAM), {}, 0
            for name, length, digest in record['chunks']:
                chunks[name], at = lines[at:at + length], at + length
                if _sha('\n'.join(chunks[name])) != digest:
                    raise ValueError(name)
            if at == len(lines):
                synced = Synced(text, chunks, f'the last sync ({STATE})')
                synced.references = record.get('references') or {}
                return synced
    except (TypeError, KeyError, ValueError, TangleError):
        pass
    return committed_sync(root, target)


def committed_sync(root, target):
    """The program and chunks as committed (git HEAD), if target is the committed tangle of the committed book."""
    import subprocess
    import tarfile
    key = state_key(root, target)
    if os.path.isabs(key):
        return None
    try:
        where = subprocess.run(['git', '-C', str(root), 'rev-parse', '--show-toplevel', '--show-prefix'],
                               capture_output=True, text=True, check=True).stdout.split('\n')
        top, prefix = where[0], where[1]
        committed = subprocess.run(['git', '-C', top, 'show', f'HEAD:{prefix}{key}'],
                                   capture_output=True, check=True).stdout.decode('utf-8')
        archive = subprocess.run(['git', '-C', top, 'archive', f'HEAD:{prefix}' if prefix else 'HEAD'],
                                 capture_output=True, check=True).stdout
        with tempfile.TemporaryDirectory() as folder:
            import io
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(folder, filter='data')
            book = read_book(folder)
    except (OSError, subprocess.CalledProcessError, UnicodeDecodeError, TangleError, tarfile.TarError, IndexError):
        return None
    if book.text != committed:
        return None
    return Synced(committed, {c.name: c.lines for c in book.chunks}, 'the last commit')


def changed_lines(old, new):
    """The 1-based lines of new that differ from old (for a deletion, the line after it), as 'a–b' ranges."""
    spans = []
    for tag, _, _, j1, j2 in line_opcodes(old, new):
        if tag != 'equal':
            spans.append((j1 + 1, max(j2, j1 + 1)))
    return spans


def spans_text(spans, most=4):
    """'line 3', 'lines 3–5, 9' ... (the first few)."""
    parts = [str(a) if a == b else f'{a}\u2013{b}' for a, b in spans[:most]]
    more = ', \u2026' if len(spans) > most else ''
    plural = 's' if len(spans) > 1 or spans[0][0] != spans[0][1] else ''
    return f"line{plural} {', '.join(parts)}{more}"


def chapter_changes(book, synced):
    """The chunks of book whose lines differ from the last sync (a chunk new since then counts as changed)."""
    return [c for c in book.chunks if synced.chunks.get(c.name) != c.lines]


def way_to_go(book, current, synced, label):
    """What to run when target (lines current) and the chapters (book) differ, judged against the last sync."""
    if synced is None:
        return (f'no record of the last sync: run tangle.py --stitch to write the edits of {label} into the '
                f'chapters, or tangle.py --force to rewrite {label} from them')
    file_edited, chapters_edited = current != synced.lines, book.lines != synced.lines
    if not file_edited:
        return f'the chapters changed since {synced.source} and {label} did not: run tangle.py (make tangle)'
    if not chapters_edited:
        return (f'{label} was edited since {synced.source} ({spans_text(changed_lines(synced.lines, current))}) and '
                f'the chapters were not: run tangle.py --stitch to write the edits into the chapters, or '
                f'tangle.py --force to discard them')
    names = ', '.join(f"'{c.name}' ({c.path}:{c.body_line - 1})" for c in chapter_changes(book, synced)[:3])
    return (f'both changed since {synced.source}: {label} ({spans_text(changed_lines(synced.lines, current))}) and '
            f'the chapters (chunk {names}): run tangle.py --stitch, which keeps both when they change different '
            'chunks')


def three_way(book, synced, edited, label):
    """{chunk name: lines}: the chapters' chunks with the edits target made since the last sync, when the two
    sides changed different chunks; TangleError naming both places when they changed the same one."""
    first = changed_lines(synced.lines, edited)[0][0]
    if [c.name for c in book.chunks] != list(synced.chunks):
        added = [c for c in book.chunks if c.name not in synced.chunks]
        where = f" (chunk '{added[0].name}', {added[0].path}:{added[0].body_line - 1})" if added else ''
        raise TangleError(label, first, f'edited since {synced.source}, while the chapters added, removed or '
                                        f'reordered chunks{where}: stitch cannot tell which line goes where; copy '
                                        f'the edits into the chapters by hand, then run tangle.py --force')
    base = Book(book.root, book.docnames, [Chunk(c.name, c.path, c.docname, c.body_line, list(synced.chunks[c.name]))
                                           for c in book.chunks])
    at = 1
    for chunk in base.chunks:
        chunk.start, at = at, at + len(chunk.lines)
    from_file = stitch(base, edited, label)
    at, starts = 1, {}
    for chunk in base.chunks:
        starts[chunk.name], at = at, at + len(from_file[chunk.name])
    for chunk in book.chunks:
        old, ours, theirs = synced.chunks[chunk.name], chunk.lines, from_file[chunk.name]
        if ours != old and theirs != old and ours != theirs:
            raise TangleError(label, starts[chunk.name],
                              f"chunk '{chunk.name}' was changed both here and in its chapter "
                              f'({chunk.path}:{chunk.body_line - 1}) since {synced.source}: keep one side: '
                              f'copy this edit into the chapter by hand and run tangle.py --force, or discard '
                              f'it with tangle.py --force')
    return {c.name: from_file[c.name] if from_file[c.name] != synced.chunks[c.name] else c.lines for c in book.chunks}


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description='Rebuild microgpt.py from the chapters of the book.')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--check', action='store_true', help='write nothing; exit 1 with a diff if the file differs')
    mode.add_argument('--stitch', action='store_true', help='write the lines of the edited file back into the chapters')
    mode.add_argument('--force', action='store_true', help='tangle even over edits of the file that the chapters lack')
    parser.add_argument('-o', '--output', help=f'file to write, check or stitch (default: {PROGRAM} in the root)')
    parser.add_argument('--root', default=str(ROOT), help='folder holding _toc.yml (default: this file\'s folder)')
    args = parser.parse_args(argv)
    root = Path(args.root)
    target = Path(args.output) if args.output else root / PROGRAM
    label = target_label(root, target, args.output)
    try:
        refuse_odd_target(target, label)
        book = read_book(root)  # every mode refuses what the others refuse
        refuse_sources(root, book, target)
        compile_program(book)
        if args.stitch:
            return stitch_command(book, root, target, label)
        if args.check:
            return check_command(book, root, target, label)
        return tangle_command(book, root, target, label, args.force)
    except TangleError as err:
        print(f'tangle: {err}', file=sys.stderr)
        return 2


def refuse_odd_target(target, label):
    """TangleError unless target is a regular file (through links) or a missing path in an existing folder."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise TangleError(label, 1, f'cannot read: {err.strerror or err}') from None
    if not stat.S_ISREG(mode):
        kind = ('a folder' if stat.S_ISDIR(mode) else 'a named pipe' if stat.S_ISFIFO(mode) else
                'a socket' if stat.S_ISSOCK(mode) else 'a device' if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else 'not a file')
        raise TangleError(label, 1, f'is {kind}, not a regular file: tangle.py reads and writes only regular files')


def read_target(target, label):
    """The target's text, or None if it does not exist."""
    return read_utf8(target, label) if os.path.lexists(target) and os.path.exists(target) else None


def plain_lines(text):
    """A file's lines as compared with the program's (no byte order mark, no final empty line)."""
    lines = text.removeprefix(BOM).split('\n')
    return lines[:-1] if lines[-1] == '' else lines


def compile_error(text):
    """None if the program text compiles; else the SyntaxError (or ValueError, RecursionError, MemoryError)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            compile(text, PROGRAM, 'exec', dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            return err
    return None


def compile_program(book):
    """TangleError at the chapter line of the first syntax error in the tangled program."""
    if not book.chunks:
        return
    err = compile_error(book.text)
    if isinstance(err, SyntaxError):
        chunk, line = book.locate(err.lineno or 1)
        raise TangleError(chunk.path, line, f"syntax error in chunk '{chunk.name}' ({PROGRAM}:{err.lineno}): "
                                            f'{err.msg}')
    if err is not None:
        chunk = book.chunks[0]
        raise TangleError(chunk.path, chunk.body_line, f'the program does not compile: {err}')


def compile_stitched(after, merged, edited, label):
    """TangleError at the line of the edited file (label) where the program stitch would write into the
    chapters does not compile: a stitch never leaves chapters that every mode of tangle.py then refuses."""
    err = compile_error(after.text) if after.chunks else None
    if err is None:
        return
    fix = f'fix it in {label}, then run tangle.py --stitch (or discard the edit with tangle.py --force)'
    if not isinstance(err, SyntaxError):
        raise TangleError(label, None, f'does not compile, so nothing was stitched: {err}: {fix}')
    chunk, _ = after.locate(err.lineno or 1)
    where = err.lineno if merged == edited else None  # merged with the chapters' own changes, lines may differ
    inside = f", its line {(err.lineno or 1) - chunk.start + 1} (merged with the chapters' changes)"
    raise TangleError(label, where, f"syntax error in chunk '{chunk.name}'{inside if where is None else ''}: "
                                    f'{err.msg}; nothing was stitched: {fix}')


def tangle_command(book, root, target, label, force):
    """Write the tangle to target, unless target holds edits since the last sync that the chapters lack."""
    current = read_target(target, label)
    if current is not None and current != book.text and not force:
        edited, synced = plain_lines(current), last_sync(root, target)
        if synced is None:
            first = changed_lines(book.lines, edited)[0][0] if edited != book.lines else 1
            raise TangleError(label, first, 'differs from the chapters, and there is no record of the last sync '
                                            'to tell which side changed: run tangle.py --stitch to write its edits '
                                            'into the chapters, or tangle.py --force to rewrite it from them')
        if edited != synced.lines and not chapters_have(book, synced, edited, label):
            spans = changed_lines(synced.lines, edited)
            raise TangleError(label, spans[0][0], f'edited since {synced.source} ({spans_text(spans)}), and the '
                                                  'chapters do not have these edits: run tangle.py --stitch to write '
                                                  'them into the chapters, or tangle.py --force to discard them')
    try:
        write_atomically(target, book.text)
    except OSError as err:
        raise TangleError(label, None, f'cannot write: {err.strerror or err}') from None
    found = references(book)
    problems = reference_problems(found, recorded_references(root, target))
    record_sync(root, target, book, book.text, reference_record(found))
    print(f'wrote {target} ({len(book.lines)} lines from {len(book.chunks)} chunks)')
    for _, problem in problems:
        print(f're-read {problem}')
    return 0


def recorded_references(root, target):
    """The references' lines as the last sync recorded them (none before the first)."""
    record = load_state(root).get(state_key(root, target))
    return (record.get('references') if isinstance(record, dict) else None) or {}


def chapters_have(book, synced, edited, label):
    """Whether every chunk target's edits changed (since the last sync) reads the same in the chapters."""
    try:
        merged = three_way(book, synced, edited, label)
    except TangleError:
        return False
    return all(merged[c.name] == c.lines for c in book.chunks)


def check_command(book, root, target, label):
    """`--check`: exit 0 if target is the tangle, else 1 with a diff and which way to sync."""
    committed = read_target(target, label) or ''
    problems = reference_problems(references(book), recorded_references(root, target))
    for _, problem in problems:
        print(f'tangle: {problem}', file=sys.stderr)
    if committed == book.text:
        print(f'{label} equals the chapters ({len(book.lines)} lines, {len(book.chunks)} chunks).')
        return 1 if problems else 0
    if '\r\n' in committed and committed.replace('\r\n', '\n') == book.text:
        line = committed[:committed.index('\r\n')].count('\n') + 1
        print(f'tangle: {label}:{line}: CRLF line endings; the chapters tangle to LF endings and '
              f'otherwise the same lines: run tangle.py --force to rewrite it', file=sys.stderr)
        return 1
    sys.stdout.write(diff(book, committed, label))
    if read_target(target, label) is None:
        print(f'tangle: {label} does not exist: run tangle.py to write it', file=sys.stderr)
    else:
        print(f'tangle: {label} differs from the chapters: '
              f'{way_to_go(book, plain_lines(committed), last_sync(root, target), label)}', file=sys.stderr)
    return 1


def refuse_sources(root, book, target):
    """TangleError if target is a file the book reads: a chapter or other page, _toc.yml, _config.yml, or a
    local Sphinx extension named in _config.yml; tangle, check and stitch never write over a source."""
    real = Path(os.path.realpath(target))
    root = Path(root)
    sources = {root / TOC, root / CONFIG} | {chapter_file(root, d) for d in book.docnames} | set(stray_markdown(root))
    sources |= {root / str(folder) / f'{name}.py' for name, folder in book_config(root)['local_extensions'].items()}
    if real in {Path(os.path.realpath(p)) for p in sources if p}:
        raise TangleError(str(target), 1, 'is a file the book reads; tangle.py writes only the program: '
                                          f'choose another output path')


def stitch_command(book, root, target, label):
    """`--stitch`: write the edited target's lines back into the chapters (and tidy the target); the exit code.

    Judged against the last sync: chunks the chapters changed since then are kept, never reverted; a chunk
    changed on both sides is refused."""
    text = read_utf8(target, label)
    edited = program_lines(text, label)
    synced = last_sync(root, target)
    if synced is not None and book.lines != synced.lines and edited != book.lines:
        if edited == synced.lines:
            names = ', '.join(f"'{c.name}'" for c in chapter_changes(book, synced)[:5])
            print(f'{label} has no edits since {synced.source}; the chapters do (chunk {names}): nothing to stitch; '
                  f'run tangle.py to bring {label} up to date.')
            return 0
        bodies = three_way(book, synced, edited, label)
        merged = [line for c in book.chunks for line in bodies[c.name]]
    else:
        bodies, merged = stitch(book, edited, label), edited
    texts = stitched_chapters(book, bodies, label)
    prove_stitch(book, texts, merged, label)
    after = Book(book.root, book.docnames, [Chunk(c.name, c.path, c.docname, c.body_line, bodies[c.name])
                                            for c in book.chunks])
    at = 1
    for chunk in after.chunks:
        chunk.start, at = at, at + len(chunk.lines)
    compile_stitched(after, merged, edited, label)
    tidy = after.text
    if tidy != text:  # a final newline added, a byte order mark dropped, the chapters' own changes merged in
        texts[target] = tidy
    if not texts:
        record_sync(root, target, after, tidy)
        print(f'{label} equals the chapters: nothing to stitch.')
        return 0
    try:
        write_all_atomically(texts)
    except OSError as err:
        failed = err.filename or target
        shown_name = target_label(root, failed, failed)
        raise TangleError(shown_name, None, f'cannot write: {err.strerror or err}') from None
    found = references(after)
    old_references = recorded_references(root, target)
    problems = reference_problems(found, old_references)
    kept = reference_record(found)
    kept.update({key: old_references[key] for key, _ in problems if key in old_references})  # --check asks again
    record_sync(root, target, after, tidy, kept)
    for chunk in book.chunks:
        if bodies[chunk.name] != chunk.lines:
            print(f"stitched {chunk.path}:{chunk.body_line - 1} chunk '{chunk.name}' "
                  f'({len(chunk.lines)} lines, now {len(bodies[chunk.name])})')
    resized = {c.name for c in book.chunks if len(bodies[c.name]) != len(c.lines)}
    to_read = [f'{rel}:{line} {{lines}}`{name}`' for rel, line, name, place in found
               if re.split(r'[:~]', name)[0] in resized and (picks_inside(name) or isinstance(place, str))]
    if to_read:
        print(f"references into chunks whose length changed, to re-read: {', '.join(to_read)}")
    for _, problem in problems:
        print(f're-read {problem}')
    if target in texts:
        if merged != edited:
            kept = ', '.join(f"'{c.name}'" for c in chapter_changes(book, synced)[:5])
            print(f"rewrote {label} with the chapters' changes since {synced.source} (chunk {kept})")
        else:
            print(f'rewrote {label} as the chapters tangle it (final newline, no byte order mark)')
    return 0


# ---------------------------------------------------------------- Sphinx extension

def _sphinx_parts():
    """Directive and role classes, built only when Sphinx is loaded."""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx import addnodes
    from sphinx.directives.code import CodeBlock
    from sphinx.util.docutils import SphinxDirective

    def book_of(env):
        return env.app.microgpt_book

    def listing(directive, first, last, caption, label=None):
        """A highlighted, line-numbered code block of program lines first..last."""
        block = CodeBlock(directive.name, ['python'], {}, StringList(), directive.lineno,
                          directive.content_offset, directive.block_text, directive.state, directive.state_machine)
        block.options = {'linenos': True, 'lineno-start': first, 'caption': caption}
        if label:
            block.options['name'] = label
        block.content = StringList(book_of(directive.env).lines[first - 1:last], directive.env.docname)
        return block.run()

    class ChunkDirective(SphinxDirective):
        """A tangle chunk: shown as Python with the line numbers it has in microgpt.py."""
        required_arguments = 1
        has_content = True

        def run(self):
            name = self.arguments[0]
            try:
                chunk = book_of(self.env).chunk(name)
            except KeyError as err:
                raise self.error(f'{err.args[0]}: the chunk is not in the tangle (is it nested inside another block?)')
            if chunk.docname != self.env.docname:
                raise self.error(f"chunk '{name}' is tangled from {chunk.path}, not from this page")
            caption = f'{name} \u00b7 {PROGRAM} {line_span(chunk.start, chunk.last)}'
            return listing(self, chunk.start, chunk.last, caption, label=f'chunk-{name}')

    class ShowDirective(SphinxDirective):
        """Re-show chunks (NAME or FIRST..LAST) from the tangled program, with their line numbers."""
        required_arguments = 1
        has_content = False

        def run(self):
            first_name, _, last_name = self.arguments[0].partition('..')
            try:
                first = book_of(self.env).chunk(first_name)
                last = book_of(self.env).chunk(last_name or first_name)
            except KeyError as err:
                raise self.error(err.args[0])
            if last.start < first.start:
                raise self.error(f"chunk '{last.name}' comes before '{first.name}' in the program")
            caption = f'{PROGRAM} {line_span(first.start, last.last)} (from {first.name} to {last.name})' \
                if first is not last else f'{first.name} \u00b7 {PROGRAM} {line_span(first.start, first.last)}'
            return listing(self, first.start, last.last, caption)

    def lines_role(name, rawtext, text, lineno, inliner, options=None, content=None):
        """{lines}`NAME...`: 'lines a–b' of microgpt.py, linked to the chunk."""
        env = inliner.document.settings.env
        try:
            chunk, first, last = resolve_lines(book_of(env), text)
        except KeyError as err:
            message = inliner.reporter.error(err.args[0], line=lineno)
            return [inliner.problematic(rawtext, rawtext, message)], [message]
        label = line_span(first, last)
        ref = addnodes.pending_xref(rawtext, refdomain='std', reftype='ref', reftarget=f'chunk-{chunk.name}',
                                    refexplicit=True, refwarn=True, refdoc=env.docname)
        ref += nodes.inline(label, label, classes=['chunk-lines'])
        return [ref], []

    return ChunkDirective, ShowDirective, lines_role


def _on_builder_inited(app):
    """Tangle once per build; every chunk, role and show directive reads this table."""
    from sphinx.errors import ExtensionError
    try:
        app.microgpt_book = read_book(app.srcdir)
    except TangleError as err:
        raise ExtensionError(f'tangle: {err}') from None


def _on_env_get_outdated(app, env, added, changed, removed):
    """Re-read every page when the program changed: line numbers and executed values follow it."""
    digest = app.microgpt_book.digest
    previous = getattr(env, 'microgpt_digest', None)
    env.microgpt_digest = digest
    return sorted(env.found_docs) if previous not in (None, digest) else []


NEEDS_RUN_RE = re.compile(r'trained\s*=|trained_run\(|variant_run\(|variant\s*=')  # a page that waits for a run


def _on_env_before_read_docs(app, env, docnames):
    """Train while the other pages execute: a clean build measures the shared timing, then trains the cached
    run and the runs of the book's variants (runtime.VARIANTS), runtime.PARALLEL_RUNS at a time, in the
    background, and reads first the pages that need none of them, so both cores work."""
    needs = set()
    for docname in docnames:
        path = chapter_file(app.srcdir, docname)
        if path and NEEDS_RUN_RE.search(path.read_text(encoding='utf-8', errors='replace')):
            needs.add(docname)
    book = app.microgpt_book
    if not needs or TRAINING_CHUNK not in {c.name for c in book.chunks}:
        return
    docnames[:] = [d for d in docnames if d not in needs] + [d for d in docnames if d in needs]
    # a page that needs a run that failed makes it again, and shows the error
    threading.Thread(target=runtime.prepare, args=(app.srcdir, list(VARIANTS)), name='microgpt-training',
                     daemon=True).start()


def setup(app):
    """Register the chunk directive, the lines role and the show directive."""
    chunk_directive, show_directive, lines_role = _sphinx_parts()
    app.add_directive('chunk', chunk_directive)
    app.add_directive('show', show_directive)
    app.add_role('lines', lines_role)
    app.connect('builder-inited', _on_builder_inited)
    app.connect('env-get-outdated', _on_env_get_outdated)
    app.connect('env-before-read-docs', _on_env_before_read_docs)
    return {'version': '1.0', 'env_version': 1, 'parallel_read_safe': True, 'parallel_write_safe': True}


if __name__ == '__main__':
    sys.exit(main())
