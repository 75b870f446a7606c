// Drives Debian's chromium (puppeteer-core, no browser download) over a built book served on 127.0.0.1, and
// prints what the in-page Python did as JSON, for tests/test_inpage.py and tests/bench.py to judge.
//   node drive.js SITE pages PAGE...          press Run on every cell of each page, in order: each cell's
//                                             output as the build printed it and as the page made it, the seconds
//                                             to its first output (first) and to its end, and the cells run before it
//   node drive.js SITE edit PAGE N CODE       edit cell N (0-based among cells with a Run button), run, reset
//   node drive.js SITE file PAGE              open PAGE from file:// and press Run: the message shown
//   node drive.js SITE playground STEPS       the 20 names at T = 0.5, then STEPS training steps: the losses
//   node drive.js SITE switches STEPS         the playground's switches: STEPS steps with the MLP off, STEPS with plain
//                                             descent (lr 0.1, after a refused "abc") and seed 1, 2 of the program:
//                                             each run's losses, and the chart, legend and table after the 2nd and
//                                             3rd run; then the refused combinations and their messages
//   node drive.js SITE bench PAGE             seconds from Run to the first output on a fresh load (warm cache)
//   node drive.js SITE axe PAGE...            axe-core (from tests/a11y, make a11y installs it) after running the
//                                             page's first cell and opening its editor (the playground: explaining
//                                             a name, training 2 steps, a refused switch and learning rate), in the
//                                             light and the dark colour mode
//   node drive.js SITE stop PAGE              the last cell edited to `while True: pass` and run with Shift+Enter; Run on the
//                                             first cell (it waits); Stop; the first cell run; the time limit's question
//                                             left unanswered (limits shortened to seconds); Reset; the last cell run
//   node drive.js SITE limits PAGE            the first cell edited to print 5,000 lines, to call input(), to import numpy
//   node drive.js SITE validate               the playground's fields given bad values: each message, and what the buttons
//                                             say; a sampling stopped; at 400 px wide, whether the page overflows
//   node drive.js SITE console PAGE...        every console error, page error and failed request of each page as it loads
//                                             and runs its first cell; its favicon; what the first Tab reaches
//   Served with the cross-origin isolation headers (as make serve sends them) when DRIVE_ISOLATE=1. With DRIVE_SHOT=PREFIX,
//   stop and validate also save screenshots (PREFIX-stopped.png, PREFIX-asked.png; PREFIX-fields.png, PREFIX-narrow.png).
//   node drive.js SITE screenshot PAGE PNG [RUN]   a screenshot (after running the first cell when RUN=1; the
//                                             playground: after RUN steps of the program and RUN with the MLP off, and a
//                                             refused switch); DRIVE_MODE=dark, DRIVE_WIDTH=400 (px), DRIVE_FULL=1 (the whole page)
// Requests to any other host fail (chromium resolves no other name) and are listed in the result ("external").
const fs = require('fs');
const http = require('http');
const path = require('path');
const puppeteer = require('puppeteer-core');

const TYPES = {'.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.woff': 'font/woff',
  '.json': 'application/json', '.wasm': 'application/wasm', '.txt': 'text/plain', '.py': 'text/plain',
  '.zip': 'application/zip'};
const CELL_TIMEOUT = 300000;

function serve(root) {
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); return res.end(); }
    const isolate = process.env.DRIVE_ISOLATE === '1'
      ? {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp'} : {};
    res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'max-age=3600', ...isolate});
    fs.createReadStream(file).pipe(res);
  });
  return new Promise(done => server.listen(0, '127.0.0.1', () => done(server)));
}

// What a cell's output shows: the text of each block of output, and of each table as its rows of cells.
const outputs = (page, i) => page.evaluate(i => {
  const cell = [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i];
  const texts = [];  // consecutive stream blocks are one text (the kernel may flush a cell's print in pieces)
  let lastStream = false;
  for (const node of cell.querySelectorAll('.cell_output pre, .cell_output table')) {
    const stream = node.tagName === 'PRE' && !!node.closest('.stream');
    const text = node.tagName === 'PRE' ? node.textContent
      : [...node.querySelectorAll('tr')].map(tr => [...tr.children].map(td => td.textContent.trim()).join(' | ')).join('\n');
    if (stream && lastStream) texts[texts.length - 1] += text; else texts.push(text);
    lastStream = stream;
  }
  return texts;
}, i);

