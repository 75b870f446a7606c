"""The course index, the line atlas and the glossary's "first used in" links: generated from the chapters.

Imported by the executed cells of course-index.md and line-atlas.md, by book/_ext/glossary_hover.py (the first
lesson that links each glossary term) and by tests/test_appendix.py. Sphinx never reads this file as a
page: only the .md files listed in _toc.yml are part of the book.
"""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import tangle

# The reading-time rule, stated on the course-index page from these constants.
WORDS_PER_MINUTE = 200        # prose, read at an even pace
MINUTES_PER_LISTING = 1.0     # each listing of microgpt.py lines (a chunk or a re-shown chunk)
MINUTES_PER_CELL = 0.5        # each code cell or code example whose code is shown
MINUTES_PER_EXERCISE = 3.0    # each "Check your understanding" exercise, solution included

OBJECTIVES_KEY = 'learning_objectives'   # the front-matter list a lesson may give
ASSUMES_KEY = 'assumes'   # the front-matter list of what a lesson assumes: pages (docnames), `text <docname>`, or text
PROGRAM_DIRECTIVES = {'chunk', 'show'}
CODE_DIRECTIVES = {'code-cell', 'code-block', 'code', 'sourcecode'}
SKIPPED_DIRECTIVES = {'math', 'glossary', 'raw', 'eval-rst', 'toctree', 'image', 'quiz'}  # quiz: teachers only


@dataclass
class Lesson:
    """One numbered page of the book, with what the course index says about it."""
    number: int
    docname: str
    part: str                 # the caption of its module in _toc.yml
    title: str                # the text of its H1
    chunks: list              # tangle.Chunk objects it defines, in program order
    revisits: list            # names of other lessons' chunks it cites with {lines} or {show}
    objectives: list          # MyST inline strings
    objectives_given: bool    # True when the lesson's front matter lists them
    words: int = 0
    listings: int = 0
    cells: int = 0
    exercises: int = 0
    runs: list = field(default_factory=list)   # program functions its code cells call: [(name, chunk name)]
    assumes: list = field(default_factory=list)   # its front matter's assumes list, as written

    @property
    def minutes(self):
        """Estimated reading time in whole minutes (the rule of reading_rule())."""
        return max(1, math.ceil(self.words / WORDS_PER_MINUTE + self.listings * MINUTES_PER_LISTING
                                + self.cells * MINUTES_PER_CELL + self.exercises * MINUTES_PER_EXERCISE))


@dataclass
class PageCounts:
    """What a reader reads on one page: prose words, program listings, code cells, exercises."""
    words: int = 0
    listings: int = 0
    cells: int = 0
    exercises: int = 0
    cited: list = field(default_factory=list)   # chunk names cited by {lines} roles and {show} directives


WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019.\-][A-Za-z0-9]+)*")
ROLE_WORDS = {'lines': 2, 'glue': 1, 'glue:text': 1, 'ref': 4, 'doc': 4, 'numref': 2, 'eq': 1}


def words_in(text):
    """The number of words in a piece of plain text."""
    return len(WORD_RE.findall(text))


def directive_of(token):
    """(directive name, argument) of a fence token written ```{name} argument, else (None, info)."""
    match = re.match(r'^\{([^}]+)\}\s*(.*)$', token.info.strip())
    return (match.group(1), match.group(2).strip()) if match else (None, token.info.strip())


def directive_body(content):
    """(options text, body) of a directive: the leading :key: lines or --- YAML block, then the rest."""
    lines = content.split('\n')
    if lines and lines[0].strip() == '---':
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == '---'), 0)
        return '\n'.join(lines[1:end]), '\n'.join(lines[end + 1:])
    i = 0
    while i < len(lines) and re.match(r'^:[\w-]+:', lines[i]):
        i += 1
    return '\n'.join(lines[:i]), '\n'.join(lines[i:])


def role_target(content):
    """The target of a role written `text <target>` or `target`, whitespace made single."""
    content = ' '.join(content.split())
    match = re.match(r'^(.*?)\s*<([^<>]+)>$', content)
    return match.group(2).strip() if match else content


