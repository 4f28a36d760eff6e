# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""busyloop.py SECS PROGRESS - a request-handling loop, thousands of
requests a second through nested calls whose locals always hold the same
values, so a dump that shows another frame's memory is caught at once.

    <module> -> main -> serve -> parse (the request line), then
    serve -> Handler.handle -> Handler.render -> Handler.fill

Every call reuses the frame memory the previous one left (3.11+ frames
live in a per-thread data stack; older ones come from free lists), so a
reader that does not re-check sees parse's bytes where render's `n` was.
Known values (cases_dumpconsistency.py relies on them):

    Handler.handle  kind = 'page'
    Handler.render  n = 500, title = 'busyloop'
    Handler.fill    count = 500 (argument), step = 7
    parse           method = b'GET'

PROGRESS is a file that holds the number of requests served so far,
rewritten in place every 256 requests with os calls only (C code: no
extra Python frame), so a test can tell that the process keeps running.
"""
import os
import sys
import time

RAW = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"


def parse(raw):
    line = raw.split(b"\r\n")[0]
    method, path, version = line.split(b" ")
    method = b"GET"
    return (method, path, version)


class Handler(object):
    def handle(self, request):
        kind = "page"
        body = self.render(request)
        return len(body) + len(kind)

    def render(self, request):
        n = 500
        title = "busyloop"
        text = self.fill(n, title)
        return text

    def fill(self, count, title):
        step = 7
        total = 0
        for i in range(0, count, step):
            total += i
        return "%s:%d" % (title, total)


def serve(handler, raw):
    request = parse(raw)
    return handler.handle(request)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) \
        if len(sys.argv) > 2 else -1
    handler = Handler()
    served = 0
    end = time.time() + seconds
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while time.time() < end:
        for _ in range(256):
            serve(handler, RAW)
        served += 256
        if fd >= 0:
            os.lseek(fd, 0, 0)
            os.write(fd, ("%d\n" % served).encode("ascii"))
    if fd >= 0:
        os.close(fd)


main()