async function runCell(page, i) {
  await page.evaluate(i => {
    const cell = [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i];
    delete cell.dataset.inpage;
    cell.querySelector('.inpage-run').click();
  }, i);
  const began = Date.now();
  for (;;) {  // polled from here: a long cell must not hold one protocol call open
    const [state, status] = await page.evaluate(i => {
      const cell = [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i];
      return [cell.dataset.inpage, cell.querySelector('.inpage-status').textContent];
    }, i);
    if (process.env.DRIVE_VERBOSE) console.error(`cell ${i}: ${state} ${status}`);
    if (state === 'done' || state === 'failed' || state === 'stopped') break;
    if (Date.now() - began > CELL_TIMEOUT) throw new Error(`cell ${i} still ${state} after ${CELL_TIMEOUT / 1000} s: ${status}`);
    await new Promise(done => setTimeout(done, process.env.DRIVE_VERBOSE ? 2000 : 100));
  }
  return page.evaluate(i => {
    const cell = [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i];
    return {state: cell.dataset.inpage, status: cell.querySelector('.inpage-status').textContent,
            note: [...cell.querySelectorAll('.inpage-note')].map(n => n.textContent).join(' '),
            before: JSON.parse(cell.dataset.inpageBefore || '[]'), first: Number(cell.dataset.inpageFirst)};
  }, i);
}

// A cell's bar: its state (data-inpage), status, question, and whether its Stop shows and its Run is disabled.
async function shot(page, name, selector, i = 0) {  // a screenshot with the element in view, when DRIVE_SHOT asks
  if (!process.env.DRIVE_SHOT) return;
  await page.evaluate((selector, i) => document.querySelectorAll(selector)[i].scrollIntoView({block: 'center'}), selector, i);
  await page.screenshot({path: `${process.env.DRIVE_SHOT}-${name}.png`});
}
const cellState = (page, i) => page.evaluate(i => {
  const cell = [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i];
  return {state: cell.dataset.inpage, how: cell.dataset.inpageStop, status: cell.querySelector('.inpage-status').textContent,
          question: cell.querySelector('.inpage-question').textContent, stopShown: !cell.querySelector('.inpage-stop').hidden,
          runDisabled: cell.querySelector('.inpage-run').disabled};
}, i);
const pressIn = (page, i, selector) => page.evaluate((i, selector) => [...document.querySelectorAll('div.cell')]
  .filter(c => c.querySelector('.inpage-run'))[i].querySelector(selector).click(), i, selector);
const waitState = (page, i, states, timeout = 30000) => page.waitForFunction((i, states) => states.includes(
  [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i].dataset.inpage),
  {timeout, polling: 50}, i, states);
async function editCode(page, i, code) {  // open cell i's editor and type code in it
  await pressIn(page, i, '.inpage-edit');
  const editor = await page.evaluateHandle(i => [...document.querySelectorAll('div.cell')]
    .filter(c => c.querySelector('.inpage-run'))[i].querySelector('textarea.inpage-editor'), i);
  await editor.evaluate(e => { e.value = ''; e.focus(); });
  await page.keyboard.type(code);
  return editor;
}

async function lessonReady(page, base, name) {
  await page.goto(base + name, {waitUntil: 'load'});
  await page.waitForFunction(() => window.microgptInpage || document.querySelector('.inpage-bar'), {timeout: 30000});
}

// The playground's buttons and switches.
const clickButton = (page, text) => page.evaluate(text => [...document.querySelectorAll('#microgpt-playground button')]
  .find(b => b.textContent === text).click(), text);