def count_page(text, parser, counts=None):
    """Count prose words, listings, visible code cells and exercises of MyST text (recursing into directives)."""
    counts = counts if counts is not None else PageCounts()
    for token in parser.parse(text):
        if token.type in ('fence', 'colon_fence'):
            name, argument = directive_of(token)
            options, body = directive_body(token.content)
            if name in PROGRAM_DIRECTIVES:
                counts.listings += 1
                if name == 'show':
                    counts.cited.append(argument)
            elif name in CODE_DIRECTIVES:
                if not re.search(r'remove-(cell|input)', options):
                    counts.cells += 1
            elif name is None:
                counts.cells += 1    # a plain ```python example
            elif name in SKIPPED_DIRECTIVES:
                continue
            else:
                if name == 'exercise':
                    counts.exercises += 1
                count_page(body, parser, counts)
        elif token.type == 'inline':
            for child in token.children or []:
                if child.type in ('text', 'code_inline'):
                    counts.words += words_in(child.content)
                elif child.type == 'math_inline':
                    counts.words += 1
                elif child.type == 'myst_role':
                    role = child.meta.get('name', '')
                    if role == 'lines':
                        counts.cited.append(child.content.strip())
                    explicit = re.match(r'^(.*?)\s*<[^<>]+>$', ' '.join(child.content.split()))
                    counts.words += words_in(explicit.group(1)) if explicit else \
                        ROLE_WORDS.get(role, words_in(child.content))
    return counts


NOT_THE_MODEL = {'math', 'random', 'statistics', 'np', 'plt', 'ax', 'fig', 'pathlib', 'tangle', 'sys', 're', 'os'}


def program_functions(book):
    """{name: chunk name} for the program's functions and the ordinary methods of Value (not __x__)."""
    import _identifiers   # beside this file
    defined, _ = _identifiers.index(book)
    found = {}
    for entry in defined:
        short = entry.name.split('.')[-1]
        if entry.kind in (_identifiers.FUNCTION, _identifiers.METHOD) and not short.startswith('__'):
            found.setdefault(short, book.locate(entry.line)[0].name)
    return found


def code_calls(text, parser, functions):
    """[(function, chunk defining it)] for the program functions the code cells of MyST text call as obj.name(...)."""
    found = []
    for token in parser.parse(text):
        if token.type in ('fence', 'colon_fence'):
            name, _ = directive_of(token)
            if name == 'code-cell':
                for obj, attr in re.findall(r'(\w+)\s*\.\s*(\w+)\s*\(', directive_body(token.content)[1]):
                    if attr in functions and obj not in NOT_THE_MODEL:
                        found.append((attr, functions[attr]))
            elif name and name not in CODE_DIRECTIVES | PROGRAM_DIRECTIVES | SKIPPED_DIRECTIVES:
                found += code_calls(directive_body(token.content)[1], parser, functions)
    return found


def front_matter(text):
    """The YAML front matter of a page as a dict ({} when there is none)."""
    match = re.match(r'^---\n(.*?)\n---\n', text, re.S)
    data = yaml.safe_load(match.group(1)) if match else None
    return data if isinstance(data, dict) else {}


def h1_title(text, parser):
    """The text of the page's first level-1 heading."""
    tokens = parser.parse(text)
    for i, token in enumerate(tokens):
        if token.type == 'heading_open' and token.tag == 'h1':
            return tokens[i + 1].content.strip()
    return ''


def toc_parts(root):
    """[(caption, numbered, [docnames])] for every part of _toc.yml, in order."""
    from sphinx_external_toc.parsing import parse_toc_yaml
    site_map = parse_toc_yaml(Path(root) / tangle.TOC)
    return [(subtree.caption, bool(subtree.numbered), [re.sub(r'\.(md|ipynb|rst)$', '', f) for f in subtree.files()])
            for subtree in site_map[site_map.root.docname].subtrees]


