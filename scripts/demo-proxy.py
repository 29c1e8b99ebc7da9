#!/usr/bin/env python3
"""demo-proxy.py - the demo's one URL: a loopback proxy to the lab's agent.

Usage: demo-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT TOKEN_FILE [STATUS_FILE]

`make demo` runs `kvmscope serve` inside the lab's L1 guest, where real
KVM runs.  QEMU forwards a host port to it, but the agent listens on L1's
network interface, and an agent that listens beyond loopback demands a
bearer token; the web UI has no place for one.  This proxy listens on
127.0.0.1 only and passes every request to the agent with the token
added, so a browser on this machine sees the agent as if it were local.
The token file is read again for each request: when the demo restarts a
stuck L1, the new agent has a new token behind the same forwarded port.

With STATUS_FILE (the demo's demo-out/STATUS: what is ready and what is
not), GET /demo/status serves it as text, the web UI's pages get a line
at the top that shows it (a script served here, /demo/banner.js; the
agent's own files are not changed), and while the lab's agent does not
answer (booting, restarting) every request gets that status with a 503.
It keeps no other state; it is part of the demo, not of kvmscope.
"""
import http.client
import http.server
import os
import socketserver
import sys

BANNER_JS = b"""(function () {
  var e = document.createElement('pre');
  e.id = 'kvmscope-demo-status';
  e.style.cssText = 'margin:0;padding:4px 8px;font:12px monospace;' +
    'background:#fff8e0;color:#333;border-bottom:1px solid #d8c070;' +
    'white-space:pre-wrap;max-height:9em;overflow:auto';
  document.body.insertBefore(e, document.body.firstChild);
  function tick() {
    fetch('/demo/status', {cache: 'no-store'})
      .then(function (r) { return r.text(); })
      .then(function (t) { e.textContent = t; })
      .catch(function () { e.textContent = 'kvmscope demo: stopped'; });
  }
  tick();
  setInterval(tick, 5000);
})();
"""
BANNER_TAG = b'<script src="/demo/banner.js" defer></script>'


def status_text():
    try:
        with open(STATUS, "rb") as f:
            return f.read()
    except (OSError, TypeError):
        return b"kvmscope demo: no status yet\n"


def token():
    with open(TOKEN_FILE) as f:
        return f.read().strip()

HOP = {"connection", "keep-alive", "proxy-authenticate",
       "proxy-authorization", "te", "trailers", "transfer-encoding",
       "upgrade", "host", "authorization"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, ctype, data):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        path = self.path.split("?")[0]
        if STATUS and path == "/demo/status":
            return self.reply(200, "text/plain; charset=utf-8", status_text())
        if STATUS and path == "/demo/banner.js":
            return self.reply(200, "text/javascript", BANNER_JS)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        try:
            hdrs["Authorization"] = "Bearer " + token()
            c = http.client.HTTPConnection(UPSTREAM, timeout=60)
            c.request(self.command, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            # HTTPException: an agent cut off mid-answer (L1 restarted)
            msg = ("the lab's agent at %s does not answer: %s\n\n"
                   % (UPSTREAM, e)).encode() + status_text()
            return self.reply(503, "text/plain; charset=utf-8", msg)
        ctype = r.getheader("Content-Type") or ""
        if STATUS and ctype.startswith("text/html") and b"</body>" in data:
            data = data.replace(b"</body>", BANNER_TAG + b"</body>", 1)
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A browser that goes away before its answer is written (a page
        # closed, a screenshot done) is no error of the proxy's; anything
        # else is still printed.
        if isinstance(sys.exc_info()[1], (BrokenPipeError,
                                          ConnectionResetError)):
            return
        super().handle_error(request, client_address)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: demo-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT"
                 " TOKEN_FILE [STATUS_FILE]")
    UPSTREAM = sys.argv[2]
    TOKEN_FILE = sys.argv[3]
    STATUS = sys.argv[4] if len(sys.argv) == 5 else None
    srv = Server(("127.0.0.1", int(sys.argv[1])), Proxy)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    os._exit(0)