async function typeInto(page, selector, text) {
  await page.click(selector, {clickCount: 3});
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
}
async function trainRun(page, steps) {  // press Train for `steps` steps and wait until the run is done
  const before = Number(await page.$eval('#microgpt-playground', box => box.dataset.runs || 0));
  await page.$eval('#pg-training-steps', (input, steps) => { input.value = steps; }, String(steps));
  await clickButton(page, 'Train');
  await page.waitForFunction(n => {  // done, or stopped with a message
    const status = document.querySelector('#pg-train-status').textContent;
    return (document.querySelector('#microgpt-playground').dataset.runs === String(n) && status.startsWith('Done'))
      || /^(?!Starting|Working|step \d|Measuring|Done)./.test(status);
  }, {timeout: CELL_TIMEOUT * 4, polling: 100}, before + 1);
  const status = await page.$eval('#pg-train-status', s => s.textContent);
  if (!status.startsWith('Done')) throw new Error(`playground: ${status}`);
  return (await page.$eval('#pg-losses', p => p.textContent)).trim().split('\n').map(l => l.split('loss ')[1]);
}
// What the "two runs" part shows: the table's rows, the legend, the chart's description, how many curves it drew,
// and how many of its pixels have each run's colour.
const runsShown = page => page.evaluate(() => {
  const canvas = document.querySelector('#pg-curve');
  const {data} = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const near = ([r, g, b], i) => Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40;
  const pixels = [[0xb3, 0x59, 0x00], [0x1f, 0x5f, 0x99]].map(colour => {
    let n = 0;
    for (let i = 0; i < data.length; i += 4) n += near(colour, i);
    return n;
  });
  return {rows: [...document.querySelectorAll('#pg-runs tbody tr')].map(tr => [...tr.children].map(td => td.textContent)),
          legend: [...document.querySelectorAll('#pg-legend li')].map(li => li.textContent),
          caption: (document.querySelector('#pg-runs caption') || {}).textContent,
          description: canvas.getAttribute('aria-label'), curves: Number(canvas.dataset.curves), pixels,
          timing: document.querySelector('#pg-timing').textContent};
});