def chunk_names(book, cited):
    """The chunk names a list of {lines} role texts and {show} arguments refer to."""
    names = [chunk.name for chunk in book.chunks]
    found = []
    for text in cited:
        first, _, last = text.partition('..')
        first = re.match(r'^[a-z0-9-]+', first.strip())
        last = re.match(r'^[a-z0-9-]+', last.strip()) if last else first
        if first and last and first.group(0) in names and last.group(0) in names:
            found += names[names.index(first.group(0)):names.index(last.group(0)) + 1]
    return found


def default_objectives(title, chunks):
    """Objectives derived from a lesson's H1 (each title is a question) and the chunks it explains."""
    # The title is on the same row of the index, so a question title is pointed at, not repeated.
    objectives = ['Answer the question of the title in your own words.' if title.rstrip().endswith('?')
                  else f'Explain {title[:1].lower() + title[1:]}.']
    if chunks:
        names = [f'`{c.name}`' for c in chunks]
        listed = names[0] if len(names) == 1 else ', '.join(names[:-1]) + ' and ' + names[-1]
        objectives.append(f'Explain what every line of {listed} does, and why it is there.')
    return objectives


def lessons(root=tangle.ROOT, book=None):
    """Every lesson (page of a numbered part of _toc.yml), numbered as the book numbers them."""
    root = Path(root)
    book = book or tangle.read_book(root)
    parser = tangle.markdown_parser(root)
    functions = program_functions(book)
    result = []
    number = 0
    for caption, numbered, docnames in toc_parts(root):
        if not numbered:
            continue
        for docname in docnames:
            number += 1
            text = tangle.chapter_file(root, docname).read_text(encoding='utf-8')
            title = h1_title(text, parser)
            chunks = [c for c in book.chunks if c.docname == docname]
            counts = count_page(text, parser)
            own = {c.name for c in chunks}
            revisits = list(dict.fromkeys(n for n in chunk_names(book, counts.cited) if n not in own))
            matter = front_matter(text)
            given = matter.get(OBJECTIVES_KEY)
            assumes = [str(a) for a in matter.get(ASSUMES_KEY) or []]
            given = [str(o) for o in given] if isinstance(given, list) and given else None
            runs = list(dict.fromkeys(call for call in code_calls(text, parser, functions) if call[1] not in own))
            result.append(Lesson(number, docname, caption, title, chunks, revisits,
                                 given or default_objectives(title, chunks), bool(given),
                                 counts.words, counts.listings, counts.cells, counts.exercises, runs, assumes))
    return result


PAGE_RE = r'[\w.-]+(?:/[\w.-]+)+'   # a docname: book/01-data/01-the-names


def assumed_item(item):
    """(text or None, docname or None) of one entry of a lesson's assumes list: a page of the book
    ("book/01-data/01-the-names"), words that link a page ("logarithms <book/appendix/math-refresher>"),
    or plain text."""
    item = ' '.join(str(item).split())
    if re.fullmatch(PAGE_RE, item):
        return None, item
    match = re.fullmatch(rf'(.+?)\s*<({PAGE_RE})>', item)
    return (match.group(1), match.group(2)) if match else (item, None)


def assumed_markdown(item, numbers=None):
    """One entry of a lesson's assumes list as MyST: a link to the page ({doc}; "lesson N" for a lesson
    when numbers, {docname: number}, has it), or the text as written."""
    text, page = assumed_item(item)
    if page is None:
        return text
    if not text and page in (numbers or {}):
        text = f'lesson {numbers[page]}'
    return f'{{doc}}`{text} </{page}>`' if text else f'{{doc}}`/{page}`'


def term_targets(text, parser):
    """The targets of the {term} roles of MyST text, in order, lowercased (as Sphinx looks terms up);
    directives' bodies included, code skipped."""
    found = []
    for token in parser.parse(text):
        if token.type in ('fence', 'colon_fence'):
            name, _ = directive_of(token)
            if name and name not in CODE_DIRECTIVES | PROGRAM_DIRECTIVES | SKIPPED_DIRECTIVES:
                found += term_targets(directive_body(token.content)[1], parser)
        for child in token.children or []:
            if child.type == 'myst_role' and child.meta.get('name') == 'term':
                found.append(role_target(child.content).lower())
    return found


