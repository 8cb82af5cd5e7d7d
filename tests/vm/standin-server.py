#!/usr/bin/python3
"""The real-boot tests' download stand-in: one HTTPS server on loopback
for every host the bootstrap downloads from (the guest reaches it only
through qemu's guestfwd). A request for https://HOST/PATH is answered from
ROOT/HOST/PATH (a directory's index.json, for npm packuments); every
request is logged, one line each, to LOG; a path that starts with one of
the --fail prefixes (HOST/PATH) answers 404, as a broken download would.

    standin-server.py --root DIR --cert PEM --key PEM --log FILE [--fail HOST/PATH ...]
                      [--tamper-file FILE]

With --tamper-file, a request whose HOST/PATH starts with a line of FILE
(read at every request, so a test can switch it while the server runs) is
answered with the file's bytes but its last one flipped: a substituted
download, which npm must refuse against the lock's integrity.

Prints the port it listens on (127.0.0.1, chosen by the kernel) on its
first line of output.
"""
import argparse, http.server, os, ssl, sys, threading, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--fail", action="append", default=[])
ap.add_argument("--tamper-file")
opts = ap.parse_args()
root = os.path.realpath(opts.root)
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status, size):
        with lock, open(opts.log, "a") as f:
            f.write(f"{self.command} {self.host()}{self.path} {status} {size}\n")

    def host(self):
        return (self.headers.get("Host") or "").split(":")[0].lower()

    def file(self):
        rel = urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
        path = os.path.realpath(os.path.join(root, self.host(), rel))
        if not path.startswith(root + os.sep):
            return None
        if os.path.isdir(path):
            path = os.path.join(path, "index.json")
        return path if os.path.isfile(path) else None

    def do_HEAD(self):
        self.answer(head=True)

    def do_GET(self):
        self.answer(head=False)

    def answer(self, head):
        wanted = self.host() + urllib.parse.unquote(self.path.split("?", 1)[0])
        path = None if any(wanted.startswith(p) for p in opts.fail) else self.file()
        if path is None:
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return self.record(404, len(body))
        size = os.path.getsize(path)
        self.send_response(200)
        kind = "application/json" if path.endswith(".json") else "application/octet-stream"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        tampered = self.tampered(wanted)
        if not head:
            with open(path, "rb") as f:
                if tampered:
                    data = bytearray(f.read())
                    data[-1] ^= 1
                    self.wfile.write(bytes(data))
                else:
                    while chunk := f.read(1 << 20):
                        self.wfile.write(chunk)
        self.record("200-tampered" if tampered else 200, size)

    def tampered(self, wanted):
        if not opts.tamper_file:
            return False
        try:
            with open(opts.tamper_file) as f:
                prefixes = [l.strip() for l in f if l.strip()]
        except OSError:
            return False
        return any(wanted.startswith(p) for p in prefixes)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(opts.cert, opts.key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
