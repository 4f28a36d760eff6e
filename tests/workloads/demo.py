# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""demo.py - a toy web application serving fake requests, for `make demo`.

Usage: demo.py [SECONDS]   (default 6; 0 = run until killed)

The main thread plays a request loop: parse a raw HTTP request, route it,
run a handler (a report with some arithmetic, a search over an in-memory
catalogue, a JSON API), render an HTML template and compress the response.
A helper thread ("metrics") periodically aggregates latencies and writes
a compressed snapshot.  Nothing touches the network or the disk.
"ready" is printed once the loop runs.
"""
import json
import random
import sys
import threading
import time
import zlib
from collections import defaultdict

PATHS = ["/report?year=2023&region=eu", "/search?q=lamp&limit=20",
         "/api/items?id=42", "/report?year=2024&region=us",
         "/search?q=chair&limit=5", "/api/items?id=7"]


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    @classmethod
    def parse(cls, raw):
        head, _, body = raw.partition("\r\n\r\n")
        lines = head.split("\r\n")
        method, target, _version = lines[0].split(" ")
        path, _, qs = target.partition("?")
        query = {}
        for pair in qs.split("&") if qs else ():
            key, _, value = pair.partition("=")
            query[key] = value
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        cookies = {}
        for pair in headers.get("cookie", "").split(";"):
            key, _, value = pair.strip().partition("=")
            cookies[key] = value
        headers["cookie"] = cookies
        return cls(method, path, query, headers, body)


class Catalogue:
    WORDS = ["lamp", "chair", "table", "desk", "sofa", "shelf", "rug", "bed"]

    def __init__(self, size, seed=1):
        rnd = random.Random(seed)
        self.items = []
        for i in range(size):
            name = "%s %s %d" % (rnd.choice(self.WORDS), rnd.choice(self.WORDS), i)
            self.items.append({"id": i, "name": name,
                               "price": round(rnd.uniform(5, 500), 2),
                               "stock": rnd.randint(0, 40)})

    def search(self, term, limit):
        hits = [item for item in self.items if term in item["name"]]
        hits.sort(key=lambda item: (-item["stock"], item["price"]))
        return hits[:limit]

    def get(self, item_id):
        return self.items[item_id % len(self.items)]


def compute_report(year, region):
    # A deliberately CPU-heavy "analytics" step: monthly moving averages.
    rnd = random.Random(hash((year, region)) & 0xffff)
    sales = [rnd.uniform(100, 1000) for _ in range(3000)]
    window = 30
    averages = []
    for i in range(len(sales) - window):
        averages.append(sum(sales[i:i + window]) / window)
    return {"year": year, "region": region, "peak": max(averages),
            "low": min(averages), "points": len(averages)}


class Router:
    def __init__(self, catalogue):
        self.catalogue = catalogue
        self.routes = {"/report": self.report, "/search": self.search,
                       "/api/items": self.item}

    def dispatch(self, request):
        handler = self.routes.get(request.path)
        if handler is None:
            return 404, {"error": "not found"}
        return 200, handler(request)

    def report(self, request):
        return compute_report(int(request.query.get("year", 2024)),
                              request.query.get("region", "eu"))

    def search(self, request):
        return {"results": self.catalogue.search(request.query.get("q", ""),
                                                 int(request.query.get("limit", 10)))}

    def item(self, request):
        return self.catalogue.get(int(request.query.get("id", 0)))


class Renderer:
    TEMPLATE = "<html><head><title>{title}</title></head><body>{body}</body></html>"

    def render(self, status, data):
        if "results" in data:
            rows = "".join("<tr><td>%d</td><td>%s</td><td>%.2f</td></tr>"
                           % (r["id"], self.escape(r["name"]), r["price"])
                           for r in data["results"])
            body = "<table>%s</table>" % rows
        else:
            body = "<pre>%s</pre>" % self.escape(json.dumps(data, indent=2))
        return self.TEMPLATE.format(title=status, body=body)

    @staticmethod
    def escape(text):
        return (text.replace("&", "&amp;").replace("<", "&lt;")
                .replace(">", "&gt;"))


class Metrics:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)

    def observe(self, path, seconds):
        with self.lock:
            self.latencies[path].append(seconds)

    def flush(self):
        with self.lock:
            snapshot = {path: sorted(values) for path, values in self.latencies.items()}
            self.latencies.clear()
        summary = {}
        for path, values in snapshot.items():
            summary[path] = {"n": len(values), "p50": values[len(values) // 2],
                             "p99": values[int(len(values) * 0.99)]}
        return zlib.compress(json.dumps(summary).encode() * 200, 6)


def metrics_loop(metrics, stop):
    while not stop.wait(0.05):
        metrics.flush()


# What a browser sends besides the request line: headers and a long
# cookie, enough that parsing shows in the flame graph next to the work.
HEADERS = "".join("X-Header-%d: value-%d\r\n" % (i, i) for i in range(20)) + \
    "Cookie: %s\r\n" % "; ".join("pref%d=%x" % (i, i * 7919) for i in range(600))


def fake_request(rnd):
    path = rnd.choice(PATHS)
    return ("GET %s HTTP/1.1\r\nHost: demo.local\r\nUser-Agent: pybpf-demo\r\n"
            "Accept: text/html\r\n%s\r\n" % (path, HEADERS))


def serve(router, renderer, metrics, raw):
    start = time.perf_counter()
    request = Request.parse(raw)
    status, data = router.dispatch(request)
    page = renderer.render(status, data)
    payload = zlib.compress(page.encode(), 6)
    metrics.observe(request.path, time.perf_counter() - start)
    return len(payload)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    deadline = time.monotonic() + seconds if seconds > 0 else float("inf")
    rnd = random.Random(42)
    router = Router(Catalogue(5000))
    renderer = Renderer()
    metrics = Metrics()
    stop = threading.Event()
    helper = threading.Thread(target=metrics_loop, args=(metrics, stop), name="metrics")
    helper.start()
    served = 0
    print("ready", flush=True)
    try:
        while time.monotonic() < deadline:
            serve(router, renderer, metrics, fake_request(rnd))
            served += 1
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        helper.join()
    print("served %d requests" % served, flush=True)


if __name__ == "__main__":
    main()