def term_first_uses(root=tangle.ROOT, book=None):
    """{term, lowercased: the first Lesson, in book order, whose text links the term with {term}}."""
    root = Path(root)
    parser = tangle.markdown_parser(root)
    first = {}
    for lesson in lessons(root, book):
        text = tangle.chapter_file(root, lesson.docname).read_text(encoding='utf-8')
        for term in term_targets(text, parser):
            first.setdefault(term, lesson)
    return first


GLOSSARY = 'book/appendix/glossary'
TAUGHT_KEY = 'taught_in'   # the glossary's front-matter map: term -> the page that teaches it


@dataclass
class Teacher:
    """The page where a glossary term is taught: a lesson (number set) or an appendix page (number None)."""
    docname: str
    title: str
    number: int = None


def term_teachers(root=tangle.ROOT, book=None):
    """{term, lowercased: Teacher} from the glossary's declared taught_in map. A term declared on a page
    that is not in the book raises a ValueError naming it."""
    root = Path(root)
    parser = tangle.markdown_parser(root)
    declared = front_matter(tangle.chapter_file(root, GLOSSARY).read_text(encoding='utf-8')).get(TAUGHT_KEY) or {}
    numbered = {lesson.docname: lesson for lesson in lessons(root, book)}
    pages = {d for _, _, docnames in toc_parts(root) for d in docnames}
    found = {}
    for term, docname in declared.items():
        docname = str(docname).strip().strip('/')
        if docname not in pages:
            raise ValueError(f'{GLOSSARY}.md: {TAUGHT_KEY}: "{term}" is taught in {docname}, which is not a page of the book')
        if docname in numbered:
            found[str(term).lower()] = Teacher(docname, numbered[docname].title, numbered[docname].number)
        else:
            text = tangle.chapter_file(root, docname).read_text(encoding='utf-8')
            found[str(term).lower()] = Teacher(docname, h1_title(text, parser))
    return found


def reading_rule():
    """The reading-time rule, in words, from the constants above."""
    def minutes(x):
        return f'{x:g} minute' + ('' if x == 1 else 's')
    return (f'prose words divided by {WORDS_PER_MINUTE} words a minute, plus {minutes(MINUTES_PER_LISTING)} '
            f'for each listing of `microgpt.py`, {minutes(MINUTES_PER_CELL)} for each code cell or example whose '
            f'code is shown, and {minutes(MINUTES_PER_EXERCISE)} for each exercise, rounded up to a whole minute')


def chunk_runs(book, names):
    """Links to chunks, with runs of three or more chunks in a row written "first to last"."""
    order = [c.name for c in book.chunks]
    positions = sorted({order.index(n) for n in names})
    runs, run = [], []
    for position in positions:
        if run and position != run[-1] + 1:
            runs.append(run)
            run = []
        run.append(position)
    runs.append(run)
    link = lambda position: f'{{ref}}`{order[position]} <chunk-{order[position]}>`'
    parts = []
    for run in runs:
        parts += [f'{link(run[0])} to {link(run[-1])}'] if len(run) >= 3 else [link(p) for p in run]
    return ', '.join(parts)


def fence(depth):
    """A backtick fence long enough to hold fences of the given depth inside it."""
    return '`' * (3 + depth)