const commands = {
  async pages(page, base, names) {
    const result = [];
    for (const name of names) {
      await lessonReady(page, base, name);
      const count = await page.evaluate(() => document.querySelectorAll('.inpage-run').length);
      const raises = await page.evaluate(() => [...document.querySelectorAll('div.cell')]
        .filter(c => c.querySelector('.inpage-run')).map(c => c.classList.contains('tag_raises-exception')));
      const before = [];
      for (let i = 0; i < count; i++) before.push(await outputs(page, i));
      const cells = [];
      for (let i = 0; i < count; i++) {
        const began = Date.now();
        const run = await runCell(page, i);
        cells.push({n: i, raises: raises[i], static: before[i], got: await outputs(page, i), seconds: (Date.now() - began) / 1000, ...run});
      }
      const onlyJupyter = await page.evaluate(() => document.querySelectorAll('.inpage-bar:not([role])').length);
      result.push({page: name, cells, onlyJupyter});
    }
    return result;
  },
  async edit(page, base, [name, n, code]) {
    await lessonReady(page, base, name);
    const i = Number(n);
    const before = await outputs(page, i);
    await page.evaluate(i => [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i]
      .querySelector('.inpage-edit').click(), i);
    await page.focus('textarea.inpage-editor');
    await page.evaluate(() => { document.querySelector('textarea.inpage-editor').value = ''; });
    await page.keyboard.type(code);
    const run = await runCell(page, i);
    const edited = await outputs(page, i);
    await page.evaluate(i => [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i]
      .querySelector('.inpage-reset').click(), i);
    return {before, edited, run, reset: await outputs(page, i),
            editorGone: await page.evaluate(() => !document.querySelector('textarea.inpage-editor'))};
  },
  async file(page, base, [name], site) {
    await page.goto('file://' + path.join(site, name), {waitUntil: 'load'});
    await page.waitForSelector('.inpage-run');
    await page.click('.inpage-run');
    return {message: await page.$eval('.inpage-status', s => s.textContent)};
  },
  async playground(page, base, [steps]) {
    await page.goto(base + 'book/appendix/playground.html', {waitUntil: 'load'});
    await page.waitForSelector('#microgpt-playground button');
    const click = text => page.evaluate(text => [...document.querySelectorAll('#microgpt-playground button')]
      .find(b => b.textContent === text).click(), text);
    const done = async sel => {
      await page.waitForFunction(sel => !/^(Starting|Working)|^$/.test(document.querySelector(sel).textContent),
        {timeout: CELL_TIMEOUT, polling: 50}, sel);
      const text = await page.$eval(sel, s => s.textContent);
      if (!text.startsWith('Done')) throw new Error(`playground: ${text}`);
    };
    let began = Date.now();
    await click('Invent names');
    await done('#microgpt-playground p.inpage-status');
    const firstNames = (Date.now() - began) / 1000;
    const names = await page.$$eval('#pg-names li', items => items.map(li => li.textContent));
    began = Date.now();
    await page.evaluate(() => document.querySelectorAll('#microgpt-playground p.inpage-status')[0].textContent = '');
    await click('Invent names');
    await done('#microgpt-playground p.inpage-status');
    const namesAgain = (Date.now() - began) / 1000;
    await click('Explain one name');
    await page.waitForSelector("#pg-explain table", {timeout: CELL_TIMEOUT}).catch(async err => { throw new Error(err.message + " status: " + await page.$eval("#microgpt-playground p.inpage-status", s => s.textContent)); });
    const explainRows = await page.$$eval('#pg-explain tbody tr', rows => rows.length);
    await page.$eval('#pg-training-steps', (input, steps) => { input.value = steps; }, steps);
    began = Date.now();
    await click('Train');
    await page.waitForFunction(steps => document.querySelector('#microgpt-playground').dataset.trained === String(steps),
      {timeout: CELL_TIMEOUT * 4, polling: 100}, steps);
    const trainSeconds = (Date.now() - began) / 1000;
    const losses = (await page.$eval('#pg-losses', p => p.textContent)).trim().split('\n').map(l => l.split('loss ')[1]);
    const perStep = Number(await page.$eval('#microgpt-playground', box => box.dataset.secondsPerStep));
    const trainStatus = await page.$eval('#pg-train-status', s => s.textContent);
    const heldout = await page.$eval('#microgpt-playground', box => box.dataset.heldout);
    return {names, firstNames, namesAgain, explainRows, losses, trainSeconds, perStep, trainStatus, heldout};
  },
  async switches(page, base, [steps]) {
    await page.goto(base + 'book/appendix/playground.html', {waitUntil: 'load'});
    await page.waitForSelector('#pg-part-mlp');
    const losses = [];
    await page.click('#pg-part-mlp');
    losses.push(await trainRun(page, steps));
    const afterOne = await runsShown(page);
    await page.click('#pg-part-mlp');
    await page.click('#pg-optimizer-plain');
    await typeInto(page, '#pg-learning-rate', 'abc');
    const refusedRate = await page.$eval('#pg-learning-rate-message', m => m.textContent);
    await clickButton(page, 'Train');
    const notStarted = await page.$eval('#pg-train-status', s => s.textContent);
    await typeInto(page, '#pg-learning-rate', '0.1');
    await typeInto(page, '#pg-seed', '1');
    losses.push(await trainRun(page, steps));
    const afterTwo = await runsShown(page);
    await clickButton(page, 'Switches as in the program');
    losses.push(await trainRun(page, 2));
    const afterThree = await runsShown(page);
    const refusals = [];  // [switch turned off second, still on?, its message] for each refused combination
    for (const [first, second] of [['residual', 'attention'], ['residual', 'mlp'], ['attention', 'residual'], ['mlp', 'residual']]) {
      await clickButton(page, 'Switches as in the program');
      await page.click(`#pg-part-${first}`);
      await page.click(`#pg-part-${second}`);
      refusals.push(await page.evaluate((first, second) => [second, document.querySelector(`#pg-part-${second}`).checked,
        document.querySelector(`#pg-part-${first}`).checked, document.querySelector(`#pg-part-${second}-message`).textContent],
      first, second));
    }
    return {losses, afterOne, afterTwo, afterThree, refusedRate, notStarted, refusals};
  },
  async stop(page, base, [name]) {
    await lessonReady(page, base, name);
    const count = await page.evaluate(() => document.querySelectorAll('.inpage-run').length);
    const last = count - 1;
    const book = {first: await outputs(page, 0), last: await outputs(page, last)};
    await editCode(page, last, 'while True:\n    pass');
    await page.keyboard.down('Shift'); await page.keyboard.press('Enter'); await page.keyboard.up('Shift');  // runs it
    await waitState(page, last, ['running']);
    await page.waitForFunction(last => [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[last]
      .querySelector('.inpage-status').textContent === 'Running…', {timeout: 60000, polling: 50}, last);
    const running = await cellState(page, last);
    await pressIn(page, 0, '.inpage-run');
    const waiting = await cellState(page, 0);
    await new Promise(done => setTimeout(done, 1000));
    let began = Date.now();
    await pressIn(page, last, '.inpage-stop');
    await waitState(page, last, ['stopped']);
    const stopSeconds = (Date.now() - began) / 1000;
    const stopped = await cellState(page, last), notRun = await cellState(page, 0);
    const stoppedOutput = await outputs(page, last);
    await shot(page, 'stopped', 'div.cell .inpage-bar', last);
    const first = await runCell(page, 0);  // every other Run button works
    const firstOutput = await outputs(page, 0);
    // the time limit, shortened: the question, then, unanswered, the cell stops
    await page.evaluate(() => Object.assign(window.microgptInpage.limits, {ask: 1, unanswered: 2}));
    began = Date.now();
    await pressIn(page, last, '.inpage-run');
    await page.waitForFunction(last => [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[last]
      .querySelector('.inpage-question').textContent, {timeout: 60000, polling: 50}, last);
    const asked = await cellState(page, last);
    await shot(page, 'asked', 'div.cell .inpage-bar', last);
    await waitState(page, last, ['stopped']);
    const unanswered = {...await cellState(page, last), seconds: (Date.now() - began) / 1000};
    await page.evaluate(() => Object.assign(window.microgptInpage.limits, {ask: 60, unanswered: 300}));
    await pressIn(page, last, '.inpage-reset');
    const reset = await cellState(page, last);
    const again = await runCell(page, last);
    return {book, running, waiting, stopSeconds, stopped, notRun, stoppedOutput, first, firstOutput, asked, unanswered, reset,
            again, lastOutput: await outputs(page, last),
            mode: await page.evaluate(() => document.documentElement.dataset.inpageStop)};
  },
  async limits(page, base, [name]) {
    await lessonReady(page, base, name);
    const result = {};
    for (const [key, code] of [['long', 'for i in range(5000):\n    print(i)'], ['input', 'name = input("Your name? ")'],
                               ['numpy', 'import numpy']]) {
      await editCode(page, 0, code);
      const run = await runCell(page, 0);
      result[key] = {run, output: await outputs(page, 0), cut: await page.evaluate(() => {
        const note = document.querySelector('div.cell .inpage-cut');
        return note && note.textContent;
      })};
      if (key === 'long') {
        result.long.shownLines = (await outputs(page, 0))[0].trim().split('\n').length;
        await page.click('div.cell .inpage-show-all');
        result.long.allLines = (await outputs(page, 0))[0].trim().split('\n').length;
      }
    }
    return result;
  },
  async validate(page, base) {
    await page.goto(base + 'book/appendix/playground.html', {waitUntil: 'load'});
    await page.waitForSelector('#pg-temperature');
    const said = async (selector) => page.$eval(`${selector}-message`, m => m.textContent);
    const status = () => page.$eval('#pg-status', s => s.textContent);
    const settled = () => page.waitForFunction(() => !/^(Starting|Working)/.test(document.querySelector('#pg-status').textContent),
      {timeout: CELL_TIMEOUT, polling: 50});
    await clickButton(page, 'Invent names');  // a good request first: its names must not outlive a refused one
    await settled();
    const namesBefore = await page.$$eval('#pg-names li', items => items.length);
    const fields = {};
    for (const [selector, values] of [['#pg-temperature', ['0', '-1', '1e9']], ['#pg-how-many-names', ['2.5', '100000', '0']],
                                      ['#pg-first-letters-optional-', ['m4', 'é']]]) {
      fields[selector] = [];
      for (const value of values) {
        await typeInto(page, selector, value);
        const message = await said(selector);
        await clickButton(page, 'Invent names');
        fields[selector].push({value, message, invalid: await page.$eval(selector, i => i.getAttribute('aria-invalid')),
                               status: await status(), names: await page.$$eval('#pg-names li', items => items.length)});
      }
      await typeInto(page, selector, {'#pg-temperature': '0.5', '#pg-how-many-names': '20'}[selector] || '');
      fields[selector].push({value: 'good', message: await said(selector)});
    }
    await page.select('#pg-model', 'own');  // before any training
    const own = {message: await said('#pg-model')};
    await clickButton(page, 'Explain one name');
    own.status = await status();
    if (process.env.DRIVE_SHOT) {  // every sampling field refused at once
      for (const [selector, value] of [['#pg-temperature', '0'], ['#pg-how-many-names', '2.5'], ['#pg-first-letters-optional-', 'm4']]) {
        await typeInto(page, selector, value);
      }
      await clickButton(page, 'Invent names');
      await shot(page, 'fields', '#pg-temperature');
      await typeInto(page, '#pg-temperature', '0.5');
      await typeInto(page, '#pg-how-many-names', '20');
      await typeInto(page, '#pg-first-letters-optional-', '');
    }
    await page.select('#pg-model', 'book');
    await typeInto(page, '#pg-training-steps', '10000000');
    const steps = {message: await said('#pg-training-steps')};
    await clickButton(page, 'Train');
    steps.status = await page.$eval('#pg-train-status', s => s.textContent);
    await shot(page, 'steps', '#pg-training-steps');
    await typeInto(page, '#pg-training-steps', '20');
    steps.good = await said('#pg-training-steps');
    // a long sampling, stopped
    await typeInto(page, '#pg-how-many-names', '100');
    await typeInto(page, '#pg-temperature', '3');
    await clickButton(page, 'Invent names');
    await new Promise(done => setTimeout(done, 300));
    const stopEnabled = await page.$eval('#pg-sample-stop', b => !b.disabled);
    const began = Date.now();
    await page.click('#pg-sample-stop');
    await settled();
    const stopped = {status: await status(), seconds: (Date.now() - began) / 1000, stopEnabled,
                     buttonsBack: await page.$eval('#pg-sample-stop', b => b.disabled)};
    await typeInto(page, '#pg-how-many-names', '3');
    await clickButton(page, 'Invent names');
    await settled();
    const after = {status: await status(), names: await page.$$eval('#pg-names li', items => items.length)};
    // 400 px wide, with a name explained
    await page.setViewport({width: 400, height: 900});
    await clickButton(page, 'Explain one name');
    await page.waitForSelector('#pg-explain table', {timeout: CELL_TIMEOUT});
    await shot(page, 'narrow', '#pg-explain table');
    const narrow = await page.evaluate(() => ({scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth,
      playground: document.querySelector('#microgpt-playground').getBoundingClientRect().right}));
    return {namesBefore, fields, own, steps, stopped, after, narrow};
  },
  async console(page, base, names, site, log) {
    const result = {};
    for (const name of names) {
      log.length = 0;
      await page.goto(base + name, {waitUntil: 'load'});
      await page.keyboard.press('Tab');
      const firstTab = await page.evaluate(() => ({text: document.activeElement.textContent.trim(),
        href: document.activeElement.getAttribute('href')}));
      if (name.includes('playground')) {
        await page.waitForSelector('#microgpt-playground button');
        await clickButton(page, 'Invent names');
        await page.waitForFunction(() => /^(Done|Stopped)/.test(document.querySelector('#pg-status').textContent), {timeout: CELL_TIMEOUT});
      } else if (await page.$('.inpage-run')) {
        await runCell(page, 0);
      }
      await new Promise(done => setTimeout(done, 300));
      result[name] = {log: [...log], firstTab, icon: await page.evaluate(() => {
        const link = document.querySelector('link[rel~="icon"]');
        return link && link.href;
      })};
    }
    return result;
  },
  async bench(page, base, [name]) {
    await lessonReady(page, base, name);  // warms the cache: Pyodide's files are fetched once
    let began = Date.now();
    await runCell(page, 0);
    const cold = (Date.now() - began) / 1000;
    await lessonReady(page, base, name);  // a fresh page: a new worker, a new Python
    began = Date.now();
    const run = await runCell(page, 0);
    return {seconds: (Date.now() - began) / 1000, cold, run,
            startup: Number(await page.evaluate(() => document.documentElement.dataset.inpageStartSeconds))};
  },
  async axe(page, base, names) {
    const axe = fs.readFileSync(require.resolve('axe-core/axe.min.js', {paths: [path.join(__dirname, '..', 'a11y')]}), 'utf8');
    const result = {};
    for (const [name, mode] of names.flatMap(n => [[n, 'light'], [n, 'dark']])) {
      await page.evaluateOnNewDocument(m => localStorage.setItem('mode', m), mode);  // as the theme's button stores it
      await lessonReady(page, base, name);
      if (name.includes('playground')) {
        await page.evaluate(() => [...document.querySelectorAll('#microgpt-playground button')].find(b => b.textContent === 'Explain one name').click());
        await page.waitForSelector('#pg-explain table', {timeout: CELL_TIMEOUT});
        await page.$eval('#pg-training-steps', input => { input.value = 2; });
        await page.evaluate(() => [...document.querySelectorAll('#microgpt-playground button')].find(b => b.textContent === 'Train').click());
        await page.waitForFunction(() => document.querySelector('#microgpt-playground').dataset.trained === '2', {timeout: CELL_TIMEOUT});
        await page.click('#pg-part-residual');  // a refused switch and a refused learning rate, with their messages
        await page.click('#pg-part-attention');
        await page.click('#pg-optimizer-plain');
        await typeInto(page, '#pg-learning-rate', '-1');
      } else {
        await runCell(page, 0);
        await page.evaluate(() => document.querySelector('.inpage-edit').click());
      }
      await page.evaluate(axe);
      result[`${name} (${mode})`] = await page.evaluate(() => axe.run(document).then(r => r.violations
        .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))));
    }
    return result;
  },
  async screenshot(page, base, [name, png, run]) {
    await page.setViewport({width: Number(process.env.DRIVE_WIDTH || 1200), height: 1600});
    if (process.env.DRIVE_MODE) await page.evaluateOnNewDocument(m => localStorage.setItem('mode', m), process.env.DRIVE_MODE);
    await lessonReady(page, base, name);
    if (name.includes('playground')) {
      await page.evaluate(() => [...document.querySelectorAll('#microgpt-playground button')].find(b => b.textContent === 'Explain one name').click());
      await page.waitForSelector("#pg-explain table", {timeout: CELL_TIMEOUT}).catch(async err => { throw new Error(err.message + " status: " + await page.$eval("#microgpt-playground p.inpage-status", s => s.textContent)); });
      if (run) {  // train RUN steps of the program and RUN with the MLP off, refuse a switch, show the two runs
        await trainRun(page, run);
        await page.click('#pg-part-mlp');
        await trainRun(page, run);
        await page.click('#pg-part-mlp');
        await page.click('#pg-part-residual');
        await page.click('#pg-part-attention');
        await page.evaluate(() => document.querySelector('#microgpt-playground h2:nth-of-type(2)').scrollIntoView());
      } else await page.evaluate(() => document.querySelector('#microgpt-playground').scrollIntoView());
    } else if (run) {
      const i = Number(run);
      await runCell(page, i);
      await page.evaluate(i => [...document.querySelectorAll('div.cell')].filter(c => c.querySelector('.inpage-run'))[i].scrollIntoView(), i);
    }
    await page.screenshot({path: png, fullPage: !!process.env.DRIVE_FULL});
    return {png};
  },
};

