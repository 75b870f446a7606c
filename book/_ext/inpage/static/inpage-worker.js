// The book's Python, in a Web Worker so the page stays responsive (started by inpage.js on the first Run).
// It loads Pyodide's core from the site itself (ROOT/pyodide/), puts the files the build wrote beside the
// pages (as ROOT/files.json lists them: tangle.py, pagert.py, the program, the trained run, the names...) where
// the cells expect a checkout of the book (/book), and then answers messages one at a time:
//   {id, op: 'start', root, page, interrupt}  -> {id, result: seconds Python took to start}
//   {id, op: 'run', code, label}  -> {id, result: [[kind, text], ...]}   (pagert.run_cell); before it, while the
//                                    cell runs, {id, partial: [[kind, text], ...]}: what it printed since the last
//   {id, op: 'call', fn, args}    -> {id, result: <JSON from pagert.fn(*args)>}
// A failure of the runtime itself comes back as {id, failed: message}.
// Stop: where the page is cross-origin isolated (make serve sends the headers), `interrupt` is an Int32Array on a
// SharedArrayBuffer that Pyodide watches: the page writes 2 (SIGINT) in it and the running Python raises
// KeyboardInterrupt. Elsewhere the page ends this worker and starts another (inpage.js, stopPython).
let ready = null, interrupt = null;

async function start(root, page) {
  importScripts(root + 'pyodide/pyodide.js');
  const began = performance.now();
  const pyodide = await loadPyodide({indexURL: root + 'pyodide/'});
  const files = await (await fetch(root + 'files.json')).json();  // [[file beside the pages, where it goes], ...]
  const texts = await Promise.all(files.map(async ([name]) => {
    const answer = await fetch(root + name);
    if (!answer.ok) throw new Error(`${root + name}: HTTP ${answer.status}`);
    return answer.text();
  }));
  const fs = pyodide.FS;
  files.forEach(([, where], i) => {
    fs.mkdirTree(where.split('/').slice(0, -1).join('/'));
    fs.writeFile(where, texts[i]);
  });
  const folder = '/book/' + page.split('/').slice(0, -1).join('/');  // the page's folder, as in a checkout
  fs.mkdirTree(folder);
  pyodide.runPython(`import os, sys; os.chdir(${JSON.stringify(folder)}); sys.path.insert(0, '/book/_inpage'); sys.path.append('/book')
import pagert`);
  if (interrupt) pyodide.setInterruptBuffer(interrupt);
  return {pyodide, pagert: pyodide.pyimport('pagert'), seconds: (performance.now() - began) / 1000};
}

let queue = Promise.resolve();
self.onmessage = event => {
  const msg = event.data;
  queue = queue.then(async () => {
    try {
      if (msg.op === 'start') {
        interrupt ||= msg.interrupt || null;
        ready ||= start(msg.root, msg.page);
        const {seconds} = await ready;
        return postMessage({id: msg.id, result: seconds});
      }
      const {pagert} = await ready;
      if (interrupt) Atomics.store(interrupt, 0, 0);  // a Stop meant for a request before this one is not for this one
      const live = text => postMessage({id: msg.id, partial: JSON.parse(text)});
      const answer = msg.op === 'run' ? pagert.run_cell(msg.code, msg.label, live) : pagert[msg.fn](...(msg.args || []));
      postMessage({id: msg.id, result: JSON.parse(answer)});
    } catch (err) {
      postMessage({id: msg.id, failed: String(err && err.message || err)});
    }
  });
};
