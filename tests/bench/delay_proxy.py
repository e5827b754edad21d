#!/usr/bin/env python3
"""A TCP proxy that adds a fixed one-way delay in each direction (so RTT grows by twice the
delay) without limiting throughput: every chunk is forwarded at its arrival time + delay, in
order. Usage: delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS [LISTEN_ADDR]

It listens on LISTEN_ADDR (127.0.0.1 unless given; one address, never a wildcard) and forwards to
127.0.0.1:TARGET_PORT. LISTEN_PORT 0 takes a free port; the first line printed names it.

With JL_PROXY_TRACE=FILE in the environment it appends one line per chunk read to FILE:
"MONOTONIC CONN DIR BYTES WALLCLOCK": the time it arrived at the proxy (time.monotonic()), the
connection's number (1, 2, ... in accept order), C>S (client to server) or S>C, its size, and the
same instant as seconds since the epoch (to compare with `date +%s.%N`). Chunks are logged when
they arrive, before the delay; TCP's own ACKs are not seen."""

import asyncio
import itertools
import os
import sys
import time

TRACE = None
CONN_IDS = itertools.count(1)


def trace(conn, direction, size):
    if TRACE is not None:
        TRACE.write(f"{time.monotonic():.6f} {conn} {direction} {size} {time.time():.6f}\n")


async def pipe(reader, writer, delay, conn=0, direction=""):
    queue = asyncio.Queue()

    async def pump_out():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    out = asyncio.create_task(pump_out())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            trace(conn, direction, len(data))
            queue.put_nowait((time.monotonic() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((time.monotonic() + delay, None))
    try:
        await out
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, target_port, delay):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    conn = next(CONN_IDS)
    await asyncio.gather(pipe(client_reader, server_writer, delay, conn, "C>S"),
                         pipe(server_reader, client_writer, delay, conn, "S>C"))
    for w in (client_writer, server_writer):
        try:
            w.close()
        except OSError:
            pass


async def main():
    global TRACE
    if os.environ.get("JL_PROXY_TRACE"):
        TRACE = open(os.environ["JL_PROXY_TRACE"], "a", buffering=1, encoding="ascii")
    listen_port, target_port, delay_ms = (int(a) for a in sys.argv[1:4])
    listen_addr = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
    if listen_addr in ("", "0.0.0.0", "::"):
        sys.exit("delay_proxy.py: LISTEN_ADDR must be one address, not a wildcard")
    delay = delay_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target_port, delay), listen_addr, listen_port)
    listen_port = server.sockets[0].getsockname()[1]
    print(f"delay proxy {listen_addr}:{listen_port} -> {target_port} (+{delay_ms} ms each way)",
          flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
