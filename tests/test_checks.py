"""The lessons' {check} blocks (book/_ext/checks.py), without building the book.

Every check parses, names an exercise of its own page and sits right after that exercise's solution; every glue
name it uses is glued by a cell of the page; the marking scheme the answer key prints lists what the check accepts
and each typical wrong answer; and every exercise with a checkable answer has a check (the ones left out are
explanations, listed below). The page's verdicts themselves are tested in chromium (tests/test_checks_inpage.py).
"""

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / 'book' / '_ext'))
import checks  # noqa: E402

LESSONS = sorted((REPO / 'book').glob('0*/*.md'))
FENCE = re.compile(r'^(`{3,}|:{3,})\{(exercise|solution|solution-start|solution-end|check)\}\s*(\S*)')
# Exercises that ask for an explanation, a lookup or a hand-written list: no check.
EXPLANATIONS = {'inventing-one-letter', 'one-name-bo', 'picture-where', 'picture-gpt2'}


def blocks(path):
    """[(kind, label, first line, last line, body)] of the exercise, solution and check blocks of a lesson."""
    lines = path.read_text(encoding='utf-8').split('\n')
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, kind, argument = match.groups()
        end = i + 1
        while lines[end].strip() != fence:
            end += 1
        body = lines[i + 1:end]
        label = argument or next((l.split(':label:')[1].strip() for l in body if l.startswith(':label:')), '')
        found.append((kind, label, i, end, '\n'.join(body)))
        i = end + 1
    return found


def all_checks():
    for path in LESSONS:
        for kind, label, first, last, body in blocks(path):
            if kind == 'check':
                yield path, label, first, body


def glued_names(path):
    """The names a lesson's cells glue (glue("name", ...))."""
    return set(re.findall(r'\bglue\(\s*["\']([\w-]+)["\']', path.read_text(encoding='utf-8')))


def test_every_check_parses_names_an_exercise_of_its_page_and_follows_its_solution():
    seen = set()
    for path in LESSONS:
        found = blocks(path)
        exercises = {label for kind, label, *_ in found if kind == 'exercise'}
        for n, (kind, label, first, last, body) in enumerate(found):
            if kind != 'check':
                continue
            where = f'{path.relative_to(REPO)}:{first + 1}'
            checks.parse_spec(body)
            assert label in exercises, f'{where}: check {label!r} names no exercise of this page'
            assert label not in seen, f'{where}: a second check for {label!r}'
            seen.add(label)
            before = found[n - 1]
            assert before[0] in ('solution', 'solution-end'), f'{where}: a check comes right after its solution'
            solved = before[1] if before[0] == 'solution' else next(
                b[1] for b in reversed(found[:n]) if b[0] == 'solution-start')
            assert solved == label, f'{where}: check {label!r} follows the solution of {solved!r}'


def test_every_glue_name_a_check_uses_is_glued_by_its_page():
    for path, label, first, body in all_checks():
        names = checks.glue_names(checks.parse_spec(body))
        missing = set(names) - glued_names(path)
        assert not missing, f'{path.relative_to(REPO)}:{first + 1}: check {label}: no cell glues {sorted(missing)}'


def test_a_number_check_accepts_the_builds_value_not_a_typed_figure():
    for path, label, first, body in all_checks():
        spec = checks.parse_spec(body)
        if spec['kind'] == 'number':
            assert isinstance(spec['answer'], str), f'{path.relative_to(REPO)}:{first + 1}: {label}: answer is a glue name'


def stand_in_glue(spec):
    """A value for each glue name: a number for number checks, words for text ones."""
    return {name: ('1.25' if spec['kind'] == 'number' else f'glued {name}') for name in checks.glue_names(spec)}


def test_the_marking_scheme_lists_the_points_each_accepted_answer_and_each_typical_wrong_answer():
    count = 0
    for path, label, first, body in all_checks():
        spec = checks.parse_spec(body)
        resolved = checks.resolve(spec, stand_in_glue(spec))
        text = checks.marking_scheme(resolved).astext()
        where = f'{path.relative_to(REPO)}:{first + 1} {label}'
        assert f'({checks.format_number(spec["points"])} point' in text, where
        if spec['kind'] == 'number':
            assert resolved['shown'] in text, where
        elif spec['kind'] == 'choice':
            assert resolved['answer'] in text, where
        elif spec['kind'] == 'text':
            for accepted in resolved['accept']:
                assert accepted.replace('`', '') in text, (where, accepted)
        else:
            assert resolved['solution'].strip() in text and resolved['test'].strip() in text, where
        for wrong in resolved['wrong']:
            assert (wrong.get('answer') or '').replace('`', '') in text, (where, wrong)
            assert (wrong.get('misconception') or wrong['hint']).replace('`', '') in text, (where, wrong)
        count += 1
    assert count >= 90


def test_every_exercise_with_a_checkable_answer_has_a_check():
    unchecked = set()
    for path in LESSONS:
        found = blocks(path)
        checked = {label for kind, label, *_ in found if kind == 'check'}
        unchecked |= {label for kind, label, *_ in found if kind == 'exercise'} - checked
    assert unchecked == EXPLANATIONS


@pytest.mark.parametrize('body, words', [
    ('kind: guess\nanswer: 1', 'kind is one of'),
    ('kind: number', 'needs answer'),
    ('kind: choice\noptions: [a, b]\nanswer: c', 'not one of the options'),
    ('kind: code\ntest: "assert f()"', 'needs solution'),
    ('kind: text\nanswer: x\nwrong: [{answer: y}]', 'hint'),
    ('kind: text\nanswer: x\ncolour: red', 'unknown keys'),
    ('- just a list', 'mapping'),
])
def test_a_malformed_check_is_refused_with_a_reason(body, words):
    with pytest.raises(ValueError, match=words):
        checks.parse_spec(body)


def test_a_number_accepts_the_books_ways_of_writing_it():
    assert checks.as_number('14,528') == 14528
    assert checks.as_number('\u22125.0000') == -5
    assert checks.as_number('49%') == 49
    assert checks.as_number('(6.0,)') is None


def test_the_downloadable_sources_and_notebooks_leave_the_checks_out():
    import editions
    import notebooks
    parser = editions.markdown_parser(type('App', (), {'config': type('Config', (), {
        'myst_enable_extensions': ['colon_fence', 'dollarmath', 'amsmath', 'deflist']})})())
    for path in LESSONS:
        text = path.read_text(encoding='utf-8')
        if '```{check}' in text:
            kept = editions.strip_solutions(text, parser)
            assert '```{check}' not in kept and '{exercise}' in kept, path
    page = notebooks.Page.__new__(notebooks.Page)
    page.parser = parser
    page.inline = lambda text: text
    shown = page.markdown('Before.\n\n```{check} x\nkind: number\nanswer: y\n```\n\nAfter.\n')
    assert 'kind' not in shown and 'Before.' in shown and 'After.' in shown
