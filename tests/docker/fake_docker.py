#!/usr/bin/env python3
"""A fault-injecting fake Docker Engine API, for what a real dockerd will not
do on demand. Standard library only.

    fake_docker.py --mode MODE (--unix PATH | --tcp PORTFILE) --fixtures DIR
                   [--container-id ID]

Modes:
  good        answers like the recorded daemon (tests/fixtures/docker), with
              one running container, ID (the inspect of lw-rec-web under
              that ID), and an events stream that stays open
  malformed   a well-formed ping, info and events stream, but a container
              list that is not valid JSON
  truncated   chunked replies cut off mid-chunk (list and events stream)
  silent      accepts every connection and never answers
  endless     ping answers; info (and everything else) is an endless body
  http500     every request gets HTTP 500 with a Docker-style error

With --tcp the server listens on 127.0.0.1 on a free port and writes the
port to PORTFILE. Runs until killed.
"""
import argparse
import json
import os
import socket
import socketserver
import threading
import time

CHUNK_HEAD = ("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: chunked\r\n\r\n")


def reply(status, body, content_type="application/json"):
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    data = body.encode() if isinstance(body, str) else body
    return (f"HTTP/1.1 {status} {reason}\r\nApi-Version: 1.41\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


def chunk(text):
    data = text.encode()
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class Handler(socketserver.BaseRequestHandler):
    def read_request(self):
        data = b""
        self.request.settimeout(10)
        while b"\r\n\r\n" not in data:
            more = self.request.recv(4096)
            if not more:
                return None
            data += more
        return data.split(b"\r\n", 1)[0].decode(errors="replace")

    def hold(self, seconds=3600):
        """Keeps the connection open until the client leaves."""
        self.request.settimeout(1)
        end = time.time() + seconds
        while time.time() < end:
            try:
                if not self.request.recv(4096):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def handle(self):
        cfg = self.server.cfg
        mode = cfg.mode
        if mode == "silent":
            self.hold()
            return
        line = self.read_request()
        if line is None:
            return
        parts = line.split(" ")
        target = parts[1] if len(parts) > 1 else "/"
        send = self.request.sendall
        try:
            if mode == "http500":
                send(reply(500, '{"message":"fake daemon on fire"}'))
                return
            if target == "/_ping":
                send(reply(200, "OK", "text/plain; charset=utf-8"))
                return
            if mode == "endless":
                send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
                filler = b'{"Id":"' + b"0" * 64 + b'"},' * 1
                while True:
                    send(filler * 64)
            path = target.split("?", 1)[0]
            if path.endswith("/info"):
                send(reply(200, cfg.info))
            elif path.endswith("/events"):
                if mode == "truncated":
                    send(CHUNK_HEAD.encode() + b"1a4\r\n{\"status\":\"start\",\"id\":\"")
                    return  # closes mid-chunk
                send(CHUNK_HEAD.encode())
                self.hold()
            elif path.endswith("/containers/json"):
                if mode == "malformed":
                    send(reply(200, '[{"Id": "' + cfg.container_id + '", "Names": ["/x"],'))
                elif mode == "truncated":
                    send(CHUNK_HEAD.encode() + b"400\r\n" + cfg.listing.encode()[:100])
                else:
                    send(reply(200, cfg.listing))
            elif path.endswith("/containers/" + cfg.container_id + "/json"):
                send(reply(200, cfg.inspect))
            else:
                send(reply(404, '{"message":"No such container"}'))
        except OSError:
            pass  # the client hung up: expected with endless bodies


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Config:
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True,
                    choices=["good", "malformed", "truncated", "silent", "endless", "http500"])
    ap.add_argument("--unix")
    ap.add_argument("--tcp")
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--container-id", default="a" * 64)
    args = ap.parse_args()

    cfg = Config()
    cfg.mode = args.mode
    cfg.container_id = args.container_id
    with open(os.path.join(args.fixtures, "info.json")) as f:
        cfg.info = f.read()
    with open(os.path.join(args.fixtures, "inspect_web.json")) as f:
        inspect = json.load(f)
    inspect["Id"] = args.container_id
    cfg.inspect = json.dumps(inspect)
    cfg.listing = json.dumps([{"Id": args.container_id, "Names": ["/lw-rec-web"],
                               "State": "running"}])

    if args.unix:
        try:
            os.unlink(args.unix)
        except FileNotFoundError:
            pass
        server = UnixServer(args.unix, Handler)
    else:
        server = TcpServer(("127.0.0.1", 0), Handler)
        with open(args.tcp + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(args.tcp + ".tmp", args.tcp)
    server.cfg = cfg
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
