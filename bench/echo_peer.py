"""echo_peer.py - uvloop's and asyncio's echo servers for coro-bench's echo rows.
SPDX-License-Identifier: MIT

Usage: python3 echo_peer.py LOOP
  LOOP  uvloop: uvloop's loop with the protocol API (a Protocol whose
        data_received writes the data straight back: uvloop's fastest path)
        asyncio: asyncio's own loop with streams (asyncio.start_server and a
        handler that reads up to 64 KiB, writes it and drains, as
        coro-bench's aio_echo_rps server does)

Listens on 127.0.0.1, port 0 (the kernel picks one), prints the port on a
line of its own on stdout, and serves until its stdin reaches end of file;
then it closes the server and exits 0. coro-bench's C client (echo_client.c)
drives it.
"""
import asyncio
import os
import sys

READ_SIZE = 65536


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def echo_stream(reader, writer):
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(kind):
    loop = asyncio.get_running_loop()
    if kind == "uvloop":
        server = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
    else:
        server = await asyncio.start_server(echo_stream, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    done = loop.create_future()
    stdin = sys.stdin.fileno()

    def on_stdin():
        if not os.read(stdin, 4096) and not done.done():
            done.set_result(None)

    loop.add_reader(stdin, on_stdin)
    await done
    loop.remove_reader(stdin)
    server.close()
    await server.wait_closed()


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("uvloop", "asyncio"):
        sys.exit("usage: echo_peer.py uvloop|asyncio")
    kind = sys.argv[1]
    if kind == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    print(f"coro-bench: {kind} echo server: Python {sys.version.split()[0]} "
          f"({sys.executable})", file=sys.stderr)
    try:
        loop.run_until_complete(serve(kind))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
