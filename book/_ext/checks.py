"""Sphinx extension: exercises that check themselves (issue 22, item 5) and their marking schemes (issue 23, item 2).

A lesson writes a ```{check} LABEL``` block right after the {solution} of exercise LABEL; its body is YAML:

    kind: number            # number | choice | text | code
    answer: two_first       # number: a glue name of the page (the build's value); choice: the right option;
                            #   text: the accepted words
    glue: name              # text: a glue name of the page whose text is accepted (instead of, or besides, answer)
    accept: [...]           # text: more accepted answers (literal words)
    regex: '...'            # text: a regular expression an answer may match instead (case-insensitive)
    case: true              # text: capitals matter (by default they do not)
    prompt: "..."           # what the box asks, when the exercise asks several things (default: "Your answer:")
    tolerance: 0.01         # number: how far from the build's value an answer may be (default: 1 % of it)
    options: [up, down]     # choice: what the reader picks from
    predict: true           # a "predict, then run" exercise: the reader's first guess is recorded before the
                            #   verdict, and kept
    points: 2               # the marking scheme's points (default 1)
    wrong:                  # typical wrong answers: the hint the reader sees, and for the teacher the
      - answer: 0.5         #   misconception it shows (book/teacher-notes.yml words them); a number's wrong
                            #   answer may be a glue name, a text's may be `glue: name` instead of answer
        hint: "That divides each score by the total; exponentiate first."
        misconception: "softmax is a plain share of the total"
    hint: "..."             # what any other wrong answer is told
    # code only:
    starter: |              # what the reader's box holds at first
      def f(x): ...
    test: |                 # Python run after the reader's code in a fresh namespace: asserts with messages
      assert f(1) == 2, "hint shown when this fails"
    solution: |             # a right answer, which the tests run and the answer key prints
      def f(x): return 2 * x

What each edition makes of it (doctree-resolved, for every builder):
    student HTML    an answer box (or an editable box for code) under the exercise, checked in the page by
                    _static/checks.js with no network; code runs in the page's Python (the in-page worker of
                    inpage.js). Progress per lesson is kept in the browser (localStorage) and shown in the
                    contents beside the lesson, e.g. "3/4".
    teacher HTML    the marking scheme (points, what is accepted, typical wrong answers and what they show)
    handouts        the answer key prints the marking scheme; the student's handout nothing
    book PDF, EPUB  nothing (print has no checks)

Numbers come from the glue of the page, resolved when the page is read: the check accepts the value the build
computed, never a figure typed into the lesson. Listed under sphinx.local_extensions in _config.yml.
"""

import json
import re
from html import escape
from pathlib import Path

import yaml
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import editions

logger = logging.getLogger(__name__)
KINDS = ('number', 'choice', 'text', 'code')
KEYS = {'kind', 'answer', 'glue', 'accept', 'regex', 'tolerance', 'options', 'predict', 'points', 'wrong', 'hint',
        'starter', 'test', 'solution', 'prompt', 'case'}
WRONG_KEYS = {'answer', 'glue', 'hint', 'misconception', 'code', 'tolerance'}
STATIC = Path(__file__).resolve().parent / 'inpage' / 'static'  # checks.js and checks.css (inpage.js's folder)


