"""interop_peer.py - Python's asyncio side of test_aio_interop (loopback only).
SPDX-License-Identifier: MIT

Usage:
  python3 interop_peer.py server SCENARIO       listens on 127.0.0.1 port 0,
                                                prints the port on a line of its
                                                own, serves ONE connection, exits
  python3 interop_peer.py client SCENARIO PORT  connects to 127.0.0.1:PORT

Either way it then prints one line, "transcript: " and the events of its
side joined by "; ", the same events test_aio_interop.c records for its own
side of the same scenario (so each side's golden transcript holds whichever
program plays it), and exits 0. Bytes in events are quoted with \\n and \\xNN
escapes. Every wait is bounded (10 s), so a stuck peer ends the script with
status 1 instead of hanging the test.

Scenarios (client / server):
  lines    the client sends three lines, reading the server's reply line to
           each; the server replies "echo: LINE" and, to "bye", "bye!" and
           closes; the client then reads end of file
  exactly  the client sends "data 5000" and 5000 bytes in three pieces; the
           server reads them with readexactly, replies "got 5000 sum S" and
           4096 bytes; the client reads those with readexactly, writes EOF;
           the server reads end of file and closes
  pipeline the client writes 200 lines "line NNN" in one write, then reads
           the 200 replies "echo: line NNN" and checks them, writes EOF; the
           server replies to each line as it reads it, until end of file
  eof      the client sends "abc" and EOF; the server's readexactly(10) fails
           with IncompleteReadError (3 of 10 bytes), it replies "partial 3
           abc" and closes; the client reads that line, then "" (EOF)
"""
import asyncio
import sys

TIMEOUT = 10.0


def esc(data):
    out = []
    for b in data:
        if b == 10:
            out.append("\\n")
        elif 32 <= b < 127 and b not in (34, 92):
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


def pattern(n, mul, add):
    return bytes((i * mul + add) & 0xFF for i in range(n))


async def client(scenario, reader, writer, tr):
    if scenario == "lines":
        for line in (b"hello\n", b"how are you\n", b"bye\n"):
            writer.write(line)
            await writer.drain()
            tr.append("readline " + esc(await reader.readline()))
        data = await reader.read(100)
        tr.append("eof" if data == b"" else "read " + esc(data))
    elif scenario == "exactly":
        writer.write(b"data 5000\n")
        body = pattern(5000, 7, 3)
        for a, b in ((0, 1000), (1000, 4000), (4000, 5000)):
            writer.write(body[a:b])
            await writer.drain()
            await asyncio.sleep(0.01)
        tr.append("readline " + esc(await reader.readline()))
        back = await reader.readexactly(4096)
        tr.append("readexactly 4096 " + ("ok" if back == pattern(4096, 13, 1) else "differs"))
        writer.write_eof()
        data = await reader.read(100)
        tr.append("eof" if data == b"" else "read " + esc(data))
    elif scenario == "pipeline":
        writer.write(b"".join(b"line %03d\n" % i for i in range(200)))
        await writer.drain()
        bad = None
        for i in range(200):
            line = await reader.readline()
            if bad is None and line != b"echo: line %03d\n" % i:
                bad = f"reply {i} differs: {esc(line)}"
        tr.append(bad or "200 replies ok")
        writer.write_eof()
        data = await reader.read(100)
        tr.append("eof" if data == b"" else "read " + esc(data))
    elif scenario == "eof":
        writer.write(b"abc")
        writer.write_eof()
        tr.append("readline " + esc(await reader.readline()))
        tr.append("readline " + esc(await reader.readline()))
        tr.append("at_eof " + ("yes" if reader.at_eof() else "no"))
    writer.close()
    await writer.wait_closed()


async def server(scenario, reader, writer, tr):
    if scenario == "lines":
        while True:
            line = await reader.readline()
            if not line:
                tr.append("eof")
                break
            tr.append("readline " + esc(line))
            if line == b"bye\n":
                writer.write(b"bye!\n")
                await writer.drain()
                break
            writer.write(b"echo: " + line)
            await writer.drain()
    elif scenario == "exactly":
        tr.append("readline " + esc(await reader.readline()))
        body = await reader.readexactly(5000)
        tr.append("readexactly 5000 " + ("ok" if body == pattern(5000, 7, 3) else "differs"))
        writer.write(b"got 5000 sum %d\n" % sum(body))
        writer.write(pattern(4096, 13, 1))
        await writer.drain()
        data = await reader.read(100)
        tr.append("eof" if data == b"" else "read " + esc(data))
    elif scenario == "pipeline":
        n = 0
        while True:
            line = await reader.readline()
            if not line:
                break
            n += 1
            writer.write(b"echo: " + line)
            await writer.drain()
        tr.append(f"{n} lines")
        tr.append("eof")
    elif scenario == "eof":
        try:
            await reader.readexactly(10)
            tr.append("readexactly 10 returned")
        except asyncio.IncompleteReadError as e:
            tr.append(f"{type(e).__name__}: {e}")
            writer.write(b"partial %d %s\n" % (len(e.partial), e.partial))
            await writer.drain()
    writer.close()
    await writer.wait_closed()
    tr.append("closed")


async def main(role, scenario, port):
    tr = []
    if role == "client":
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), TIMEOUT)
        await asyncio.wait_for(client(scenario, reader, writer, tr), TIMEOUT)
    else:
        done = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            try:
                await server(scenario, reader, writer, tr)
            finally:
                if not done.done():
                    done.set_result(None)

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.wait_for(done, TIMEOUT)
        srv.close()
        await srv.wait_closed()
    print("transcript: " + "; ".join(tr), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not ((len(args) == 2 and args[0] == "server") or (len(args) == 3 and args[0] == "client")) \
            or args[1] not in ("lines", "exactly", "pipeline", "eof"):
        sys.exit("usage: interop_peer.py server SCENARIO | client SCENARIO PORT")
    asyncio.run(main(args[0], args[1], int(args[2]) if len(args) == 3 else 0))
