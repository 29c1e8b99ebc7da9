#!/usr/bin/env python3
"""demo-proxy.py - the demo's one URL: a loopback proxy to the lab's agent.

Usage: demo-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT TOKEN_FILE

`make demo` runs `kvmscope serve` inside the lab's L1 guest, where real
KVM runs.  QEMU forwards a host port to it, but the agent listens on L1's
network interface, and an agent that listens beyond loopback demands a
bearer token; the web UI has no place for one.  This proxy listens on
127.0.0.1 only and passes every request to the agent with the token
added, so a browser on this machine sees the agent as if it were local.
It adds nothing else and keeps no state; it is part of the demo, not of
kvmscope.
"""
import http.client
import http.server
import socketserver
import sys

HOP = {"connection", "keep-alive", "proxy-authenticate",
       "proxy-authorization", "te", "trailers", "transfer-encoding",
       "upgrade", "host", "authorization"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        hdrs["Authorization"] = "Bearer " + TOKEN
        try:
            c = http.client.HTTPConnection(UPSTREAM, timeout=60)
            c.request(self.command, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
        except OSError as e:
            msg = ("the lab's agent at %s does not answer: %s\n"
                   % (UPSTREAM, e)).encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
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


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: demo-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT TOKEN_FILE")
    UPSTREAM = sys.argv[2]
    TOKEN = open(sys.argv[3]).read().strip()
    srv = Server(("127.0.0.1", int(sys.argv[1])), Proxy)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
