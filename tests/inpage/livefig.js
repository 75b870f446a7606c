// Plays with the live figures of a built book in Debian's chromium (puppeteer-core, as drive.js), for
// tests/test_livefig.py:
//   node livefig.js SITE PAGE ACTIONS_JSON [WIDTH]
// opens PAGE (WIDTH px wide, 1200 if not given) and does each action on the page's first live figure, in order;
// after each it waits until the figure has computed and records what Python answered (box.livefig.last), the
// figure's text, its status and its state. Actions:
//   {"start": true}                          press the figure's Start button
//   {"type": [LABEL, TEXT]}                  clear the field labelled LABEL and type TEXT (keystrokes)
//   {"slider": [LABEL, VALUE]}               set the slider labelled LABEL to VALUE (as a drag does: an input event)
//   {"key": [LABEL, KEY, TIMES]}             focus the control labelled LABEL and press KEY TIMES times
//   {"radio": LABEL}                         press the radio button labelled LABEL (by the keyboard: focus, Space)
//   {"shot": PNG}                            a screenshot of the viewport with the figure in view
//   {"axe": true}                            axe-core (tests/a11y's copy) over the page: its findings
// Also: whether the page overflows sideways, every console error, page error and failed request (as drive.js).
const path = require('path');
const fs = require('fs');
const {serve, launch} = require('./serve');
const TIMEOUT = 300000;

const control = (page, label) => page.evaluateHandle(label => {
  const box = document.querySelector('div.livefig');
  const found = [...box.querySelectorAll('label')].find(l => l.textContent === label);
  if (!found) throw new Error(`no control labelled ${label}`);
  return document.getElementById(found.htmlFor);
}, label);

async function settle(page) {  // until the figure has answered the last change
  await page.waitForFunction(() => {
    const box = document.querySelector('div.livefig');
    return box.dataset.state && box.dataset.state !== 'computing';
  }, {timeout: TIMEOUT, polling: 50});
  return page.evaluate(() => {
    const box = document.querySelector('div.livefig');
    return {state: box.dataset.state, last: box.livefig.last, drawn: Number(box.dataset.drawn),
            status: box.querySelector('.livefig-status').textContent,
            text: box.querySelector('.livefig-figure').innerText,
            checked: [...box.querySelectorAll('input[type=radio]')].filter(r => r.checked).map(r => r.value)};
  });
}

const ACTIONS = {
  async start(page) {
    await page.click('div.livefig .livefig-start');
    return settle(page);
  },
  async type(page, [label, text]) {
    const field = await control(page, label);
    await field.evaluate(f => { f.focus(); f.select(); });
    await page.keyboard.press('Backspace');
    await page.keyboard.type(text);
    return settle(page);
  },
  async slider(page, [label, value]) {
    const field = await control(page, label);
    await field.evaluate((f, value) => { f.value = String(value); f.dispatchEvent(new Event('input', {bubbles: true})); }, value);
    return settle(page);
  },
  async key(page, [label, key, times = 1]) {
    const field = await control(page, label);
    await field.evaluate(f => f.focus());
    for (let i = 0; i < times; i++) await page.keyboard.press(key);
    const result = await settle(page);
    result.value = await field.evaluate(f => f.value);
    return result;
  },
  async radio(page, label) {
    const field = await control(page, label);
    await field.evaluate(f => f.focus());
    await page.keyboard.press('Space');
    return settle(page);
  },
  async shot(page, png) {
    await page.evaluate(() => document.querySelector('div.livefig').scrollIntoView({block: 'start'}));
    await page.evaluate(() => window.scrollBy(0, -60));
    await page.screenshot({path: png});
    return {png};
  },
  async axe(page) {
    const axe = fs.readFileSync(require.resolve('axe-core/axe.min.js', {paths: [path.join(__dirname, '..', 'a11y')]}), 'utf8');
    await page.evaluate(axe);
    return page.evaluate(() => axe.run(document).then(r => r.violations
      .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))));
  },
};

async function main() {
  const [site, name, actionsJson, width] = process.argv.slice(2);
  const root = path.resolve(site);
  const server = await serve(root);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await launch();
  const log = [], external = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({width: Number(width || 1200), height: 1000});
    if (process.env.DRIVE_MODE) await page.evaluateOnNewDocument(m => localStorage.setItem('mode', m), process.env.DRIVE_MODE);
    page.on('request', req => { const url = req.url(); if (!(url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:'))) external.push(url); });
    page.on('pageerror', err => log.push(`page error: ${err.message}`));
    page.on('console', msg => { if (msg.type() === 'error' || msg.type() === 'warning') log.push(`console ${msg.type()}: ${msg.text()}`); });
    page.on('requestfailed', req => { if (req.url().startsWith(base)) log.push(`failed: ${req.url()}`); });
    page.on('response', res => { if (res.status() >= 400) log.push(`HTTP ${res.status()}: ${res.url()}`); });
    await page.goto(base + name, {waitUntil: 'load'});
    await page.waitForSelector('div.livefig .livefig-start');
    const before = await page.evaluate(() => ({state: document.querySelector('div.livefig').dataset.state || '',
      static: !!document.querySelector('div.livefig').previousElementSibling}));
    const results = [];
    for (const action of JSON.parse(actionsJson)) {
      const [kind, arg] = Object.entries(action)[0];
      results.push(await ACTIONS[kind](page, arg));
    }
    const overflow = await page.evaluate(() => ({scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth,
      box: Math.round(document.querySelector('div.livefig').getBoundingClientRect().right)}));
    console.log(JSON.stringify({result: {before, results, overflow, log}, external}));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch(err => { console.error(err); process.exit(2); });
