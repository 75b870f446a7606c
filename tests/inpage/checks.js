// Drives Debian's chromium over a built book served on 127.0.0.1 and answers every checked exercise of the given
// pages (book/_ext/inpage/static/checks.js), for tests/test_checks_inpage.py:
//   node checks.js SITE PAGE...   for each check: a wrong answer (the first the lesson foresaw, else one of its own)
//                                 and then its own right answer (code: the check's solution, run by the page's
//                                 Python); what each verdict said; then, after a reload, the contents' "n/m" badge
//                                 of each page and whether the boxes remember the right answers
// With DRIVE_SHOT=PREFIX it saves PREFIX-wrong.png and PREFIX-right.png of the first check of the first page.
// Prints {result, external, errors} as JSON, as drive.js does.
const path = require('path');
const {serve, launch} = require('./serve');

// A wrong answer for a check: the first one the lesson foresaw, else one that cannot be right.
function wrongFor(spec) {
  const foreseen = spec.wrong.find(w => w.answer !== undefined || w.code !== undefined);
  if (spec.kind === 'code') return {given: foreseen ? foreseen.code : 'pass', hint: foreseen ? null : spec.hint, foreseen: !!foreseen};
  if (foreseen) return {given: foreseen.answer, hint: foreseen.hint, foreseen: true};
  if (spec.kind === 'number') return {given: String(spec.value + 1000 * (spec.tolerance + 1)), hint: spec.hint, foreseen: false};
  if (spec.kind === 'choice') return {given: spec.options.find(o => o !== spec.answer), hint: spec.hint, foreseen: false};
  return {given: 'certainly not the answer', hint: spec.hint, foreseen: false};
}
const rightFor = spec => ({number: spec.shown, choice: spec.answer, text: (spec.accept || [])[0], code: spec.solution})[spec.kind];

async function answer(page, label, kind, given) {
  return page.evaluate(async (label, kind, given) => {
    const holder = [...document.querySelectorAll('div.microgpt-check')].find(h => h.dataset.check === label);
    if (kind === 'choice') {
      const radio = [...holder.querySelectorAll('input[type=radio]')].find(r => r.value === given);
      if (!radio) return {state: 'no such option', verdict: given};
      radio.checked = true;
    } else {
      holder.querySelector(kind === 'code' ? 'textarea' : 'input').value = given;
    }
    holder.querySelector('.microgpt-check-button').click();
    const verdict = holder.querySelector('.microgpt-check-verdict');
    const began = Date.now();
    while ((!holder.dataset.state || /^Running/.test(verdict.textContent)) && Date.now() - began < 240000) {
      await new Promise(done => setTimeout(done, 100));
    }
    const state = holder.dataset.state;
    delete holder.dataset.state;
    return {state, verdict: verdict.textContent, first: holder.querySelector('.microgpt-check-first').textContent};
  }, label, kind, given);
}

async function checks(page, base, pages, shot) {
  const result = [];
  for (const [n, name] of pages.entries()) {
    await page.goto(base + name, {waitUntil: 'load'});
    await page.evaluate(() => localStorage.clear());
    await page.goto(base + name, {waitUntil: 'load'});
    await page.waitForFunction(() => window.microgptChecks, {timeout: 30000});
    const specs = await page.evaluate(() => [...document.querySelectorAll('div.microgpt-check')].map(h => {
      const box = h.querySelector('.microgpt-check-button');
      return {...JSON.parse(h.querySelector('script[type="application/json"]').textContent),
              placed: !!h.previousElementSibling && h.previousElementSibling.id === h.dataset.check, built: !!box};
    }));
    const one = {page: name, checks: []};
    for (const [i, spec] of specs.entries()) {
      const wrong = wrongFor(spec);
      const saidWrong = await answer(page, spec.label, spec.kind, wrong.given);
      if (shot && n === 0 && i === 0) await shoot(page, spec.label, `${shot}-wrong.png`);
      const saidRight = await answer(page, spec.label, spec.kind, rightFor(spec));
      if (shot && n === 0 && i === 0) await shoot(page, spec.label, `${shot}-right.png`);
      one.checks.push({label: spec.label, kind: spec.kind, predict: !!spec.predict, placed: spec.placed, built: spec.built,
                       wrong: {...wrong, ...saidWrong}, right: {given: rightFor(spec), ...saidRight}});
    }
    await page.reload({waitUntil: 'load'});
    await page.waitForFunction(() => window.microgptChecks, {timeout: 30000});
    one.after = await page.evaluate(page => {
      const badges = [...document.querySelectorAll('.bd-docs-nav .microgpt-check-progress')].map(b => b.textContent);
      const current = document.querySelector('.bd-docs-nav li.current > a .microgpt-check-progress, .bd-docs-nav a.current .microgpt-check-progress');
      return {badges, current: current ? current.textContent : null,
              remembered: [...document.querySelectorAll('div.microgpt-check')].filter(h => h.dataset.state === 'right').length};
    });
    result.push(one);
  }
  return result;
}

async function shoot(page, label, file) {
  await page.evaluate(label => {
    const holder = [...document.querySelectorAll('div.microgpt-check')].find(h => h.dataset.check === label);
    holder.scrollIntoView({block: 'center'});
  }, label);
  await page.screenshot({path: file});  // the viewport, the exercise and its box in the middle
}

async function main() {
  const [site, ...pages] = process.argv.slice(2);
  const root = path.resolve(site);
  const server = await serve(root);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await launch();
  const external = [], errors = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1200, height: 900});
    page.on('request', req => {
      const url = req.url();
      if (!(url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:'))) external.push(url);
    });
    page.on('pageerror', err => { if (/checks|inpage/.test(err.stack || '')) errors.push(String(err.stack)); });
    const result = await checks(page, base, pages, process.env.DRIVE_SHOT);
    console.log(JSON.stringify({result, external, errors}));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch(err => { console.error(err); process.exit(2); });
