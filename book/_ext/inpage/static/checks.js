// Exercises that check themselves (book/_ext/checks.py writes each {check} as a <div class="microgpt-check"> holding
// its JSON). An answer box under the exercise: a number, a choice, words, or a short Python function run by the
// page's Python (inpage.js's worker, window.microgptInpage). Everything but code is checked here, offline.
// A wrong answer that the lesson foresaw gets its hint (aimed at the misconception behind it); any other, the
// check's general hint. A "predict" exercise records the reader's first guess before it shows the verdict.
// Progress is kept in localStorage, per lesson ("microgpt-checks:<page>" -> {label: {right, first, tries}}), and
// shown in the contents beside each lesson ("3/4"). The solution stays where it was, one click away.
(() => {
  'use strict';
  const KEY = page => `microgpt-checks:${page}`;
  const load = page => { try { return JSON.parse(localStorage.getItem(KEY(page)) || '{}'); } catch (e) { return {}; } };
  const save = (page, record) => { try { localStorage.setItem(KEY(page), JSON.stringify(record)); } catch (e) { /* private mode */ } };

  function element(tag, props = {}, children = []) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }
  // A number as a reader writes it: "0.73", "−0.5", "1,234", "12.5%", "1e-3"; NaN when it is none.
  const number = text => {
    const clean = String(text).trim().replace(/\u2212/g, '-').replace(/[,\s%]/g, '');
    return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(clean) ? Number(clean) : NaN;
  };
  // Words as a reader writes them: case (unless the check says it matters), runs of spaces, spaces beside brackets,
  // commas and colons, the kind of quotes, quotes around the whole answer and a final full stop do not matter.
  const words = (text, caseMatters) => {
    let said = String(text).trim().replace(/[\u2018\u2019\u201c\u201d"]/g, "'").replace(/\u2212/g, '-')
      .replace(/\s*([\[\](),:;])\s*/g, '$1').replace(/\s+/g, ' ').replace(/\.$/, '');
    if (/^'[^']+'$/.test(said)) said = said.slice(1, -1);  // '' (the empty string) stays
    return caseMatters ? said : said.toLowerCase();
  };

  // The verdict on one answer: {right, hint}.
  function judge(spec, given) {
    if (spec.kind === 'number') {
      const value = number(given);
      if (Number.isNaN(value)) return {right: false, hint: 'Write a number, for example 0.25 (a point, not a comma, for decimals).'};
      if (Math.abs(value - spec.value) <= spec.tolerance + 1e-12) return {right: true};
      const foreseen = spec.wrong.find(w => Math.abs(number(w.answer) - value) <= (w.tolerance ?? spec.tolerance) + 1e-12);
      return {right: false, hint: foreseen ? foreseen.hint : spec.hint};
    }
    if (spec.kind === 'choice') {
      if (given === spec.answer) return {right: true};
      const foreseen = spec.wrong.find(w => w.answer === given);
      return {right: false, hint: foreseen ? foreseen.hint : spec.hint};
    }
    // text
    const said = words(given, spec.case);
    if (!said) return {right: false, hint: 'Write your answer in the box first.'};
    if (spec.accept.some(a => words(a, spec.case) === said)) return {right: true};
    if (spec.regex && new RegExp(spec.regex, spec.case ? '' : 'i').test(String(given).trim())) return {right: true};
    const foreseen = spec.wrong.find(w => words(w.answer, spec.case) === said);
    return {right: false, hint: foreseen ? foreseen.hint : spec.hint};
  }

  // Code: the reader's text and the check's test run in a fresh namespace of the page's Python. A failed assert
  // says its message (the hint); any other error says what Python said.
  function programFor(spec, code) {
    return [
      'def _microgpt_check():',
      '    import traceback as _tb',
      '    space = {"__name__": "__check__"}',
      '    try:',
      `        exec(compile(${JSON.stringify(code)}, "<your code>", "exec"), space)`,
      `        exec(compile(${JSON.stringify(spec.test)}, "<the check>", "exec"), space)`,
      '    except AssertionError as err:',
      '        print("CHECK-WRONG", err)',
      '        return',
      '    except Exception as err:',
      '        print("CHECK-ERROR", "".join(_tb.format_exception_only(type(err), err)).strip())',
      '        return',
      '    print("CHECK-RIGHT")',
      '_microgpt_check()',
      'del _microgpt_check',
    ].join('\n');
  }
  async function judgeCode(spec, code) {
    const inpage = window.microgptInpage;
    if (!inpage || !inpage.call) {
      return {right: false, hint: location.protocol === 'file:'
        ? 'Python runs in the page only when the book is served over HTTP ("make serve"); compare your code with the solution.'
        : 'This page has no Python to run your code; compare it with the solution.'};
    }
    const outputs = await inpage.call('run_cell', programFor(spec, code), 'check');
    const text = outputs.map(([, t]) => t).join('');
    if (/CHECK-RIGHT/.test(text)) return {right: true};
    const wrong = text.match(/CHECK-WRONG ?(.*)/);
    if (wrong) return {right: false, hint: wrong[1].trim() || spec.hint};
    const error = text.match(/CHECK-ERROR (.*)/s);
    return {right: false, hint: `Python stopped: ${(error ? error[1] : text).trim()}`, error: true};
  }

  function box(holder, spec, page) {
    // Every box of the page writes the same record: read it afresh before each change.
    const update = change => { const record = load(page); change(record[spec.label] ||= {tries: 0}); save(page, record); return record[spec.label]; };
    const mine = () => load(page)[spec.label] || {tries: 0};
    const name = `check-${spec.label}`;
    const verdict = element('p', {className: 'microgpt-check-verdict', role: 'status'});
    const first = element('p', {className: 'microgpt-check-first'});
    let input, read;
    if (spec.kind === 'choice') {
      input = element('div', {className: 'microgpt-check-options', role: 'radiogroup', ariaLabel: `Your answer to ${spec.label}`},
        spec.options.map(option => element('label', {}, [
          element('input', {type: 'radio', name, value: option}), ' ', option])));
      read = () => (input.querySelector('input:checked') || {}).value || '';
    } else if (spec.kind === 'code') {
      input = element('textarea', {className: 'microgpt-check-code', spellcheck: false, rows: Math.max(4, (spec.starter || '').split('\n').length + 1),
                                   value: spec.starter || ''});
      input.setAttribute('aria-label', `Your code for ${spec.label}`);
      read = () => input.value;
    } else {
      input = element('input', {type: 'text', className: 'microgpt-check-input', autocomplete: 'off', spellcheck: false,
                                inputMode: spec.kind === 'number' ? 'decimal' : 'text'});
      input.setAttribute('aria-label', spec.predict ? `Your prediction for ${spec.label}` : `Your answer to ${spec.label}`);
      read = () => input.value;
    }
    const button = element('button', {type: 'button', className: 'microgpt-check-button',
      textContent: spec.kind === 'code' ? 'Run and check' : (spec.predict ? 'Record my guess and check' : 'Check')});
    const says = spec.prompt || (spec.predict ? 'Your prediction (recorded before the answer is shown):'
      : spec.kind === 'code' ? 'Write it here; the check runs it in the page:' : spec.kind === 'choice' ? 'Your answer:' : 'Your answer:');
    const show = (result, given) => {
      holder.dataset.state = result.right ? 'right' : 'wrong';
      verdict.replaceChildren(
        element('strong', {textContent: result.right ? 'Right. ' : 'Not yet. '}),
        result.right ? (spec.kind === 'number' ? `The build computed ${spec.shown}.` : '') : (result.hint || 'Try again, or open the solution.'));
      const rec = mine();
      if (rec.first !== undefined && spec.predict) {
        first.textContent = `Your first guess: ${rec.first}` + (rec.peeked ? ' (recorded after the solution was opened)' : '');
      }
    };
    button.onclick = async () => {
      const given = read();
      if (spec.kind !== 'code' && !String(given).trim()) { show({right: false, hint: 'Write your answer first.'}); return; }
      update(rec => {  // the guess is recorded before the verdict is shown
        if (rec.first === undefined) rec.first = spec.kind === 'code' ? '(code)' : given;
        rec.tries += 1;
      });
      let result;
      if (spec.kind === 'code') {
        button.disabled = true;
        verdict.textContent = 'Running your code in the page…';
        try { result = await judgeCode(spec, given); } catch (err) { result = {right: false, hint: `Python stopped: ${err.message}`}; }
        button.disabled = false;
      } else {
        result = judge(spec, given);
      }
      update(rec => {
        if (result.right) rec.right = true;
        rec.last = spec.kind === 'code' ? '(code)' : given;
      });
      show(result, given);
      progress();
    };
    if (input.tagName === 'INPUT') input.addEventListener('keydown', e => { if (e.key === 'Enter') button.click(); });
    if (input.tagName === 'TEXTAREA') input.addEventListener('keydown', e => { if (e.key === 'Enter' && e.shiftKey) { e.preventDefault(); button.click(); } });
    const data = holder.querySelector('script[type="application/json"]');  // kept: the check's own data
    holder.replaceChildren(data, element('p', {className: 'microgpt-check-title'}, [says]), input, ' ', button, first, verdict);
    // A "predict" exercise: opening the solution before any guess is recorded is noted (the guess then says so).
    const solution = holder.nextElementSibling && holder.nextElementSibling.classList.contains('solution') ? holder.nextElementSibling : null;
    if (spec.predict && solution) {
      solution.addEventListener('click', () => {
        if (mine().first === undefined && !mine().peeked) {
          update(rec => { rec.peeked = true; });
          first.textContent = 'You opened the solution before recording a guess.';
        }
      }, true);
    }
    const rec = load(page)[spec.label];
    if (rec && rec.right) {
      holder.dataset.state = 'right';
      verdict.replaceChildren(element('strong', {textContent: 'Done. '}), 'You answered this one right before (kept in this browser).');
    }
    if (rec && rec.first !== undefined && spec.predict) first.textContent = `Your first guess: ${rec.first}`;
  }

  // The contents: beside each lesson with checks, how many of them this browser answered right.
  function progress() {
    const meta = document.querySelector('meta[name="microgpt-checks"]');
    if (!meta) return;
    let pages;
    try { pages = JSON.parse(meta.content); } catch (e) { return; }
    const links = [...document.querySelectorAll('.bd-docs-nav a.reference.internal, nav.bd-links a.reference.internal')];
    for (const [page, {url, labels}] of Object.entries(pages)) {
      const target = new URL(url, location.href);
      target.hash = '';
      const done = labels.filter(label => (load(page)[label] || {}).right).length;
      for (const link of links) {
        const href = new URL(link.getAttribute('href'), location.href);
        href.hash = '';
        if (href.href !== target.href) continue;
        let badge = link.querySelector('.microgpt-check-progress');
        if (!badge) link.append(' ', badge = element('span', {className: 'microgpt-check-progress'}));
        badge.textContent = `${done}/${labels.length}`;
        badge.title = `${done} of this lesson's ${labels.length} checked exercises answered right in this browser`;
        badge.dataset.complete = String(done === labels.length);
      }
    }
  }

  function init() {
    const meta = document.querySelector('meta[name="microgpt-checks"]');
    const page = meta ? meta.dataset.page : location.pathname;
    for (const holder of document.querySelectorAll('div.microgpt-check')) {
      let spec;
      try { spec = JSON.parse(holder.querySelector('script[type="application/json"]').textContent); } catch (e) { continue; }
      // The box goes right under its exercise, above the (closed) solution.
      const exercise = document.getElementById(spec.label);
      if (exercise && exercise.parentNode) exercise.after(holder);
      box(holder, spec, spec.page || page);
    }
    progress();
    window.microgptChecks = {judge, progress, load};
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
