"""What the checked exercises print (book/_ext/checks.py): each answer key lists, for every check of its lesson, the
marking scheme with what the check accepts and its typical wrong answers; the students' handouts and the book's
PDF print nothing of it. The checks' values are read from the HTML build (the JSON of each answer box), so the key
is compared with what the page accepts."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def lesson_checks(html_root):
    """{docname: [check data]} from the student HTML's answer boxes."""
    found = {}
    for page in sorted(html_root.glob('book/0*/*.html')):
        datas = re.findall(r'<div class="microgpt-check"[^>]*><script type="application/json">(.*?)</script>',
                           page.read_text(encoding='utf-8'), re.S)
        if datas:
            found[str(page.relative_to(html_root).with_suffix(''))] = [json.loads(d.replace('<\\/', '</')) for d in datas]
    return found


def plain(text):
    """Text compared loosely: typographic quotes and minus signs as typed, no whitespace, no code marks."""
    text = html.unescape(text).replace('\u2019', "'").replace('\u2018', "'").replace('\u201c', '"').replace('\u201d', '"')
    return re.sub(r'\s+', '', text.replace('\u2212', '-').replace('`', ''))


def pdf_text(path):
    """The PDF's text, a word that LaTeX hyphenated at the end of a line joined again."""
    text = subprocess.run(['pdftotext', '-layout', str(path), '-'], capture_output=True, text=True, check=True).stdout
    return re.sub(r'(?<=[a-z])-\n\s*(?=[a-z])', '', text)


@pytest.mark.skipif(not shutil.which('pdftotext'), reason='needs poppler-utils (pdftotext)')
def test_each_answer_key_lists_what_each_check_accepts_and_the_handout_prints_none(html_build, handouts_build):
    done, built = html_build
    assert done.returncode == 0
    done, out = handouts_build
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    checks = lesson_checks(built)
    assert sum(map(len, checks.values())) >= 90
    for docname, datas in checks.items():
        stem = docname.rsplit('/', 1)[-1].split('-', 1)[1]
        key = next(Path(out).glob(f'lesson-*-{stem}-answers.pdf'))
        handout = next(Path(out).glob(f'lesson-*-{stem}.pdf'))
        text = plain(pdf_text(key))
        assert text.count('Markingscheme') == len(datas), (key.name, text.count('Markingscheme'), len(datas))
        assert 'Markingscheme' not in plain(pdf_text(handout)), handout.name
        for data in datas:
            where = f'{key.name} {data["label"]}'
            wanted = {'number': [data.get('shown')], 'choice': [data.get('answer')], 'text': data.get('accept'),
                      'code': [line for line in (data.get('solution') or '').splitlines() if line.strip()]}[data['kind']]
            for accepted in wanted:
                assert plain(accepted) in text, (where, accepted)
            for wrong in data['wrong']:
                if 'answer' in wrong:
                    assert plain(wrong['answer']) in text, (where, wrong['answer'])
