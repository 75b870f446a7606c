"""Serve a built book on 127.0.0.1 (make serve): `python3 serve.py SITE [PORT]`. Standard library only.

Browsers compile WebAssembly streamed from a server only when it comes as application/wasm, which not every
Python's mimetypes knows; and they refuse WebAssembly from file:// addresses altogether, hence this server.
It also sends the two headers that make the pages cross-origin isolated (COOP and COEP), so the page may share
memory with its Python: Stop then interrupts a running cell (KeyboardInterrupt) and keeps what the cells defined.
Served without them, Stop ends the page's Python and starts it afresh (book/_ext/inpage/static/inpage.js).
"""

import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      '.wasm': 'application/wasm', '.js': 'text/javascript', '.mjs': 'text/javascript',
                      '.json': 'application/json', '.py': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8'}

    def end_headers(self):
        self.send_header('Cross-Origin-Opener-Policy', 'same-origin')
        self.send_header('Cross-Origin-Embedder-Policy', 'require-corp')
        super().end_headers()


def main(site='_build/html', port=8000):
    handler = functools.partial(Handler, directory=site)
    with http.server.ThreadingHTTPServer(('127.0.0.1', int(port)), handler) as server:
        print(f'serving {site} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)', flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == '__main__':
    main(*sys.argv[1:])
