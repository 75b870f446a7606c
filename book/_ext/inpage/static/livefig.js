// Live figures (book/_ext/livefig.py): controls the reader moves, and a figure drawn from what the page's Python
// computes for them. The values come from pagert.live_figure (livefigrt.py), which runs the tangled program with
// tangle.load, in the same Web Worker as the page's cells (inpage.js, window.microgptInpage.call); this file only
// draws them, and prints the numbers as the Python formatted them. Python starts on the first press of the figure's
// Start button or the first change of a control. Requests do not pile up: while one is computed, only the latest
// change waits. Each box keeps its last answer (box.livefig.last) and counts what it drew (data-drawn), for the tests.
(() => {
  'use strict';
  const boxes = [...document.querySelectorAll('div.livefig[data-livefig]')];
  if (!boxes.length) return;
  const overFile = location.protocol === 'file:';
  const FILE_MESSAGE = 'This figure runs the program in the page only when the book is served over HTTP: browsers ' +
    'refuse to load WebAssembly from a file:// address. In the book\'s folder run "make serve" and open ' +
    'http://127.0.0.1:8000/.';
  const NO_PYTHON = 'The page\'s Python did not start, so this figure cannot run here; the figure above shows it.';

  // inpage.js's functions, once it has read the page's cells
  let inpage = null;
  const inpageReady = () => inpage || (inpage = new Promise((resolve, reject) => {
    const began = Date.now();
    const look = () => window.microgptInpage ? resolve(window.microgptInpage)
      : Date.now() - began > 30000 ? reject(new Error(NO_PYTHON)) : setTimeout(look, 100);
    look();
  }));

  function element(tag, props = {}, children = []) {
    const node = Object.assign(document.createElement(tag), props);
    for (const [k, v] of Object.entries(props.attrs || {})) node.setAttribute(k, v);
    delete node.attrs;
    node.append(...children);
    return node;
  }
  let uid = 0;
  const id = what => `livefig-${++uid}-${what}`;
  function labelled(control, text) {  // a control with its visible label
    control.id ||= id('control');
    return element('label', {htmlFor: control.id, className: 'livefig-label', textContent: text});
  }
  function slider({min, max, step, value, label, format = v => v}) {
    const input = element('input', {type: 'range', min, max, step, value: String(value)});
    const shown = element('output', {className: 'livefig-value'});
    const sync = () => {  // the value beside the slider, and what a screen reader says of it
      shown.textContent = format(input.value);
      input.setAttribute('aria-valuetext', format(input.value));
    };
    sync();
    input.addEventListener('input', sync);
    input.id = id('slider');
    shown.setAttribute('for', input.id);
    return {input, sync, row: element('div', {className: 'livefig-slider'}, [labelled(input, label), input, shown])};
  }

  // ---------------------------------------------------------------- the four figures
  // Each: controls (elements), values() (what Python receives) and draw(result) into `figure`.
  const FIGURES = {
    tokens(options, figure) {
      const name = element('input', {type: 'text', value: options.name ?? 'emma', maxLength: 30, spellcheck: false,
                                     autocomplete: 'off', className: 'livefig-text'});
      return {
        controls: [element('div', {className: 'livefig-field'}, [labelled(name, 'Name'), name])],
        values: () => ({name: name.value}),
        draw(r) {
          if (r.error) {
            figure.replaceChildren(
              element('p', {}, ['encode(', element('code', {textContent: JSON.stringify(r.name)}), ') raises ',
                                element('code', {className: 'livefig-refused', textContent: r.error})]),
              element('p', {textContent: 'Refused: ' + r.unknown.join('; ') + '. chars holds only the ' +
                'characters of the names in the data, so chars.index cannot find the others.'}));
            return;
          }
          const strip = element('div', {className: 'livefig-strip', attrs: {role: 'img',
            'aria-label': r.tokens.map((t, i) => `${t} ${r.ids[i]}`).join(', ')}},
            r.tokens.map((t, i) => element('span', {className: 'livefig-token' + (r.ids[i] === r.bos ? ' livefig-bos' : '')},
              [element('span', {className: 'livefig-tok', textContent: t}), element('span', {className: 'livefig-id', textContent: String(r.ids[i])})])));
          figure.replaceChildren(strip,
            element('p', {}, [element('code', {textContent: `encode(${JSON.stringify(r.name)})`}), ' returns ',
                              element('code', {className: 'livefig-ids', textContent: r.printed}), `: ${r.count} tokens.`]),
            element('p', {}, [element('code', {textContent: 'decode'}), ' of these ids gives ',
                              element('code', {textContent: r.decoded}), '.']));
        },
      };
    },

    softmax(options, figure) {
      const scores = options.scores || [2.0, 1.0, -0.5, -2.0];
      const sliders = scores.map((s, i) => slider({min: -10, max: 10, step: 0.1, value: s, label: `score of token ${i}`}));
      const bars = scores.map(() => element('span', {className: 'livefig-bar'}));
      const values = scores.map(() => element('span', {className: 'livefig-prob'}));
      const rows = scores.map((_, i) => element('div', {className: 'livefig-softmax-row'}, [sliders[i].row,
        element('div', {className: 'livefig-bar-box'}, [element('span', {className: 'livefig-bar-track', attrs: {'aria-hidden': 'true'}}, [bars[i]]), values[i]])]));
      const sum = element('p');
      figure.replaceChildren(...rows, sum);
      return {
        controls: [],
        values: () => ({scores: sliders.map(s => Number(s.input.value))}),
        draw(r) {
          r.probs.forEach((p, i) => {
            bars[i].style.width = `${(100 * p).toFixed(2)}%`;
            bars[i].classList.toggle('livefig-top', i === r.top);
            values[i].textContent = `p = ${r.shown[i]}`;
          });
          sum.textContent = `softmax gives probabilities ${r.shown.join(', ')}; they add up to ${r.sum}.`;
        },
        clear() { bars.forEach(b => { b.style.width = '0'; }); values.forEach(v => { v.textContent = ''; }); sum.textContent = ''; },
      };
    },

    attention(options, figure) {
      const name = element('input', {type: 'text', value: options.name || '', maxLength: 15, spellcheck: false,
                                     autocomplete: 'off', className: 'livefig-text'});
      const position = slider({min: 0, max: 15, step: 1, value: 15, label: 'Position'});
      let positionSet = false;  // until the reader moves it, the slider follows the name's last position
      position.input.addEventListener('input', () => { positionSet = true; });
      name.addEventListener('input', () => { positionSet = false; });
      const group = id('weights');
      const weights = ['trained', 'initial'].map(w => element('input', {type: 'radio', name: group, value: w, checked: w === 'trained'}));
      const choice = element('fieldset', {className: 'livefig-choice'}, [element('legend', {textContent: 'Weights'}),
        ...weights.flatMap((w, i) => [w, labelled(w, ['trained', 'initial (before training)'][i])])]);
      const grid = element('div', {className: 'livefig-heads', tabIndex: 0, attrs: {role: 'region', 'aria-label': 'Attention weights of each head'}});
      return {
        controls: [element('div', {className: 'livefig-field'}, [labelled(name, 'Name'), name]), position.row, choice],
        values: () => ({name: name.value.trim(), pos: positionSet ? Number(position.input.value) : '',
                        weights: weights.find(w => w.checked).value}),
        draw(r) {
          if (!name.value.trim()) name.value = r.name;
          position.input.max = String(r.tokens.length - 1);
          if (!positionSet) position.input.value = String(r.pos);  // not while the reader moves it
          position.sync();
          const rows = r.heads.map((head, h) => element('div', {className: 'livefig-head', attrs: {role: 'img',
            'aria-label': `head ${h}: ` + head.map((w, j) => `${r.tokens[j]} ${r.shown[h][j]}`).join(', ')}},
            [element('span', {className: 'livefig-head-name', textContent: `head ${h}`}),
             ...r.tokens.map((t, j) => j <= r.pos
               ? element('span', {className: 'livefig-cell', style: `background: rgba(31, 95, 153, ${head[j].toFixed(3)}); color: ${head[j] > 0.5 ? '#fff' : '#000'}`},
                         [element('span', {textContent: t}), element('span', {className: 'livefig-w', textContent: r.shown[h][j]})])
               : element('span', {className: 'livefig-cell livefig-future'}, [element('span', {textContent: t}), element('span', {className: 'livefig-w', textContent: '–'})]))]));
          grid.replaceChildren(...rows);
          figure.replaceChildren(element('p', {}, [`"${r.name}", ${r.weights} weights: position ${r.pos} (`,
            element('strong', {textContent: r.tokens[r.pos]}), `) looks at positions 0 to ${r.pos}. Each row is one head; ` +
            'its weights add up to 1; darker means more weight. The positions after it (–) do not exist yet when it runs.']), grid);
        },
      };
    },

    temperature(options, figure) {
      const t = slider({min: 0.05, max: 3, step: 0.05, value: options.temperature ?? 0.5, label: 'Temperature',
                        format: v => String(Number(v))});
      const chart = element('div', {className: 'livefig-dist'});  // an image (role img) once drawn
      const top = element('p'), names = element('ol', {className: 'livefig-names'});
      const caption = element('p', {className: 'livefig-caption'});
      const parts = [caption, chart, top, element('p', {className: 'livefig-caption'}, ['The first names ',
        element('code', {textContent: 'generate'}), ' writes at this temperature, from the random state right after training:']), names];
      return {
        controls: [t.row],
        values: () => ({t: Number(t.input.value)}),
        draw(r) {
          if (!figure.contains(chart)) figure.replaceChildren(...parts);  // nothing drawn before the first answer
          // the vertical scale: from 0 to the first of these at least as large as the largest probability
          const scale = [0.1, 0.2, 0.5, 1].find(v => v >= Math.max(...r.probs)) || 1;
          caption.textContent = `Probability of each first letter: the chart's height is ${scale}; the dotted line is the even share.`;
          const even = element('span', {className: 'livefig-even', style: `bottom: ${(100 * r.even / scale).toFixed(2)}%`, attrs: {'aria-hidden': 'true'}});
          chart.replaceChildren(...r.probs.map((p, i) => element('span', {className: 'livefig-col', title: `${r.tokens[i]} ${r.shown[i]}`}, [
            element('span', {className: 'livefig-col-bar' + (r.top[0] === i ? ' livefig-top' : ''), style: `height: ${(100 * p / scale).toFixed(2)}%`}),
            element('span', {className: 'livefig-col-label', textContent: r.tokens[i] === 'BOS' ? '.' : r.tokens[i]})])), even);
          const five = r.top.map(i => `${r.tokens[i]} ${r.shown[i]}`).join(', ');
          chart.setAttribute('role', 'img');
          chart.setAttribute('aria-label', `At temperature ${r.t_shown}, the five likeliest first letters: ${five}. The even share is ${r.even_shown}.`);
          top.textContent = `At T = ${r.t_shown}, the five likeliest: ${five}. The even share is 1/${r.tokens.length} = ${r.even_shown}. (The bar "." is BOS: an empty name.)`;
          names.replaceChildren(...r.names.map(n => element('li', {textContent: n || '(empty)'})));
        },
        clear() {
          chart.replaceChildren(); chart.removeAttribute('role'); chart.removeAttribute('aria-label');
          caption.textContent = top.textContent = ''; names.replaceChildren();
        },
      };
    },
  };

  // ---------------------------------------------------------------- one box
  function liveFigure(box) {
    const kind = box.dataset.livefig;
    const options = JSON.parse(box.dataset.options || '{}');
    const body = box.querySelector('.livefig-body');
    const figure = element('div', {className: 'livefig-figure'});
    const fig = FIGURES[kind](options, figure);
    const status = element('p', {className: 'livefig-status', attrs: {role: 'status'}});
    const start = element('button', {type: 'button', className: 'livefig-start', textContent: '▶ Start: compute it in the page'});
    box.livefig = {last: null, update};
    box.dataset.drawn = '0';
    let busy = false, again = false;
    async function update() {
      if (busy) { again = true; return; }
      busy = true;
      box.dataset.state = 'computing';
      status.textContent = overFile ? FILE_MESSAGE : (document.documentElement.dataset.inpageStartSeconds
        ? 'Computing…' : 'Starting Python in the page (the first time: about 12 MB)…');
      try {
        if (overFile) throw new Error(FILE_MESSAGE);
        const api = await inpageReady();
        const result = await api.call('live_figure', kind, JSON.stringify(fig.values()));
        box.livefig.last = result;
        if (result.refused) {
          (fig.clear || (() => figure.replaceChildren()))();
          status.textContent = result.refused;
          box.dataset.state = 'refused';
        } else {
          fig.draw(result);
          start.hidden = true;
          status.textContent = 'Computed by the program in this page.';
          box.dataset.state = 'done';
          box.dataset.drawn = String(Number(box.dataset.drawn) + 1);
        }
      } catch (err) {
        status.textContent = /stopped|restarted/.test(err.message)
          ? 'Python was stopped (a cell\'s Stop): change a control to compute again.' : err.message.split('\n').filter(Boolean).pop();
        box.dataset.state = 'failed';
      }
      busy = false;
      if (again) { again = false; update(); }
    }
    start.onclick = update;
    const controls = element('div', {className: 'livefig-controls', attrs: {role: 'group', 'aria-label': `Controls of the live figure (${kind})`}},
                             [...fig.controls]);
    box.addEventListener('input', update);  // any control: a slider moved, a letter typed, a radio button chosen
    body.replaceChildren(controls, start, status, figure);
  }
  boxes.forEach(liveFigure);
})();