def course_index_markdown(root=tangle.ROOT, book=None, part=None, all_lessons=None):
    """MyST Markdown of the course index: per module a heading line, then one block per lesson (title and
    reading time, the lines it explains, what the reader can do after it). With part (a module's caption),
    that module only, without the heading line: the page writes the module headings itself, because
    headings in a cell's output do not become sections of the page. all_lessons: lessons() if already read."""
    book = book or tangle.read_book(root)
    all_lessons = all_lessons or lessons(root, book)
    out = []
    for caption in dict.fromkeys(lesson.part for lesson in all_lessons):
        if part is not None and caption != part:
            continue
        rows = [lesson for lesson in all_lessons if lesson.part == caption]
        total = sum(lesson.minutes for lesson in rows)
        if part is None:
            out += [f'```{{rubric}} {caption}', '```', '']
        out += [f'{len(rows)} lessons, about {total} minutes of reading.', '']
        for lesson in rows:
            if lesson.chunks:
                lines = 'Explains ' + ', '.join(f'{{lines}}`{c.name}` (`{c.name}`)' for c in lesson.chunks)
            else:
                lines = 'No lines of its own: ideas, traced with the code of other lessons'
            if lesson.revisits:
                lines += '; also refers to ' + chunk_runs(book, lesson.revisits)
            if not lesson.chunks and lesson.runs:
                order = [c.name for c in book.chunks]
                calls = sorted(lesson.runs, key=lambda call: (order.index(call[1]), call[0]))
                lines += ('; its code cells run ' if not lesson.revisits else ', and its code cells run ') + \
                    ', '.join(f'{{ref}}`{name}() <chunk-{chunk}>`' for name, chunk in calls)
            marker = '' if lesson.objectives_given else '*'
            out += [f'**{lesson.number}.** {{doc}}`/{lesson.docname}` · about {lesson.minutes} minutes', '',
                    f'{lines}.', '', 'After it you can:', '']
            out += [f'- {marker}{" ".join(o.split())}{marker}' for o in lesson.objectives]
            out += ['']
            if lesson.assumes:
                numbers = {other.docname: other.number for other in all_lessons}
                out += ['It assumes: ' + '; '.join(assumed_markdown(item, numbers) for item in lesson.assumes) + '.', '']
    return '\n'.join(out)


# ---------------------------------------------------------------- line atlas

def atlas_blocks(book):
    """[(chunk, first line, last line, text)] : every chunk's lines, blank lines included, in program order."""
    return [(c, c.start, c.start + len(c.lines) - 1, '\n'.join(c.lines)) for c in book.chunks]


def atlas_markdown(root=tangle.ROOT, book=None):
    """MyST Markdown of the line atlas: a lookup table, then every chunk's lines with their lesson."""
    book = book or tangle.read_book(root)
    number = {lesson.docname: lesson.number for lesson in lessons(root, book)}
    out = ['| Lines | Chunk | Explained in lesson |', '| --- | --- | --- |']
    for chunk, first, last, _ in atlas_blocks(book):
        out.append(f'| {{lines}}`{chunk.name}` | {{ref}}`{chunk.name} <atlas-{chunk.name}>` | '
                   f'{number[chunk.docname]}. {{doc}}`/{chunk.docname}` |')
    out.append('')
    for chunk, first, last, text in atlas_blocks(book):
        out += [f'{fence(1)}{{code-block}} python', f':lineno-start: {first}',
                f':caption: `{chunk.name}`, explained in lesson {number[chunk.docname]}, '
                f'{{doc}}`/{chunk.docname}` ({{lines}}`{chunk.name}`)',
                f':name: atlas-{chunk.name}', '', text, fence(1), '']
    return '\n'.join(out)


def atlas_coverage(markdown):
    """{program line: (chunk name, docname, code)} read back from the atlas Markdown."""
    covered = {}
    pattern = re.compile(r'^````\{code-block\} python\n:lineno-start: (\d+)\n:caption: `([a-z0-9-]+)`.*?'
                         r'\{doc\}`/([^`]+)`.*?\n:name: [^\n]+\n\n(.*?)\n````$', re.M | re.S)
    for match in pattern.finditer(markdown):
        first, name, docname, text = int(match.group(1)), match.group(2), match.group(3), match.group(4)
        for offset, code in enumerate(text.split('\n')):
            covered.setdefault(first + offset, []).append((name, docname, code))
    return covered
