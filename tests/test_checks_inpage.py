"""Exercises that check themselves, in Debian's chromium (book/_ext/checks.py, _static/checks.js).

tests/inpage/checks.js answers every check of every lesson: first a wrong answer (the first the lesson foresaw, else
one of its own), then the check's own right answer (a code check: its solution, run by the page's Python). Each
check must reject the wrong one with its hint and accept the right one; a predict check shows the first guess it
recorded; after a reload the contents show the lesson's progress ("3/3") and the boxes remember what was right.
Uses the served site of tests/test_inpage.py (same fixture, same skips).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from test_inpage import DRIVER, site  # noqa: F401 (the fixture)

REPO = Path(__file__).resolve().parent.parent
LESSONS = [str(p.relative_to(REPO).with_suffix('.html')) for p in sorted((REPO / 'book').glob('0*/*.md'))]


def answer_all(site, pages, shot=''):
    env = {**os.environ, 'DRIVE_SHOT': shot}
    done = subprocess.run(['node', str(DRIVER / 'checks.js'), str(site), *pages], capture_output=True, text=True,
                          timeout=3600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert not answer['external'], answer['external'][:5]
    assert not answer['errors'], answer['errors'][:5]
    return answer['result']


def test_every_check_rejects_a_wrong_answer_with_its_hint_and_accepts_its_own_solution(site):  # noqa: F811
    pages = answer_all(site, LESSONS, shot=os.environ.get('CHECKS_SHOT', ''))
    total = 0
    for page in pages:
        for check in page['checks']:
            where = f"{page['page']} {check['label']}"
            assert check['built'] and check['placed'], f'{where}: the box sits right under its exercise'
            assert check['wrong']['state'] == 'wrong', (where, check['wrong'])
            if check['wrong'].get('hint'):
                assert check['wrong']['hint'].replace('`', '') in check['wrong']['verdict'].replace('`', ''), (where, check['wrong'])
            assert check['right']['state'] == 'right', (where, check['right'])
            if check['predict']:
                assert check['right']['first'].startswith('Your first guess'), (where, check['right'])
            total += 1
        labels = len(page['checks'])
        if labels:
            assert page['after']['current'] == f'{labels}/{labels}', (page['page'], page['after'])
            assert page['after']['remembered'] == labels, (page['page'], page['after'])
    assert total >= 90
