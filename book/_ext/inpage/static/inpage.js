// Run, edit and reset the code cells of a lesson page in the reader's browser; and the playground page.
// Written by book/_ext/inpage.py's pages: a <meta name="microgpt-inpage"> names the page's cells
// (_inpage/cells/<page>.json, every code cell in page order, hidden ones included) and the folder of the
// runtime. Python (Pyodide) starts in a Web Worker (inpage-worker.js) the first time a reader presses Run.
// The cells share one namespace and run in page order: running a cell first runs the cells before it
// that have not run, of the hidden ones only those whose names a later cell reads (pagert.plan). What a cell
// prints shows as it prints it. No framework, no bundler, nothing from other hosts.
// One cell runs at a time (the others say they are waiting); Stop interrupts Python where the page is cross-origin
// isolated (make serve sends the headers) and otherwise starts it afresh; a cell running a minute asks whether to go on.
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
  // Stop (stopPython): where the page is cross-origin isolated (make serve sends the COOP and COEP headers), the
  // worker's Python watches a shared interrupt flag and raises KeyboardInterrupt, keeping what the cells defined;
  // elsewhere, or when Python does not answer the interrupt within STOP_GRACE ms, the worker is ended and a fresh
  // one started: what the cells defined is gone, and the next Run runs again the cells before it.
  const STOP_GRACE = 2500;
  const interrupt = (self.crossOriginIsolated && typeof SharedArrayBuffer === 'function')
    ? new Int32Array(new SharedArrayBuffer(4)) : null;
  let worker = null, nextId = 0, started = null, pythonReady = false;
  const waiting = new Map();  // id -> [resolve, reject, promise, onPartial (what a running cell prints, as it comes)]
  const onRestart = [];       // what the page forgets when Python starts again
  class Stopped extends Error {}
  function ask(message, onPartial) {
    if (!worker) {
      worker = new Worker(new URL('_static/inpage-worker.js', new URL('..', root)).href);
      worker.onmessage = event => {
        const {id, result, failed, partial} = event.data;
        if (partial) return waiting.get(id)?.[3]?.(partial);  // what a running cell has printed so far
        const [resolve, reject] = waiting.get(id);
        waiting.delete(id);
        failed === undefined ? resolve(result) : reject(/KeyboardInterrupt/.test(failed) ? new Stopped('stopped') : new Error(failed));
      };
      worker.onerror = event => { for (const [, [, reject]] of waiting) reject(new Error(event.message)); waiting.clear(); };
    }
    const id = nextId++;
    let settle;
    const promise = new Promise((resolve, reject) => { settle = [resolve, reject]; });
    waiting.set(id, [...settle, promise, onPartial]);
    worker.postMessage({...message, id});
    return promise;
  }
  function start() {
    if (overFile) return Promise.reject(new Error(FILE_MESSAGE));
    return (started ||= ask({op: 'start', root, page, interrupt}).then(seconds => {
      pythonReady = true;
      document.documentElement.dataset.inpageStartSeconds = seconds.toFixed(2);  // Python's start-up, for make bench
      return seconds;
    }));
  }
  const call = (fn, ...args) => start().then(() => ask({op: 'call', fn, args}));
  // Stop whatever Python is doing: 'idle' (nothing was running), 'interrupted' (KeyboardInterrupt, the namespace
  // kept) or 'restarted' (a fresh Python, the namespace gone).
  async function stopPython() {
    if (!worker || !waiting.size) return 'idle';
    if (interrupt && pythonReady) {
      const pending = [...waiting.values()].map(([, , promise]) => promise.catch(() => {}));
      Atomics.store(interrupt, 0, 2);  // SIGINT
      const settled = await Promise.race([Promise.all(pending).then(() => true),
                                          new Promise(done => setTimeout(() => done(false), STOP_GRACE))]);
      if (settled) return 'interrupted';
    }
    worker.terminate();
    worker = null; started = null; pythonReady = false;
    for (const [, [, reject]] of waiting) reject(new Stopped('restarted'));
    waiting.clear();
    document.documentElement.dataset.inpageRestarts = String(Number(document.documentElement.dataset.inpageRestarts || 0) + 1);
    onRestart.forEach(forget => forget());
    start().catch(() => {});  // a fresh Python, ready for the next Run
    return 'restarted';
  }
  document.documentElement.dataset.inpageStop = interrupt ? 'interrupt' : 'restart';  // for the tests

  function element(tag, props = {}, children = []) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }
  // A long output shows its first SHOWN_LINES lines and a button that shows the rest (pagert.py keeps at most
  // 100,000 lines of a cell's printing).
  const SHOWN_LINES = 2000;
  function outputBlock(kind, text) {
    if (kind === 'markdown') return markdownBlock(text);
    text = text.replace(/^\n+|\n+$/g, '') + '\n';  // as the build's highlighter shows every output
    const lines = text.split('\n').length - 1;
    const pre = element('pre', {textContent: lines > SHOWN_LINES ? text.split('\n', SHOWN_LINES).join('\n') + '\n' : text});
    const block = element('div', {className: `output inpage-${kind}${kind === 'stdout' ? ' stream' : ''}`},
                          [element('div', {className: 'highlight'}, [pre])]);
    if (lines > SHOWN_LINES) {
      const cut = element('p', {className: 'inpage-cut'}, [
        `The first ${SHOWN_LINES.toLocaleString('en')} of ${lines.toLocaleString('en')} lines. `,
        element('button', {type: 'button', className: 'inpage-show-all', textContent: `Show all ${lines.toLocaleString('en')} lines`,
                           onclick: () => { pre.textContent = text; cut.remove(); }})]);
      block.append(cut);
    }
    return block;
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
  // One cell runs at a time: a pressed cell waits (its status says for which) until the cells pressed before it are
  // done. A running or waiting cell shows Stop; a cell running longer than limits.ask seconds asks whether to go on.
  const limits = {ask: 60, unanswered: 300};  // seconds (the tests shorten them)
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
    onRestart.push(() => cells.forEach(cell => { cell.ran = false; }));  // a fresh Python has run none of them
    const jobs = [];       // the cells pressed and waiting, in the order pressed
    let current = null;    // the cell running now
    const busy = (cell, on) => { cell.runButton.disabled = on; cell.stopButton.hidden = !on; };
    const sayWaiting = () => jobs.forEach((cell, i) => {
      cell.status.textContent = `Waiting: ${current ? current.label : 'Python'} runs first` +
        (i ? ` (then ${jobs.slice(0, i).map(c => c.label).join(', ')})` : '') + '.';
    });
    const enqueue = cell => {
      if (current === cell || jobs.includes(cell)) return;
      jobs.push(cell);
      cell.node.dataset.inpage = 'waiting';
      busy(cell, true);
      cell.question.replaceChildren();
      sayWaiting();
      pump();
    };
    async function pump() {
      if (current || !jobs.length) return;
      current = jobs.shift();
      sayWaiting();
      await runThrough(cells, current);
      busy(current, false);
      current = null;
      pump();
    }
    const unqueue = (cell, why) => {  // a waiting cell taken out of the queue
      jobs.splice(jobs.indexOf(cell), 1);
      busy(cell, false);
      cell.status.textContent = why;
      cell.node.dataset.inpage = 'stopped';
      sayWaiting();
    };
    // Stop the running cell; the cells waiting behind it are not run (they may need what it did not finish).
    const stop = async () => {
      if (!current) return;
      const cell = current;
      cell.stopRequested = true;
      cell.question.replaceChildren();
      cell.status.textContent = 'Stopping…';
      for (const other of [...jobs]) unqueue(other, `Not run: Stop was pressed on ${cell.label}, which ran before it.`);
      cell.stopHow = await stopPython();
    };
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
                                     title: 'Run this cell in the page (and the cells before it); Shift+Enter in the editor'});
      const stopButton = element('button', {type: 'button', className: 'inpage-stop', textContent: '■ Stop', hidden: true,
                                            title: 'Stop this cell (a waiting cell: take it out of the queue)'});
      const edit = element('button', {type: 'button', className: 'inpage-edit', textContent: 'Edit',
                                      title: 'Edit the code of this cell'});
      const reset = element('button', {type: 'button', className: 'inpage-reset', textContent: 'Reset',
                                       title: 'Put back the code and the output the book printed (what the cells ' +
                                              'defined in Python stays)'});
      run.setAttribute('aria-label', `Run ${label}`);
      stopButton.setAttribute('aria-label', `Stop ${label}`);
      edit.setAttribute('aria-label', `Edit ${label}`);
      reset.setAttribute('aria-label', `Reset ${label}`);
      const question = element('span', {className: 'inpage-question'});
      cell.node.prepend(element('div', {className: 'inpage-bar', role: 'group', ariaLabel: `Python ${label}`},
                                [run, stopButton, edit, reset, status, question]));
      const input = cell.node.querySelector('.cell_input');
      const staticOutput = cell.node.querySelector('.cell_output');
      const kept = staticOutput ? [...staticOutput.childNodes] : [];
      Object.assign(cell, {status, label, question, runButton: run, stopButton, stop});
      cell.code = () => cell.editor ? cell.editor.value : cell.source;
      cell.show = (outputs, note) => {
        let box = cell.node.querySelector('.cell_output');
        if (!box) box = element('div', {className: 'cell_output docutils container'}), input.after(box);
        box.replaceChildren(...outputs.map(([kind, text]) => outputBlock(kind,
          cell.merge_streams && (kind === 'stdout' || kind === 'stderr') ? text.trimEnd() + '\n' : text)));  // as MyST-NB merges
        if (note) box.append(element('p', {className: 'inpage-note', textContent: note}));
        box.classList.add('inpage-ran');
      };
      edit.onclick = () => {
        if (!cell.editor) {
          cell.editor = element('textarea', {className: 'inpage-editor', value: cell.source, spellcheck: false,
                                             rows: cell.source.split('\n').length + 1});
          cell.editor.setAttribute('aria-label', `Code of ${label} (Shift+Enter runs it)`);
          cell.editor.addEventListener('keydown', event => {
            if (event.key === 'Enter' && event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey) {
              event.preventDefault();
              enqueue(cell);
            }
          });
          input.querySelector('.highlight').hidden = true;
          input.append(cell.editor);
        }
        cell.editor.focus();
      };
      reset.onclick = async () => {  // a running or waiting cell stops first
        if (current === cell) await stop();
        else if (jobs.includes(cell)) unqueue(cell, '');
        if (cell.editor) cell.editor.remove(), cell.editor = null, input.querySelector('.highlight').hidden = false;
        const box = cell.node.querySelector('.cell_output');
        if (box && staticOutput) box.replaceChildren(...kept), box.classList.remove('inpage-ran');
        else if (box) box.remove();
        cell.question.replaceChildren();
        status.textContent = 'The code and the output are the book\'s again. What the cells defined in Python is ' +
          'kept: Run runs this code again in that namespace.';
      };
      run.onclick = () => enqueue(cell);
      stopButton.onclick = () => (current === cell ? stop() : unqueue(cell, 'Not run: taken out of the queue.'));
    }
    window.microgptInpage = {cells, start, call, limits, stop: stopPython,
                             run: i => visible[i].node.querySelector('.inpage-run').click()};
  }

  async function execute(cell, onPartial) {
    const label = `In[${cell.count}]`;  // a traceback says Cell In[count], as Jupyter's in the build did
    const code = cell.code ? cell.code() : cell.source;
    const outputs = await ask({op: 'run', code, label}, onPartial);
    cell.ran = true;
    return outputs;
  }

  // While a cell runs: after limits.ask seconds a question (keep going, or stop); unanswered for limits.unanswered
  // more seconds, the cell stops. Returns what ends the watch.
  function watch(target, began) {
    let timer = null;
    const seconds = () => Math.round((performance.now() - began) / 1000);
    const ask = () => {
      const keep = element('button', {type: 'button', className: 'inpage-keep', textContent: 'Keep going'});
      const halt = element('button', {type: 'button', className: 'inpage-halt', textContent: 'Stop'});
      keep.setAttribute('aria-label', `Keep ${target.label} going`);
      halt.setAttribute('aria-label', `Stop ${target.label}`);
      target.question.replaceChildren(
        element('span', {role: 'alert', textContent: `${target.label} has run for ${seconds()} s. Keep going? `}), keep, ' ', halt);
      target.node.dataset.inpageAsked = 'yes';
      keep.onclick = () => { target.question.replaceChildren(); later(limits.ask); };
      halt.onclick = () => target.stop();
      clearTimeout(timer);
      timer = setTimeout(() => { target.unanswered = true; target.stop(); }, limits.unanswered * 1000);
    };
    const later = wait => { clearTimeout(timer); timer = setTimeout(ask, wait * 1000); };
    later(limits.ask);
    return () => { clearTimeout(timer); target.question.replaceChildren(); };
  }

  async function runThrough(cells, target) {
    const status = target.status;
    target.node.dataset.inpage = 'running';
    delete target.node.dataset.inpageAsked;
    delete target.node.dataset.inpageFirst;
    target.stopRequested = false; target.stopHow = null; target.unanswered = false;
    const began = performance.now();
    const unwatch = watch(target, began);
    const elapsed = () => ((performance.now() - began) / 1000).toFixed(1);
    const code = target.code();
    let onTarget = false;
    const printed = [];  // what it has printed so far, shown as it comes
    try {
      if (!started) status.textContent = 'Starting Python in the page (the first time: about 12 MB)…';
      await start();
      const notes = [], ran = [];  // ran: [index, seconds] of each cell run before it, for make bench
      // the cells before it that it needs (pagert.plan): every shown one, and the hidden ones whose names it reads
      const before = cells.slice(0, target.index);
      const needed = new Set(await ask({op: 'call', fn: 'plan', args: [JSON.stringify(before.map(cell =>
        [cell.code ? cell.code() : cell.source, cell.shown, cell.ran, !!cell.jupyter_only])), code]}));
      for (const cell of before) {
        if (cell.ran || cell.jupyter_only || !needed.has(cell.index)) continue;
        if (cell.stoppedCode !== undefined && cell.code() === cell.stoppedCode) {  // it would not end this time either
          notes.push(`${cell.label} was stopped, so it did not run again before this one.`);
          continue;
        }
        if (target.stopRequested) throw new Stopped('stopped');
        status.textContent = `Running the cells before this one (${cell.index + 1} of ${target.index})…`;
        const cellBegan = performance.now();
        const outputs = await execute(cell);
        ran.push([cell.index, +((performance.now() - cellBegan) / 1000).toFixed(2)]);
        if (target.stopRequested) { cell.ran = false; throw new Stopped('stopped'); }  // it may not have finished
        if (cell.show) cell.show(outputs);
        const failed = outputs.find(([kind]) => kind === 'error');
        if (failed && !cell.shown) notes.push('A hidden cell of this page failed in the browser (' +
          failed[1].trim().split('\n').pop() + '): what it defines is missing.');
      }
      if (target.stopRequested) throw new Stopped('stopped');
      status.textContent = 'Running…';
      onTarget = true;
      const first = () => { target.node.dataset.inpageFirst ||= elapsed(); };  // seconds to its first output, for make bench
      const outputs = await execute(target, part => {
        for (const [kind, text] of part) {
          const last = printed[printed.length - 1];
          if (last && last[0] === kind) last[1] += text; else printed.push([kind, text]);
        }
        target.show(printed);
        first();
      });
      target.show(outputs, notes.join(' '));
      first();
      target.node.dataset.inpageBefore = JSON.stringify(ran);
      if (target.stopRequested) throw new Stopped('stopped');  // interrupted: the cell ends in KeyboardInterrupt
      delete target.stoppedCode;
      status.textContent = `Ran in the page in ${elapsed()} s.`;
      target.node.dataset.inpage = 'done';
    } catch (err) {
      if (!(err instanceof Stopped) && !target.stopRequested) {
        status.textContent = err.message;
        target.node.dataset.inpage = 'failed';
        return;
      }
      const restarted = err.message === 'restarted' || target.stopHow === 'restarted';
      if (onTarget) {
        target.stoppedCode = code;
        if (restarted) target.show(printed, printed.length ? 'Stopped before it finished: above is what it printed until then.'
                                                           : 'Stopped before it finished: it printed nothing the page could keep.');
      }
      status.textContent = `Stopped after ${elapsed()} s` + (target.unanswered ? ', with no answer to the question' : '') +
        '. ' + (restarted ? 'Python was started afresh, so what the cells defined is gone: the next Run runs the cells ' +
                            'before it again' + (onTarget ? ' (but not this one, unless you change it or run it).' : '.')
                          : 'Python raised KeyboardInterrupt' + (onTarget ? ' in this cell' : '') +
                            '; what the cells defined before it is kept.');
      target.node.dataset.inpage = 'stopped';
      target.node.dataset.inpageStop = restarted ? 'restarted' : 'interrupted';
    } finally {
      unwatch();
    }
  }

  // ---------------------------------------------------------------- the playground
  // The switches of "Train it yourself": the parts of the program a reader can take out (the book's variants,
  // made by pagert.run_variant), and the pairs that cannot both be off (pagert.CLASHES says why).
  const PARTS = [['residual', 'Residual connections', 'the two additions of the block'],
                 ['norm', 'rmsnorm', 'the rescaling of each vector'],
                 ['attention', 'Attention', 'its output added to the vectors'],
                 ['mlp', 'MLP', 'its output added to the vectors']];
  const PART_NAMES = {residual: 'residual connections', norm: 'rmsnorm', attention: 'attention', mlp: 'the MLP'};
  const CLASHES = [['residual', 'attention'], ['residual', 'mlp']];
  const MAX_LEARNING_RATE = 10;  // as pagert.MAX_LEARNING_RATE
  const TEMPERATURE = [0.05, 3];  // as pagert.TEMPERATURE
  const MAX_NAMES = 100;          // as pagert.MAX_NAMES
  const MAX_STEPS = 1000;         // as pagert.MAX_STEPS
  const AVERAGE_OVER = 50;       // the chart draws each run's moving average over this many steps
  const MEAN_OF_LAST = 100;      // the table's mean training loss is over each run's last this many steps
  const HELDOUT_SHOWN = 50;      // the table's held-out loss is on this many of the book's held-out names (pagert.HELDOUT_SHOWN)
  // Run A (the earlier of the last two) and run B (the later): told apart by line and marker, not colour alone.
  const STYLES = [{colour: '#b35900', dash: [7, 4], marker: 'circle', words: 'dashed line, circles'},
                  {colour: '#1f5f99', dash: [], marker: 'square', words: 'solid line, squares'}];

  function refusal(part, other) {
    return part === 'residual'
      ? `Refused: with ${PART_NAMES[other]} off, residual connections cannot go too, since that step of the block ` +
        `would then pass nothing on. Turn ${PART_NAMES[other]} back on first.`
      : `Refused: with residual connections off, ${PART_NAMES[part]} cannot go too, since its output is then all ` +
        'that step of the block passes on, and nothing would be left. Turn residual connections back on first.';
  }

  function playground(box) {
    const field = (labelText, input, ...after) => {
      input.id = 'pg-' + labelText.toLowerCase().replace(/[^a-z]+/g, '-');
      return element('p', {className: 'pg-field'}, [element('label', {htmlFor: input.id, textContent: labelText}), ' ', input, ...after]);
    };
    const message = id => element('span', {className: 'pg-message', id, role: 'status'});
    const temperature = element('input', {type: 'number', min: '0.05', max: '3', step: '0.05', value: '0.5'});
    const count = element('input', {type: 'number', min: '1', max: '100', step: '1', value: '20'});
    const prefix = element('input', {type: 'text', maxLength: 15, value: '', placeholder: 'e.g. ma'});
    const source = element('select', {}, [element('option', {value: 'book', textContent: 'the book\'s trained model'}),
                                          element('option', {value: 'own', textContent: 'your own model (your latest run below)'})]);
    const sampleButton = element('button', {type: 'button', textContent: 'Invent names'});
    const explainButton = element('button', {type: 'button', textContent: 'Explain one name'});
    const sampleStop = element('button', {type: 'button', textContent: 'Stop', disabled: true, id: 'pg-sample-stop'});
    sampleStop.setAttribute('aria-label', 'Stop inventing or explaining');
    const status = element('p', {className: 'inpage-status', role: 'status', id: 'pg-status'});
    // Each field is checked as it is typed and when a button is pressed: a message beside it says what it takes.
    const checker = (input, test, words) => {
      const said = message(`${input.id || (input.id = 'pg-' + Math.random().toString(36).slice(2))}-message`);
      input.setAttribute('aria-describedby', said.id);
      const check = () => {
        const ok = test(input.value.trim());
        said.textContent = ok ? '' : words;
        input.setAttribute('aria-invalid', String(!ok));
        return ok;
      };
      input.addEventListener('input', check);
      input.addEventListener('change', check);
      return [check, said];
    };
    const whole = (text, low, high) => /^\d{1,12}$/.test(text) && Number(text) >= low && Number(text) <= high;
    const between = (text, low, high) => text !== '' && Number.isFinite(Number(text)) && Number(text) >= low && Number(text) <= high;
    temperature.id = 'pg-temperature'; count.id = 'pg-how-many-names'; prefix.id = 'pg-first-letters-optional-'; source.id = 'pg-model';
    const [checkTemperature, temperatureMessage] = checker(temperature, t => between(t, ...TEMPERATURE),
      `Type a number from ${TEMPERATURE[0]} to ${TEMPERATURE[1]}, such as 0.5 (the scores are divided by it, so not 0).`);
    const [checkCount, countMessage] = checker(count, n => whole(n, 1, MAX_NAMES), `Type a whole number from 1 to ${MAX_NAMES}.`);
    const [checkPrefix, prefixMessage] = checker(prefix, p => /^[a-z]{0,15}$/i.test(p),
      'Type only letters from a to z (at most 15), or nothing: the model knows no other characters.');
    let ownModel = false;  // the reader has trained a model in this Python
    const [checkSource, sourceMessage] = checker(source, v => v !== 'own' || ownModel,
      'You have no model of your own yet: train one under "Train it yourself" below, then invent names with it.');
    const checkSampling = () => [checkTemperature(), checkCount(), checkPrefix(), checkSource()].every(Boolean);
    const names = element('ol', {className: 'pg-names', id: 'pg-names'});
    const explained = element('div', {className: 'pg-explain', id: 'pg-explain'});

    // ---- the switches
    const parts = {}, partMessages = {};
    const partRows = PARTS.map(([key, name, what]) => {
      const toggle = parts[key] = element('input', {type: 'checkbox', checked: true, id: `pg-part-${key}`});
      partMessages[key] = message(`pg-part-${key}-message`);
      toggle.setAttribute('aria-describedby', partMessages[key].id);
      toggle.onchange = () => {  // a switch turned off beside its clashing one springs back on, and says why
        Object.values(partMessages).forEach(m => { m.textContent = ''; });
        const other = pair => pair[0] === key ? pair[1] : pair[0];
        const clash = CLASHES.find(pair => pair.includes(key) && !toggle.checked && !parts[other(pair)].checked);
        if (clash) {
          toggle.checked = true;
          partMessages[key].textContent = refusal(key, other(clash));
        }
      };
      return element('p', {className: 'pg-switch'}, [toggle, ' ', element('label', {htmlFor: toggle.id, textContent: name}),
        element('span', {className: 'pg-what', textContent: ` (${what})`}), ' ', partMessages[key]]);
    });
    const partsBox = element('fieldset', {className: 'pg-switches'},
      [element('legend', {textContent: 'Parts of the program (untick one to take it out)'}), ...partRows]);
    const adam = element('input', {type: 'radio', name: 'pg-optimizer', value: 'adam', checked: true, id: 'pg-optimizer-adam'});
    const plain = element('input', {type: 'radio', name: 'pg-optimizer', value: 'plain', id: 'pg-optimizer-plain'});
    const rate = element('input', {type: 'text', inputMode: 'decimal', value: '0.1', size: 7, id: 'pg-learning-rate', disabled: true});
    const rateMessage = message('pg-learning-rate-message');
    rate.setAttribute('aria-describedby', rateMessage.id);
    const optimizerBox = element('fieldset', {className: 'pg-switches'}, [element('legend', {textContent: 'Optimizer'}),
      element('p', {className: 'pg-switch'}, [adam, ' ', element('label', {htmlFor: adam.id, textContent: 'Adam, as the program has it'})]),
      element('p', {className: 'pg-switch'}, [plain, ' ', element('label', {htmlFor: plain.id, textContent: 'plain gradient descent'}),
        ', ', element('label', {htmlFor: rate.id, textContent: 'learning rate'}), ' ', rate, ' ', rateMessage])]);
    const seed = element('input', {type: 'text', inputMode: 'numeric', value: '42', size: 10});
    const seedMessage = message('pg-seed-message');
    seed.setAttribute('aria-describedby', seedMessage.id);
    const steps = element('input', {type: 'number', min: '1', max: String(MAX_STEPS), step: '1', value: '20', id: 'pg-training-steps'});
    const [checkSteps, stepsMessage] = checker(steps, n => whole(n, 1, MAX_STEPS),
      `Type a whole number from 1 to ${MAX_STEPS.toLocaleString('en')}: the page trains at most ${MAX_STEPS.toLocaleString('en')} steps.`);
    const checkRate = () => {
      const value = Number(rate.value.trim());
      const ok = !plain.checked || (rate.value.trim() !== '' && Number.isFinite(value) && value > 0 && value <= MAX_LEARNING_RATE);
      rateMessage.textContent = ok ? '' : `Type a number greater than 0 and at most ${MAX_LEARNING_RATE}, such as 0.1.`;
      rate.setAttribute('aria-invalid', String(!ok));
      return ok;
    };
    const checkSeed = () => {
      const ok = /^\s*\d{1,9}\s*$/.test(seed.value);
      seedMessage.textContent = ok ? '' : 'Type a whole number from 0 to 999999999.';
      seed.setAttribute('aria-invalid', String(!ok));
      return ok;
    };
    adam.onchange = plain.onchange = () => { rate.disabled = !plain.checked; checkRate(); };
    rate.oninput = checkRate;
    seed.oninput = checkSeed;
    const switches = () => ({...Object.fromEntries(Object.entries(parts).map(([key, b]) => [key, b.checked])),
      optimizer: plain.checked ? 'plain' : 'adam', lr: Number(rate.value.trim()), seed: Number(seed.value.trim())});
    const resetButton = element('button', {type: 'button', textContent: 'Switches as in the program'});
    resetButton.onclick = () => {
      Object.values(parts).forEach(b => { b.checked = true; });
      Object.values(partMessages).forEach(m => { m.textContent = ''; });
      adam.checked = true; rate.disabled = true; seed.value = '42';
      checkRate(); checkSeed();
    };

    // ---- training, and the last two runs
    const trainButton = element('button', {type: 'button', textContent: 'Train'});
    const stopButton = element('button', {type: 'button', textContent: 'Stop', disabled: true});
    const progress = element('progress', {max: 1, value: 0, id: 'pg-progress'});
    progress.setAttribute('aria-label', 'Training progress');
    const trainStatus = element('p', {className: 'inpage-status', role: 'status', id: 'pg-train-status'});
    const legend = element('ul', {className: 'pg-legend', id: 'pg-legend'});
    const canvas = element('canvas', {className: 'pg-curve', id: 'pg-curve'});
    canvas.setAttribute('role', 'img');
    const table = element('table', {className: 'pg-table pg-runs', id: 'pg-runs', hidden: true});
    const timing = element('p', {className: 'pg-timing', id: 'pg-timing'});
    const losses = element('pre', {className: 'pg-losses', id: 'pg-losses'});
    box.replaceChildren(
      element('h2', {textContent: 'Invent names'}),
      field('Temperature', temperature, ' ', temperatureMessage), field('How many names', count, ' ', countMessage),
      field('First letters (optional)', prefix, ' ', prefixMessage), field('Model', source, ' ', sourceMessage),
      element('p', {}, [sampleButton, ' ', explainButton, ' ', sampleStop]), status, names, explained,
      element('h2', {textContent: 'Train it yourself'}),
      partsBox, optimizerBox, field('Seed', seed, ' ', seedMessage), field('Training steps', steps, ' ', stepsMessage),
      element('p', {}, [trainButton, ' ', stopButton, ' ', resetButton, ' ', progress]), trainStatus,
      element('h3', {textContent: 'Your last two runs'}), legend, canvas, table, timing,
      element('details', {}, [element('summary', {textContent: 'Every loss of your latest run, as the program prints it'}), losses]));

    const runs = [];  // the last two: runs[0] is A, runs[1] is B
    let finished = 0, programSteps = 0;
    const showRuns = () => {
      drawRuns(canvas, runs);
      legend.replaceChildren(...runs.map((run, i) => element('li', {}, [lineSample(STYLES[i]), ' ',
        element('strong', {textContent: 'AB'[i]}), ` (${STYLES[i].words}): ${run.label}`])));
      const mean = run => { const last = run.losses.slice(-MEAN_OF_LAST); return last.reduce((a, b) => a + b, 0) / last.length; };
      canvas.setAttribute('aria-label', runs.length ? `Training loss of your last ${runs.length === 2 ? 'two runs' : 'run'}, ` +
        `each point the mean over up to ${AVERAGE_OVER} steps. ` + runs.map((run, i) => `Run ${'AB'[i]} (${STYLES[i].words}), ` +
        `${run.label}: ${run.losses.length} steps` + (run.losses.length ? `, mean training loss ${mean(run).toFixed(3)} over the last ` +
        `${Math.min(MEAN_OF_LAST, run.losses.length)}` : '') + (run.heldout ? `, held-out loss ${run.heldout} on ` +
        `${run.heldoutCount} names` : '')).join('. ') + '.' : 'Loss of your runs: none yet.');
      table.hidden = !runs.length;
      const cell = (tag, text, props = {}) => element(tag, {textContent: text, ...props});
      table.replaceChildren(
        element('caption', {textContent: `Each run's held-out loss: its mean loss, with its weights at the end of the run, ` +
          `on the first ${HELDOUT_SHOWN} of the book's held-out names (with another seed, any of them that run trained on ` +
          `is replaced by the next). Beside it, its mean ` +
          `training loss over its last ${MEAN_OF_LAST} steps (over all its steps if it has fewer). Lower is better.`}),
        element('thead', {}, [element('tr', {}, ['Run', 'Switches', 'Steps', `Held-out loss (${HELDOUT_SHOWN} names)`,
          `Training loss, last ${MEAN_OF_LAST} steps`, 'Seconds a step'].map(text => cell('th', text, {scope: 'col'})))]),
        element('tbody', {}, runs.map((run, i) => element('tr', {}, [cell('th', 'AB'[i], {scope: 'row'}), cell('td', run.label),
          cell('td', run.losses.length === run.total ? String(run.total) : `${run.losses.length} of ${run.total}`),
          cell('td', run.heldout ? run.heldout + (run.heldoutSkipped ? ` (${run.heldoutSkipped} of the names replaced by ` +
            'the next: this seed trained on them)' : '') : '–'),
          cell('td', run.losses.length ? mean(run).toFixed(4) : '–'),
          cell('td', run.perStep ? run.perStep.toFixed(2) : '–')]))));
    };
    showRuns();
    window.addEventListener('resize', () => drawRuns(canvas, runs));

    const settings = () => [Number(temperature.value), Number(count.value), prefix.value, source.value === 'own'];
    const STOPPED = 'Stopped.', RESTARTED = 'Stopped: Python was started afresh, so a model you trained here is gone (train again to use it).';
    const busy = async (where, what, clear = () => {}) => {
      where.textContent = overFile ? FILE_MESSAGE : (started ? 'Working…' : 'Starting Python in the page (the first time: about 12 MB)…');
      const began = performance.now();
      try {
        const said = await what();
        where.textContent = `Done in ${((performance.now() - began) / 1000).toFixed(2)} s.${said ? ' ' + said : ''}`;
      } catch (err) {
        clear();  // no output of an earlier request is left beside the message
        where.textContent = err instanceof Stopped ? (err.message === 'restarted' && lostModel ? RESTARTED : STOPPED)
          : err.message.split('\n').filter(Boolean).pop();
      }
    };
    let lostModel = false;  // a restart ended the model the reader trained
    onRestart.push(() => { lostModel = ownModel; ownModel = false; });
    const clearExplanation = () => { explained.replaceChildren(); ['tabindex', 'role', 'aria-label'].forEach(a => explained.removeAttribute(a)); };
    const clearNames = () => { names.replaceChildren(); clearExplanation(); };
    const sampling = async (what) => {  // Invent names or Explain one name, with Stop while it works
      if (!checkSampling()) {
        clearNames();
        status.textContent = 'Not done: see the message beside the field.';
        return;
      }
      sampleButton.disabled = explainButton.disabled = trainButton.disabled = true;
      sampleStop.disabled = false;
      try { await busy(status, what, clearNames); }
      finally { sampleButton.disabled = explainButton.disabled = trainButton.disabled = false; sampleStop.disabled = true; }
    };
    sampleStop.onclick = () => stopPython();
    sampleButton.onclick = () => sampling(async () => {
      const [t, n, p, own] = settings();
      const list = await call('sample', t, n, p, own);
      names.replaceChildren(...list.map(name => element('li', {textContent: name})));
      clearExplanation();
    });
    explainButton.onclick = () => sampling(async () => {
      const [t, , p, own] = settings();
      drawExplanation(explained, await call('explain', t, p, own));
    });
    let stop = false, phase = '';
    stopButton.onclick = () => {  // between steps the loop ends; setting up or measuring, Python is stopped
      stop = true;
      if (phase !== 'steps') stopPython();
    };
    trainButton.onclick = () => {
      if (!(checkRate() & checkSeed() & checkSteps())) {
        trainStatus.textContent = 'Not started: see the message beside the field.';
        return;
      }
      return busy(trainStatus, train);
    };
    async function train() {
      const total = Number(steps.value);
      trainButton.disabled = resetButton.disabled = partsBox.disabled = optimizerBox.disabled = seed.disabled = true;
      sampleButton.disabled = explainButton.disabled = true;
      stopButton.disabled = false; stop = false;
      box.dataset.trained = '';
      const run = {total, label: '', losses: [], perStep: 0, heldout: null, heldoutCount: 0, heldoutSkipped: 0};
      let began = performance.now();
      try {
        phase = 'start';
        const started = await call('train_start', total, JSON.stringify(switches()));
        ownModel = true;
        checkSource();
        phase = 'steps';
        run.label = started.label;
        programSteps = started.program_steps;
        if (runs.length === 2) runs.shift();  // a third run replaces the older one
        runs.push(run);
        progress.max = total; progress.value = 0; losses.textContent = '';
        began = performance.now();
        while (!stop && run.losses.length < total) {
          const got = await call('train_steps', 1);
          if (!got.length) break;
          run.losses.push(...got.map(Number));
          progress.value = run.losses.length;
          losses.textContent += got.map((l, i) => `step ${String(run.losses.length - got.length + i + 1).padStart(4)} / ${total} | loss ${l}\n`).join('');
          run.perStep = (performance.now() - began) / 1000 / run.losses.length;
          trainStatus.textContent = `step ${run.losses.length} of ${total}, loss ${got[got.length - 1]}, ${run.perStep.toFixed(2)} s a step`;
          showRuns();
        }
        if (run.losses.length) {  // the run's weights as they are now, on the same held-out names for every run
          phase = 'heldout';
          trainStatus.textContent = `Measuring the held-out loss of this run on ${HELDOUT_SHOWN} names (Stop skips it)…`;
          try {
            const held = await call('train_heldout');
            [run.heldout, run.heldoutCount, run.heldoutSkipped] = [held.loss, held.count, held.skipped];
            box.dataset.heldout = held.loss || '';
          } catch (err) {
            if (!(err instanceof Stopped) || err.message === 'restarted') throw err;
          }
        }
      } finally {
        phase = '';
        trainButton.disabled = resetButton.disabled = partsBox.disabled = optimizerBox.disabled = seed.disabled = false;
        sampleButton.disabled = explainButton.disabled = false;
        stopButton.disabled = true;
        if (run.label) showRuns();
      }
      source.value = 'own';
      checkSource();
      box.dataset.secondsPerStep = run.perStep.toFixed(4);
      box.dataset.trained = String(run.losses.length);
      box.dataset.runs = String(++finished);
      if (run.perStep && programSteps) {
        const minutes = run.perStep * programSteps / 60;
        timing.textContent = `In this page a training step of your latest run took ${run.perStep.toFixed(2)} s, so a run ` +
          `of the program's ${programSteps.toLocaleString('en')} steps, as the book's own runs are, would take about ` +
          `${minutes < 1 ? 'under a minute' : `${minutes.toFixed(minutes < 10 ? 1 : 0)} minutes`} here.`;
      }
      return `${run.losses.length} steps (${run.label}), ${run.perStep.toFixed(2)} s a step, last loss ` +
        `${run.losses[run.losses.length - 1]}` + (run.heldout ? `, held-out loss ${run.heldout}` : '') + '. ' +
        'Invent names with "your own model" above.';
    }
    window.microgptInpage = {start, call};
  }

  // A short sample of a run's line and marker, for the legend (the text beside it says the same in words).
  function lineSample(style) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('width', '44'); svg.setAttribute('height', '14'); svg.setAttribute('aria-hidden', 'true');
    const line = document.createElementNS(ns, 'line');
    Object.entries({x1: 2, y1: 7, x2: 42, y2: 7, stroke: style.colour, 'stroke-width': 2,
                    'stroke-dasharray': style.dash.join(' ') || 'none'}).forEach(([k, v]) => line.setAttribute(k, v));
    const mark = document.createElementNS(ns, style.marker === 'circle' ? 'circle' : 'rect');
    Object.entries(style.marker === 'circle' ? {cx: 22, cy: 7, r: 4, fill: '#fff', stroke: style.colour, 'stroke-width': 2}
      : {x: 18, y: 3, width: 8, height: 8, fill: style.colour}).forEach(([k, v]) => mark.setAttribute(k, v));
    svg.append(line, mark);
    return svg;
  }

  // Each run's moving average (a point: the mean of its step's loss and of up to AVERAGE_OVER - 1 steps before),
  // on one chart, A dashed with circles and B solid with squares; the axes fit both runs.
  function drawRuns(canvas, runs) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 640, h = canvas.clientHeight || 240;
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
    const left = 46, right = 12, top = 24, bottom = 34, plotW = w - left - right, plotH = h - top - bottom;
    g.font = '12px sans-serif'; g.lineWidth = 1; g.strokeStyle = '#767676';
    g.strokeRect(left, top, plotW, plotH);
    g.fillStyle = '#222';
    g.fillText('step', left + plotW / 2 - 12, h - 4);
    g.fillText(`training loss, each point the mean of up to ${AVERAGE_OVER} steps`, left, 15);
    const curves = runs.map(run => run.losses.map((_, i, all) => {
      const span = all.slice(Math.max(0, i + 1 - AVERAGE_OVER), i + 1);
      return span.reduce((a, b) => a + b, 0) / span.length;
    }));
    canvas.dataset.curves = String(curves.filter(c => c.length).length);
    const values = curves.flat();
    if (!values.length) {
      g.fillText('Your runs will be drawn here.', left + 12, top + 24);
      return;
    }
    // the loss axis: round ticks (0.05, 0.1, 0.2, ... apart), at most eight, the range a little wider than the data
    const low = Math.min(...values), high = Math.max(...values);
    const tick = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5].find(t => (high - low) / t <= 5) || 10;
    const lo = Math.floor(low / tick - 0.2) * tick, hi = Math.ceil(high / tick + 0.2) * tick;
    const last = Math.max(2, ...runs.map(run => run.total));
    const X = step => left + plotW * (step - 1) / (last - 1);
    const Y = v => top + plotH * (hi - v) / (hi - lo);
    g.textAlign = 'right';
    for (let k = 0; lo + k * tick <= hi + tick / 1e3; k++) {
      const v = lo + k * tick;
      g.fillText(v.toFixed(2), left - 4, Y(v) + 4);
      g.strokeStyle = '#e0e0e0'; g.beginPath(); g.moveTo(left + 1, Y(v)); g.lineTo(left + plotW - 1, Y(v)); g.stroke();
    }
    g.textAlign = 'center';
    for (const step of new Set([1, Math.max(1, Math.round(last / 2)), last])) g.fillText(String(step), X(step), top + plotH + 14);
    g.textAlign = 'left';
    curves.forEach((curve, i) => {
      const style = STYLES[i];
      g.strokeStyle = style.colour; g.fillStyle = style.colour; g.lineWidth = 2; g.setLineDash(style.dash);
      g.beginPath();
      curve.forEach((v, s) => (s ? g.lineTo(X(s + 1), Y(v)) : g.moveTo(X(s + 1), Y(v))));
      if (curve.length === 1) g.lineTo(X(1) + 1, Y(curve[0]));
      g.stroke();
      g.setLineDash([]);
      const every = Math.max(1, Math.round(last / 8));  // about eight markers a run, A's between B's
      for (let s = Math.round(every * (i ? 1 : 0.5)); s < curve.length; s += every) {
        const x = X(s + 1), y = Y(curve[s]);
        g.beginPath();
        if (style.marker === 'circle') {
          g.arc(x, y, 4, 0, 2 * Math.PI); g.fillStyle = '#fff'; g.fill(); g.stroke();
        } else g.fillRect(x - 4, y - 4, 8, 8);
      }
    });
  }

  function drawExplanation(box, {name, steps, heads}) {
    const rows = steps.map(s => element('tr', {}, [
      element('td', {textContent: s.input}),
      element('td', {textContent: s.top.map(([ch, p]) => `${ch} ${(p * 100).toFixed(1)}%`).join(', ')}),
      element('td', {textContent: s.chosen}),
      element('td', {}, s.attention.map((w, h) => attentionBar(w, h, steps)))]));
    const head = element('tr', {}, ['Input', 'Top candidates (probability)', 'Chosen', `Attention of each of the ${heads} heads over the tokens so far`]
      .map(text => element('th', {scope: 'col', textContent: text})));
    box.tabIndex = 0;  // on a narrow screen the table scrolls sideways inside the box: the keyboard can scroll it
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', `How the model wrote ${name || 'the name'}`);
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
