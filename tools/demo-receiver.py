#!/usr/bin/env python3
"""A stand-in county platform for the demo: accepts POSTs and prints one line each."""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        kind = self.headers.get("X-Message-Type", "?")
        src = self.headers.get("X-Source-Facility", "?")
        ctl = self.headers.get("X-Source-Control-Id", "?")
        print(f"[县平台 county-platform] 收到 (received) {kind} 来自 {src} 控制号 {ctl} "
              f"({len(body)} 字节) Idempotency-Key={self.headers.get('Idempotency-Key')}", flush=True)
        out = json.dumps({"status": "accepted"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
