#!/usr/bin/env python3
"""Start a Jupyter kernel over the REST API and run code over its websocket, standard library
only. Usage: kernel_ws.py BASE_URL TOKEN_FILE CODE EXPECTED [KERNEL_ID_FILE]

With KERNEL_ID_FILE: reuse the kernel named in it if the file exists (and check over REST that
it is still alive), else start one and write its id there.

Prints the kernel's text/plain result; exits 0 when it equals EXPECTED. The token is read from
a file so that it never appears on a command line."""

import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.parse
import urllib.request
import uuid


def ws_connect(host, port, path, headers, timeout=20):
    sock = socket.create_connection((host, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed during the websocket handshake")
        reply += chunk
    head, rest = reply.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError("websocket handshake refused: " + head.split(b"\r\n")[0].decode())
    return sock, rest


def ws_send(sock, text):
    payload = text.encode()
    header = bytes([0x81])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", n)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + mask + masked)


class Reader:
    def __init__(self, sock, buffered):
        self.sock = sock
        self.buf = buffered

    def take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self):
        data = b""
        while True:
            b0, b1 = self.take(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.take(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.take(8))[0]
            payload = self.take(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("websocket closed by the server")
            if opcode in (9, 10):  # ping/pong
                continue
            data += payload
            if b0 & 0x80:
                return data.decode()


def main():
    base, token_file, code, expected = sys.argv[1:5]
    id_file = sys.argv[5] if len(sys.argv) > 5 else None
    token = open(token_file).read().strip()
    auth = {"Authorization": f"token {token}"}
    if id_file and os.path.exists(id_file):
        kid = open(id_file).read().strip()
        req = urllib.request.Request(base.rstrip("/") + f"/api/kernels/{kid}", headers=auth)
        kernel = json.load(urllib.request.urlopen(req, timeout=30))
        print(f"kernel {kernel['id']} is still alive", file=sys.stderr)
    else:
        req = urllib.request.Request(base.rstrip("/") + "/api/kernels", data=b"{}",
                                     method="POST",
                                     headers={**auth, "Content-Type": "application/json"})
        kernel = json.load(urllib.request.urlopen(req, timeout=30))
        print(f"kernel {kernel['id']} started", file=sys.stderr)
        if id_file:
            with open(id_file, "w") as f:
                f.write(kernel["id"])
    url = urllib.parse.urlparse(base)
    session = uuid.uuid4().hex
    path = f"{url.path.rstrip('/')}/api/kernels/{kernel['id']}/channels?session_id={session}"
    sock, rest = ws_connect(url.hostname, url.port, path, auth)
    reader = Reader(sock, rest)
    msg_id = uuid.uuid4().hex
    ws_send(sock, json.dumps({
        "header": {"msg_id": msg_id, "username": "jl-test", "session": session,
                   "msg_type": "execute_request", "version": "5.3",
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    deadline = time.time() + 30
    while time.time() < deadline:
        msg = json.loads(reader.message())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            result = msg["content"]["data"]["text/plain"]
            print(result)
            return 0 if result == expected else 1
        if msg["msg_type"] == "error":
            print("kernel error: " + msg["content"].get("ename", "?"), file=sys.stderr)
            return 1
    print("no result within 30 s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
