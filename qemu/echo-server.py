#!/usr/bin/python3
"""Echo server on Unix sockets, the host end of the harness self-test.

Listens on each path given, prints "listening" once all are bound, and
sends back every byte it receives on each accepted connection until the
peer closes. It stops when its stdin reaches end of file.

Received bytes are queued in memory and sent when the socket is writable,
so the server keeps reading while the guest is still sending. A blocking
send would stall both sides once the socket buffers fill. They fill fast,
because QEMU's UART sends one byte per socket write and each byte costs a
whole buffer entry.
"""
import argparse
import os
import selectors
import socket
import sys


class Connection:
    def __init__(self, sock, path):
        self.sock = sock
        self.path = path
        self.pending = bytearray()
        self.echoed = 0


def close(sel, conn, reason):
    print(f"echo-server: {conn.path}: connection {reason} after {conn.echoed} bytes",
          file=sys.stderr, flush=True)
    sel.unregister(conn.sock)
    conn.sock.close()


def service(sel, conn, events):
    try:
        if events & selectors.EVENT_READ:
            data = conn.sock.recv(65536)
            if not data:
                close(sel, conn, "closed by the peer")
                return
            conn.pending += data
        if conn.pending:
            sent = conn.sock.send(conn.pending)
            del conn.pending[:sent]
            conn.echoed += sent
    except BlockingIOError:
        pass
    except OSError as err:
        close(sel, conn, f"failed: {err}")
        return
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.pending else 0)
    sel.modify(conn.sock, events, conn)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="Unix socket paths to listen on")
    args = parser.parse_args()

    sel = selectors.DefaultSelector()
    for path in args.paths:
        if os.path.exists(path):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(4)
        sel.register(listener, selectors.EVENT_READ, path)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    print("listening", flush=True)

    while True:
        for key, events in sel.select():
            if key.data is None:
                if not sys.stdin.buffer.read1(4096):
                    return 0
            elif isinstance(key.data, str):
                sock, _ = key.fileobj.accept()
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, Connection(sock, key.data))
            else:
                service(sel, key.data, events)


if __name__ == "__main__":
    sys.exit(main())