def parse_spec(text):
    """The YAML body of a {check} as a dict, checked; ValueError says what is wrong."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f'the body is not YAML: {err}') from None
    if not isinstance(spec, dict):
        raise ValueError('the body must be a YAML mapping (kind: ..., answer: ...)')
    unknown = set(spec) - KEYS
    if unknown:
        raise ValueError(f'unknown keys {sorted(unknown)}; a check knows {sorted(KEYS)}')
    kind = spec.get('kind')
    if kind not in KINDS:
        raise ValueError(f'kind is one of {", ".join(KINDS)}, not {kind!r}')
    if kind == 'code':
        for key in ('test', 'solution'):
            if not isinstance(spec.get(key), str):
                raise ValueError(f'a code check needs {key}: (Python text)')
    elif 'answer' not in spec and not (kind == 'text' and 'glue' in spec):
        raise ValueError('a check needs answer:' + (' (or glue:)' if kind == 'text' else ''))
    if kind == 'choice':
        options = spec.get('options')
        if not isinstance(options, list) or len(options) < 2:
            raise ValueError('a choice check needs options: (a list of at least two)')
        if str(spec['answer']) not in map(str, options):
            raise ValueError(f'answer {spec["answer"]!r} is not one of the options {options}')
    wrong = spec.get('wrong', [])
    if not isinstance(wrong, list) or not all(isinstance(w, dict) and 'hint' in w and set(w) <= WRONG_KEYS
                                                 for w in wrong):
        raise ValueError('wrong: is a list of {answer (or code), hint, misconception}')
    if kind != 'code' and not all('answer' in w or (kind == 'text' and 'glue' in w) for w in wrong):
        raise ValueError('every wrong: item needs answer:' + (' (or glue:)' if kind == 'text' else ''))
    points = spec.setdefault('points', 1)
    if not isinstance(points, (int, float)) or points <= 0:
        raise ValueError('points: is a positive number')
    return spec


def glue_names(spec):
    """The glue names a spec refers to: a number's answer (and wrong answers) when it is a name; a text's glue."""
    names = []
    if spec['kind'] == 'number':
        names += [value for value in [spec.get('answer')] + [w.get('answer') for w in spec.get('wrong', [])]
                  if isinstance(value, str)]
    if spec['kind'] == 'text':
        names += [value for value in [spec.get('glue')] + [w.get('glue') for w in spec.get('wrong', [])] if value]
    return names


def as_number(text):
    """A number written as the book prints it ("1,234", "−0.5", "12.5%"), or None."""
    text = str(text).strip().replace('\u2212', '-').replace(',', '').replace('%', '').strip()
    try:
        return float(text)
    except ValueError:
        return None


def resolve(spec, glued):
    """The spec as the page needs it: glue names replaced by the build's values (glued: name -> text).

    number: value (float), shown (the build's text), tolerance; text: accept (list of strings), regex;
    choice: options, answer. KeyError names a glue name the page lacks; ValueError a glued text that is no number."""
    out = {k: v for k, v in spec.items() if k not in ('answer', 'glue')}
    kind = spec['kind']
    if kind == 'number':
        answer = spec['answer']
        if isinstance(answer, str):
            shown = glued[answer]
            value = as_number(shown)
            if value is None:
                raise ValueError(f'glue {answer!r} is {shown!r}, not a number')
        else:
            shown, value = format_number(answer), float(answer)
        tolerance = spec.get('tolerance')
        out.update(value=value, shown=shown, tolerance=float(tolerance) if tolerance is not None
                   else max(abs(value) * 0.01, 1e-9))
    elif kind == 'text':
        accept = [glued[spec['glue']]] if spec.get('glue') else []
        accept += [str(spec['answer'])] if 'answer' in spec else []
        out['accept'] = accept + [str(a) for a in spec.get('accept', [])]
    elif kind == 'choice':
        out['answer'] = str(spec['answer'])
        out['options'] = [str(o) for o in spec['options']]
    out['wrong'] = []
    for w in spec.get('wrong', []):
        w = dict(w)
        if 'glue' in w:  # a text's wrong answer that the build computed
            w['answer'] = glued[w.pop('glue')]
        elif 'answer' in w:
            w['answer'] = glued[w['answer']] if kind == 'number' and isinstance(w['answer'], str) else str(w['answer'])
        out['wrong'].append(w)
    return out


def format_number(value):
    return f'{value:g}' if isinstance(value, float) else str(value)


def accepted_text(resolved):
    """What the check accepts, in words (the answer key prints it; the tests look for it there)."""
    kind = resolved['kind']
    if kind == 'number':
        if resolved['tolerance'] == 0:
            return f'{resolved["shown"]} (exactly)'
        return f'{resolved["shown"]} (accepted: within {format_number(resolved["tolerance"])} of it)'
    if kind == 'choice':
        return f'{resolved["answer"]} (of: {", ".join(resolved["options"])})'
    if kind == 'text':
        words = ' or '.join(f'"{a}"' for a in resolved['accept'])
        return words + (f' (or any answer matching /{resolved["regex"]}/)' if resolved.get('regex') else '')
    return 'code that passes the test below; for example:'


class check_node(nodes.General, nodes.Element):
    """A {check}: attributes label, spec (resolved), docname. Replaced in doctree-resolved for every builder."""


def skip(self, node):
    raise nodes.SkipNode


class CheckDirective(SphinxDirective):
    """```{check} exercise-label``` with a YAML body: see the module's docstring."""
    required_arguments = 1
    has_content = True
    option_spec = {}

    def run(self):
        label = self.arguments[0]
        where = f'{self.env.docname}:{self.lineno}'
        try:
            spec = parse_spec('\n'.join(self.content))
            glued = {}
            for name in glue_names(spec):
                glued[name] = glue_text(self.state.document, name)
            resolved = resolve(spec, glued)
        except (ValueError, KeyError) as err:
            message = f'glue {err} is not a glue name of this page' if isinstance(err, KeyError) else str(err)
            logger.warning(f'check {label}: {message}', location=(self.env.docname, self.lineno), type='checks')
            return []
        node = check_node(label=label, spec=resolved, docname=self.env.docname, where=where)
        self.set_source_info(node)
        store = self.env.__dict__.setdefault('microgpt_checks', {})
        store.setdefault(self.env.docname, []).append(label)
        return [node]


def glue_text(document, name):
    """The text {glue:text}`name` shows ({glue:md}: its Markdown, code marks dropped), from the executed page;
    KeyError when the page glued no such name."""
    from myst_nb.core.variables import RetrievalError, format_plain_text
    from myst_nb.ext.glue.utils import retrieve_glue_data
    try:
        data = retrieve_glue_data(document, name).data
    except RetrievalError:
        raise KeyError(name) from None
    if 'text/markdown' in data:  # {glue:md}: the Markdown, without the backticks of code
        return re.sub(r'`([^`]*)`', r'\1', data['text/markdown']).strip()
    return format_plain_text(data.get('text/plain', ''), '')


# ------------------------------------------------------------------ the marking scheme (docutils nodes)

def marking_scheme(resolved, number=''):
    """The marking scheme of one check: an admonition with points, accepted answer, typical wrong answers."""
    items = nodes.bullet_list()

    def item(head, *children):
        items.append(nodes.list_item('', nodes.paragraph('', '', nodes.strong(head, head), nodes.Text(' '),
                                                          *children)))
    points = resolved['points']
    item('Points:', nodes.Text(format_number(points)))
    item('Accepts:', *editions.inline_text(accepted_text(resolved)))
    if resolved['kind'] == 'code':
        items[-1].append(nodes.literal_block(resolved['solution'], resolved['solution'].rstrip('\n'),
                                             language='python'))
        items.append(nodes.list_item('', nodes.paragraph('', 'The test it must pass:'),
                                     nodes.literal_block(resolved['test'], resolved['test'].rstrip('\n'),
                                                         language='python')))
    if resolved.get('predict'):
        item('Prediction:', nodes.Text('the reader records a guess before the answer is shown; '
                                       'mark the reasoning as well as the figure.'))
    for wrong in resolved['wrong']:
        if 'answer' in wrong:
            children = [nodes.Text(f'"{wrong["answer"]}"')]
        else:
            children = [nodes.literal(wrong.get('code', ''), wrong.get('code', 'other code'))]
        children.append(nodes.Text(': '))
        children += editions.inline_text(wrong.get('misconception') or wrong['hint'])
        item('Typical wrong answer:', *children)
    title = f'Marking scheme{" of " + number if number else ""} ({format_number(points)} '\
            f'point{"" if points == 1 else "s"})'
    return nodes.admonition('', nodes.title(title, title), items, classes=['admonition-marking-scheme', 'note'])


# ------------------------------------------------------------------ the page's answer box (student HTML)

def widget_html(node):
    """The answer box's placeholder: checks.js builds the box from the JSON it holds."""
    resolved = dict(node['spec'])
    data = {'label': node['label'], 'page': node['docname'], **resolved}
    payload = json.dumps(data, ensure_ascii=False).replace('</', '<\\/')
    return (f'<div class="microgpt-check" data-check="{escape(node["label"])}">'
            f'<script type="application/json">{payload}</script>'
            '<noscript><p>This exercise checks your answer in the page when scripts run.</p></noscript></div>')


def on_doctree_resolved(app, doctree, docname):
    """Each {check} becomes what its edition and format show (module docstring)."""
    registry = getattr(app.env, 'sphinx_exercise_registry', {})
    for node in list(doctree.findall(check_node)):
        label = node['label']
        entry = registry.get(label)
        # The check's own page, not docname: the LaTeX builders resolve a whole document (the book, or a handout)
        # under its master's name.
        if not entry or entry.get('docname') != node['docname'] or entry.get('type') != 'exercise':
            logger.warning(f'check {label}: no exercise labelled {label!r} on this page', location=node,
                           type='checks')
        edition = editions.edition(app)
        if app.builder.format == 'html' and app.builder.name != 'epub':
            if edition == 'teacher':
                node.replace_self(marking_scheme(node['spec']))
            else:
                node.replace_self(nodes.raw('', widget_html(node), format='html'))
        elif app.builder.format == 'latex' and edition == 'handouts':
            node.replace_self(editions.AnswerKeyOnly('', marking_scheme(node['spec'])))
        elif app.builder.format == 'latex' and edition == 'teacher':
            node.replace_self(marking_scheme(node['spec']))
        else:
            node.parent.remove(node)


def on_env_purge_doc(app, env, docname):
    getattr(env, 'microgpt_checks', {}).pop(docname, None)


def on_env_merge_info(app, env, docnames, other):
    env.__dict__.setdefault('microgpt_checks', {}).update(
        {d: v for d, v in getattr(other, 'microgpt_checks', {}).items() if d in docnames})


def on_builder_inited(app):
    if app.builder.name != 'html' or editions.edition(app) == 'teacher':
        return
    if str(STATIC) not in app.config.html_static_path:  # inpage.py adds it when Pyodide is installed
        app.config.html_static_path.append(str(STATIC))
    app.add_js_file('checks.js', defer='defer')
    app.add_css_file('checks.css')


def on_html_page_context(app, pagename, templatename, context, doctree):
    """Every page names each lesson with checks, its address from here and its labels (for the contents' "3/4")."""
    if app.builder.name != 'html' or editions.edition(app) == 'teacher':
        return
    store = getattr(app.env, 'microgpt_checks', {})
    pages = {page: {'url': context['pathto'](page), 'labels': labels} for page, labels in sorted(store.items())}
    context['metatags'] = context.get('metatags', '') + (
        f'\n<meta name="microgpt-checks" data-page="{escape(pagename)}" content="{escape(json.dumps(pages))}">')


def setup(app):
    app.add_directive('check', CheckDirective)
    # No epub= here: handlers under the builder's own name replace, for that builder, every handler registered
    # under its format ('html'), and the EPUB lost sphinx-exercise's. The html ones serve the EPUB too.
    app.add_node(check_node, html=(skip, None), latex=(skip, None), text=(skip, None))
    app.connect('builder-inited', on_builder_inited, priority=900)  # after inpage.py's
    app.connect('doctree-resolved', on_doctree_resolved)
    app.connect('env-purge-doc', on_env_purge_doc)
    app.connect('env-merge-info', on_env_merge_info)
    app.connect('html-page-context', on_html_page_context)
    return {'version': '1.0', 'parallel_read_safe': True, 'parallel_write_safe': True}