async function main() {
  const [site, command, ...args] = process.argv.slice(2);
  const root = path.resolve(site);
  const server = await serve(root);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    protocolTimeout: 0,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--allow-file-access-from-files',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  const external = [], errors = [], log = [];  // log: every console error, page error and failed request
  try {
    const page = await browser.newPage();
    // No request interception (it stalls a Web Worker's requests): chromium resolves no host but 127.0.0.1,
    // and every request for another host is listed.
    page.on('request', req => {
      const url = req.url();
      if (!(url.startsWith(base) || url.startsWith('file://') || url.startsWith('data:') || url.startsWith('blob:'))) external.push(url);
    });
    page.on('pageerror', err => { if (/inpage/.test(err.stack || '')) errors.push(String(err.stack)); });  // the theme's own are not ours
    page.on('pageerror', err => log.push(`page error: ${err.message}`));
    page.on('console', msg => { if (msg.type() === 'error') log.push(`console: ${msg.text()}`); });
    page.on('requestfailed', req => { if (req.url().startsWith(base)) log.push(`failed: ${req.url()}`); });
    page.on('response', res => { if (res.status() >= 400) log.push(`HTTP ${res.status()}: ${res.url()}`); });
    const result = await commands[command](page, base, args, root, log);
    console.log(JSON.stringify({result, external, errors}));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch(err => { console.error(err); process.exit(2); });
