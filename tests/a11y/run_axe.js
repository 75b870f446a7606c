// Runs axe-core over every HTML page of a built site, in the light and in the dark colour mode, and prints
// the violations per rule and per page (A11Y_VERBOSE=1 adds the elements).
// Usage: node run_axe.js SITE_DIR   (make a11y runs it on _build/html). Exit code 1 when anything is found,
// 2 when the check itself could not run.
// The browser is Debian's chromium (CHROMIUM overrides the path); puppeteer-core never downloads one.
// Pages are served from a tiny HTTP server on 127.0.0.1, and requests to any other host are refused.

const fs = require('fs');
const http = require('http');
const path = require('path');
const puppeteer = require('puppeteer-core');

// Each page is checked in both modes, chosen the way the theme's colour-mode button stores them.
const MODES = ['light', 'dark'];
const TYPES = {'.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml',
               '.png': 'image/png', '.woff2': 'font/woff2', '.woff': 'font/woff', '.json': 'application/json'};

function pages(dir, root = dir) {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('_') ? [] : pages(full, root);
    const redirect = /http-equiv="refresh"/i;  // a page that only forwards to another one is not read
    return entry.name.endsWith('.html') && !redirect.test(fs.readFileSync(full, 'utf8')) ? [path.relative(root, full)] : [];
  }).sort();
}

function serve(root) {
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); return res.end();
    }
    res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream'});
    fs.createReadStream(file).pipe(res);
  });
  return new Promise(done => server.listen(0, '127.0.0.1', () => done(server)));
}

async function main() {
  const root = path.resolve(process.argv[2] || '../../_build/html');
  const server = await serve(root);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const axe = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const byRule = {}, byPage = {};
  const names = pages(root);
  try {
    for (const mode of MODES) {
      const page = await browser.newPage();
      await page.evaluateOnNewDocument(m => localStorage.setItem('mode', m), mode);
      await page.setRequestInterception(true);
      page.on('request', req => (req.url().startsWith(base) ? req.continue() : req.abort()));
      for (const name of names) {
        await page.goto(base + name, {waitUntil: 'load'});
        const theme = await page.evaluate(() => document.documentElement.dataset.theme);
        if (theme !== mode) throw new Error(`${name}: asked for the ${mode} mode, the page shows ${theme}`);
        await page.evaluate(axe);
        const found = await page.evaluate(() => axe.run(document).then(r => r.violations
          .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))));
        for (const v of found) {
          const rule = byRule[v.id] ||= {impact: v.impact, nodes: 0, pages: 0};
          rule.nodes += v.nodes.length; rule.pages += 1;
          (byPage[`${name} (${mode})`] ||= {})[v.id] = v.nodes;
        }
      }
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log('violations by rule (elements, pages in a colour mode):');
  for (const [id, r] of Object.entries(byRule).sort()) console.log(`  ${id} [${r.impact}]: ${r.nodes} on ${r.pages} pages`);
  console.log('violations by page:');
  for (const [name, rules] of Object.entries(byPage)) {
    console.log(`  ${name}: ` + Object.entries(rules).map(([id, nodes]) => `${id} ${nodes.length}`).join(', '));
    if (process.env.A11Y_VERBOSE) for (const [id, nodes] of Object.entries(rules)) console.log(`    ${id}: ${nodes.slice(0, 5).join(' | ')}`);
  }
  const total = Object.values(byRule).reduce((sum, r) => sum + r.nodes, 0);
  const checks = names.length * MODES.length;
  console.log(`${total} violations in ${Object.keys(byPage).length} of ${checks} checks (${names.length} pages, each in ${MODES.join(' and ')} mode)`);
  process.exitCode = total ? 1 : 0;
}

main().catch(err => { console.error(err); process.exit(2); });
