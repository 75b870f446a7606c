// Run, edit and reset the code cells of a lesson page in the reader's browser; and the playground page.
// Written by book/_ext/inpage.py's pages: a <meta name="microgpt-inpage"> names the page's cells
// (_inpage/cells/<page>.json, every code cell in page order, hidden ones included) and the folder of the
// runtime. Python (Pyodide) starts in a Web Worker (inpage-worker.js) the first time a reader presses Run.
// The cells share one namespace and run in page order: running a cell first runs the cells before it
// that have not run, the hidden setup cells included. No framework, no bundler, nothing from other hosts.
(() => {
  'use strict';
  const meta = document.querySelector('meta[name="microgpt-inpage"]');
  if (!meta) return;
  const root = new URL(meta.dataset.root, location.href).href;
  const page = meta.dataset.page;
  const overFile = location.protocol === 'file:';
  const FILE_MESSAGE = 'Python runs in the page only when the book is served over HTTP: browsers refuse to ' +
    'load WebAssembly from a file:// address. In the book\'s folder run "make serve" and open ' +
    'http://127.0.0.1:8000/ (or serve _build/html with any web server).';

  // ---------------------------------------------------------------- the worker
  let worker = null, nextId = 0, started = null;
  const waiting = new Map();
  function ask(message) {
    if (!worker) {
      worker = new Worker(new URL('_static/inpage-worker.js', new URL('..', root)).href);
      worker.onmessage = event => {
        const {id, result, failed} = event.data;
        const [resolve, reject] = waiting.get(id);
        waiting.delete(id);
        failed === undefined ? resolve(result) : reject(new Error(failed));
      };
      worker.onerror = event => { for (const [, [, reject]] of waiting) reject(new Error(event.message)); waiting.clear(); };
    }
    const id = nextId++;
    return new Promise((resolve, reject) => { waiting.set(id, [resolve, reject]); worker.postMessage({...message, id}); });
  }
  function start() {
    if (overFile) return Promise.reject(new Error(FILE_MESSAGE));
    return (started ||= ask({op: 'start', root, page}).then(seconds => {
      document.documentElement.dataset.inpageStartSeconds = seconds.toFixed(2);  // Python's start-up, for make bench
      return seconds;
    }));
  }
  const call = (fn, ...args) => start().then(() => ask({op: 'call', fn, args}));

  function element(tag, props = {}, children = []) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }
  function outputBlock(kind, text) {
    if (kind === 'markdown') return markdownBlock(text);
    text = text.replace(/^\n+|\n+$/g, '') + '\n';  // as the build's highlighter shows every output
    const pre = element('pre', {textContent: text});
    return element('div', {className: `output inpage-${kind}${kind === 'stdout' ? ' stream' : ''}`},
                   [element('div', {className: 'highlight'}, [pre])]);
  }
  // Markdown a cell displays: a pipe table becomes a table, anything else a paragraph; `code` stays code
  // (pagert.py already wrote {lines} and {ref} roles as the book shows them; another role shows its text).
  function inline(text) {
    const parts = text.replace(/\{[a-z:-]+\}`([^`]*)`/g, '$1').split(/`([^`]*)`/);
    // outside code, ** goes and an apostrophe curls, as the build's smart quotes do
    return parts.map((part, i) => (i % 2 ? element('code', {textContent: part}) : part.replace(/\*\*/g, '').replace(/(\w)'/g, '$1\u2019')));
  }
  function markdownBlock(text) {
    const lines = text.trim().split('\n');
    const cellsOf = line => line.trim().replace(/^\||\|$/g, '').split('|').map(c => c.trim());
    if (lines.length > 1 && /^\s*\|?\s*:?-{3,}/.test(lines[1])) {
      const right = cellsOf(lines[1]).map(c => c.endsWith(':'));
      const row = (line, tag) => element('tr', {}, cellsOf(line).map((c, i) => element(tag,
        {className: right[i] ? 'text-right' : '', ...(tag === 'th' ? {scope: 'col'} : {})}, [element('p', {}, inline(c))])));
      return element('div', {className: 'output inpage-markdown'}, [element('table', {className: 'table'}, [
        element('thead', {}, [row(lines[0], 'th')]), element('tbody', {}, lines.slice(2).map(l => row(l, 'td')))])]);
    }
    return element('div', {className: 'output inpage-markdown'}, text.trim().split(/\n\s*\n/).map(p => element('p', {}, inline(p))));
  }

  // ---------------------------------------------------------------- lesson pages
  async function lessonPage() {
    const cells = (await (await fetch(meta.content)).json()).cells;
    const shown = [...document.querySelectorAll('div.cell')];
    const visible = cells.filter(c => c.shown);
    if (visible.length !== shown.length) {
      console.warn(`inpage: ${visible.length} cells in the page's list, ${shown.length} on the page`);
      return;
    }
    visible.forEach((cell, i) => { cell.node = shown[i]; });
    cells.forEach((cell, i) => { cell.index = i; cell.ran = false; });
    let queue = Promise.resolve();
    let number = 0;
    for (const cell of visible) {
      if (!cell.input) continue;  // its output is shown, its code is not: it runs, unseen, before later cells
      number += 1;
      const label = `cell ${number}`;
      const status = element('span', {className: 'inpage-status', role: 'status'});
      if (cell.jupyter_only) {
        status.textContent = `This cell runs only in Jupyter (${cell.jupyter_only}, which the page's Python ` +
          'does not include): download the notebook from the menu at the top of the page.';
        cell.node.prepend(element('div', {className: 'inpage-bar'}, [status]));
        continue;
      }
      const run = element('button', {type: 'button', className: 'inpage-run', textContent: '▶ Run',
                                     title: 'Run this cell in the page (and the cells before it)'});
      const edit = element('button', {type: 'button', className: 'inpage-edit', textContent: 'Edit',
                                      title: 'Edit the code of this cell'});
      const reset = element('button', {type: 'button', className: 'inpage-reset', textContent: 'Reset',
                                       title: 'Put back the code and the output the book printed'});
      run.setAttribute('aria-label', `Run ${label}`);
      edit.setAttribute('aria-label', `Edit ${label}`);
      reset.setAttribute('aria-label', `Reset ${label}`);
      cell.node.prepend(element('div', {className: 'inpage-bar', role: 'group', ariaLabel: `Python ${label}`},
                                [run, edit, reset, status]));
      const input = cell.node.querySelector('.cell_input');
      const staticOutput = cell.node.querySelector('.cell_output');
      const kept = staticOutput ? [...staticOutput.childNodes] : [];
      cell.status = status;
      cell.label = label;
      cell.code = () => cell.editor ? cell.editor.value : cell.source;
      cell.show = (outputs, note) => {
        let box = cell.node.querySelector('.cell_output');
        if (!box) box = element('div', {className: 'cell_output docutils container'}), input.after(box);
        box.replaceChildren(...outputs.map(([kind, text]) => outputBlock(kind, text)));
        if (note) box.append(element('p', {className: 'inpage-note', textContent: note}));
        box.classList.add('inpage-ran');
      };
      edit.onclick = () => {
        if (!cell.editor) {
          cell.editor = element('textarea', {className: 'inpage-editor', value: cell.source, spellcheck: false,
                                             rows: cell.source.split('\n').length + 1});
          cell.editor.setAttribute('aria-label', `Code of ${label}`);
          input.querySelector('.highlight').hidden = true;
          input.append(cell.editor);
        }
        cell.editor.focus();
      };
      reset.onclick = () => {
        if (cell.editor) cell.editor.remove(), cell.editor = null, input.querySelector('.highlight').hidden = false;
        const box = cell.node.querySelector('.cell_output');
        if (box && staticOutput) box.replaceChildren(...kept), box.classList.remove('inpage-ran');
        else if (box) box.remove();
        status.textContent = '';
      };
      run.onclick = () => { queue = queue.then(() => runThrough(cells, cell)); return queue; };
    }
    window.microgptInpage = {cells, start, call, run: i => visible[i].node.querySelector('.inpage-run').click()};
  }

  async function execute(cell) {
    const label = cell.label || 'hidden cell';
    const outputs = await ask({op: 'run', code: cell.code ? cell.code() : cell.source, label});
    cell.ran = true;
    return outputs;
  }

  async function runThrough(cells, target) {
    const status = target.status;
    target.node.dataset.inpage = 'running';
    const began = performance.now();
    try {
      if (!started) status.textContent = 'Starting Python in the page (the first time: about 12 MB)…';
      await start();
      const notes = [];
      for (const cell of cells.slice(0, target.index)) {
        if (cell.ran || cell.jupyter_only) continue;
        status.textContent = `Running the cells before this one (${cell.index + 1} of ${target.index})…`;
        const outputs = await execute(cell);
        if (cell.show) cell.show(outputs);
        const failed = outputs.find(([kind]) => kind === 'error');
        if (failed && !cell.shown) notes.push('A hidden cell of this page failed in the browser (' +
          failed[1].trim().split('\n').pop() + '): what it defines is missing.');
      }
      status.textContent = 'Running…';
      const outputs = await execute(target);
      target.show(outputs, notes.join(' '));
      status.textContent = `Ran in the page in ${((performance.now() - began) / 1000).toFixed(1)} s.`;
      target.node.dataset.inpage = 'done';
    } catch (err) {
      status.textContent = err.message;
      target.node.dataset.inpage = 'failed';
    }
  }

  // ---------------------------------------------------------------- the playground
  function playground(box) {
    const field = (labelText, input) => {
      input.id = 'pg-' + labelText.toLowerCase().replace(/[^a-z]+/g, '-');
      return element('p', {className: 'pg-field'}, [element('label', {htmlFor: input.id, textContent: labelText}), ' ', input]);
    };
    const temperature = element('input', {type: 'number', min: '0.05', max: '3', step: '0.05', value: '0.5'});
    const count = element('input', {type: 'number', min: '1', max: '100', step: '1', value: '20'});
    const prefix = element('input', {type: 'text', maxLength: 15, value: '', placeholder: 'e.g. ma'});
    const source = element('select', {}, [element('option', {value: 'book', textContent: 'the book\'s trained model'}),
                                          element('option', {value: 'own', textContent: 'your own model (train it below)'})]);
    const sampleButton = element('button', {type: 'button', textContent: 'Invent names'});
    const explainButton = element('button', {type: 'button', textContent: 'Explain one name'});
    const status = element('p', {className: 'inpage-status', role: 'status'});
    const names = element('ol', {className: 'pg-names', id: 'pg-names'});
    const explained = element('div', {className: 'pg-explain', id: 'pg-explain'});
    const steps = element('input', {type: 'number', min: '1', max: '1000', step: '1', value: '20'});
    const trainButton = element('button', {type: 'button', textContent: 'Train'});
    const stopButton = element('button', {type: 'button', textContent: 'Stop', disabled: true});
    const progress = element('progress', {max: 1, value: 0, id: 'pg-progress'});
    progress.setAttribute('aria-label', 'Training progress');
    const trainStatus = element('p', {className: 'inpage-status', role: 'status', id: 'pg-train-status'});
    const canvas = element('canvas', {width: 640, height: 240, className: 'pg-curve', id: 'pg-curve'});
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'Loss curve of your training run');
    const losses = element('pre', {className: 'pg-losses', id: 'pg-losses'});
    box.replaceChildren(
      element('h2', {textContent: 'Invent names'}),
      field('Temperature', temperature), field('How many names', count), field('First letters (optional)', prefix),
      field('Model', source), element('p', {}, [sampleButton, ' ', explainButton]), status, names, explained,
      element('h2', {textContent: 'Train it yourself'}),
      field('Training steps', steps), element('p', {}, [trainButton, ' ', stopButton, ' ', progress]), trainStatus,
      canvas, element('details', {}, [element('summary', {textContent: 'Every loss, as the program prints it'}), losses]));

    const settings = () => [Number(temperature.value), Number(count.value), prefix.value, source.value === 'own'];
    const busy = async (where, what) => {
      where.textContent = overFile ? FILE_MESSAGE : (started ? 'Working…' : 'Starting Python in the page (the first time: about 12 MB)…');
      const began = performance.now();
      try {
        const said = await what();
        where.textContent = `Done in ${((performance.now() - began) / 1000).toFixed(2)} s.${said ? ' ' + said : ''}`;
      }
      catch (err) { where.textContent = err.message.split('\n').filter(Boolean).pop(); }
    };
    sampleButton.onclick = () => busy(status, async () => {
      const [t, n, p, own] = settings();
      const list = await call('sample', t, n, p, own);
      names.replaceChildren(...list.map(name => element('li', {textContent: name})));
      explained.replaceChildren();
    });
    explainButton.onclick = () => busy(status, async () => {
      const [t, , p, own] = settings();
      drawExplanation(explained, await call('explain', t, p, own));
    });
    let stop = false;
    stopButton.onclick = () => { stop = true; };
    trainButton.onclick = () => busy(trainStatus, async () => {
      const total = Math.max(1, Math.min(1000, Math.round(Number(steps.value))));
      trainButton.disabled = true; stopButton.disabled = false; stop = false;
      const seen = [];
      let trainingBegan = performance.now();
      try {
        await call('train_start', total);
        progress.max = total; progress.value = 0; losses.textContent = '';
        const began = trainingBegan = performance.now();
        while (!stop && seen.length < total) {
          const got = await call('train_steps', 1);
          if (!got.length) break;
          seen.push(...got);
          progress.value = seen.length;
          losses.textContent += got.map((l, i) => `step ${String(seen.length - got.length + i + 1).padStart(4)} / ${total} | loss ${l}\n`).join('');
          trainStatus.textContent = `step ${seen.length} of ${total}, loss ${got[got.length - 1]}, ` +
            `${((performance.now() - began) / 1000 / seen.length).toFixed(2)} s a step`;
          drawCurve(canvas, seen.map(Number));
        }
      } finally { trainButton.disabled = false; stopButton.disabled = true; }
      source.value = 'own';
      const perStep = seen.length ? (performance.now() - trainingBegan) / 1000 / seen.length : 0;
      box.dataset.secondsPerStep = perStep.toFixed(4);
      box.dataset.trained = String(seen.length);
      return `${seen.length} steps, ${perStep.toFixed(2)} s a step, last loss ${seen[seen.length - 1]}. ` +
        'Invent names with "your own model" above.';
    });
    window.microgptInpage = {start, call};
  }

  function drawCurve(canvas, values) {
    const g = canvas.getContext('2d'), w = canvas.width, h = canvas.height, pad = 30;
    g.clearRect(0, 0, w, h);
    g.strokeStyle = '#888'; g.strokeRect(pad, 5, w - pad - 5, h - pad - 5);
    const top = Math.max(...values), bottom = Math.min(...values, 0);
    g.fillStyle = '#333'; g.font = '12px sans-serif';
    g.fillText(top.toFixed(1), 2, 15); g.fillText(bottom.toFixed(1), 2, h - pad);
    g.fillText('step', w / 2, h - 8);
    g.strokeStyle = '#1f6fb4'; g.beginPath();
    values.forEach((v, i) => {
      const x = pad + (w - pad - 5) * (values.length > 1 ? i / (values.length - 1) : 0);
      const y = 5 + (h - pad - 10) * (top - v) / (top - bottom || 1);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }

  function drawExplanation(box, {name, steps, heads}) {
    const rows = steps.map(s => element('tr', {}, [
      element('td', {textContent: s.input}),
      element('td', {textContent: s.top.map(([ch, p]) => `${ch} ${(p * 100).toFixed(1)}%`).join(', ')}),
      element('td', {textContent: s.chosen}),
      element('td', {}, s.attention.map((w, h) => attentionBar(w, h, steps)))]));
    const head = element('tr', {}, ['Input', 'Top candidates (probability)', 'Chosen', `Attention of each of the ${heads} heads over the tokens so far`]
      .map(text => element('th', {scope: 'col', textContent: text})));
    box.replaceChildren(element('p', {textContent: `The name: ${name || '(empty)'}. "." is the start and end token.`}),
      element('table', {className: 'pg-table'}, [element('thead', {}, [head]), element('tbody', {}, rows)]));
  }

  function attentionBar(weights, h, steps) {
    const tokens = steps.slice(0, weights.length).map(s => s.input);
    const bar = element('span', {className: 'pg-attention'});
    bar.setAttribute('role', 'img');
    bar.setAttribute('aria-label', `head ${h + 1}: ` + weights.map((w, i) => `${tokens[i]} ${(w * 100).toFixed(0)}%`).join(', '));
    bar.append(element('span', {className: 'pg-head', textContent: `head ${h + 1}`}));
    weights.forEach((w, i) => bar.append(element('span', {textContent: tokens[i], title: `${(w * 100).toFixed(1)}%`,
      style: `background: rgba(31, 111, 180, ${w.toFixed(3)}); color: ${w > 0.5 ? '#fff' : '#000'}`})));
    return bar;
  }

  const box = document.getElementById('microgpt-playground');
  if (box) playground(box);
  else if (overFile) {  // the cells cannot run: each gets a button that says why
    for (const cell of document.querySelectorAll('div.cell')) {
      if (!cell.querySelector('.cell_input')) continue;
      const status = element('span', {className: 'inpage-status', role: 'status'});
      const run = element('button', {type: 'button', className: 'inpage-run', textContent: '▶ Run',
                                     onclick: () => { status.textContent = FILE_MESSAGE; }});
      cell.prepend(element('div', {className: 'inpage-bar'}, [run, status]));
    }
  } else lessonPage().catch(err => console.warn('inpage:', err));
})();
