"""A local HTTP(S) proxy that answers for the replica hosts only.

Point a crawler at it as its proxy (``XXGK_REPLICA_PROXY=http://127.0.0.1:8118``) and it sees the
replica sites under their real host names:

* absolute-form requests (``GET http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/ HTTP/1.1``) and origin-form
  requests with a ``Host`` header, GET and HEAD;
* ``CONNECT host:443`` answered with TLS from a trustme CA (``.ca``, ``.ca_pem_path``), then the
  tunnelled requests served the same way.

A host that is not a replica host gets 403: the server never opens a connection anywhere, so no
traffic leaves loopback. It listens on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator, Union
from urllib.parse import urlsplit

import trustme

from .faults import WAF_200_BODY, WAF_521_BODY, FaultPlan
from .site import Response, Site, load_site, replica_sites
from .synthetic import SyntheticPortal

DEFAULT_PORT = 8118
PROXY_ENV = "XXGK_REPLICA_PROXY"
STATS_HOST = "xxgk-replica.internal"   # GET http://xxgk-replica.internal/ through the proxy: ReplicaServer.stats()
BUILT_SITES_KEPT = 256                 # synthetic sites built on first request, the least recently used dropped


@dataclass(frozen=True)
class Streamed:
    """An override whose body is made while it is sent: slow, endless or huge bodies (hostile tests).

    `chunks()` is called once per request and may never end; `rate` (bytes per second) trickles it out;
    `length` is the Content-Length declared (None: chunked transfer coding, the body ends with `chunks`).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: Callable[[], Iterator[bytes]]
    rate: float | None = None
    length: int | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


Served = Union[Response, Streamed]
# An override for every path under a prefix: (path, query) -> what to serve, or None for the site's own.
Generator = Callable[[str, str], "Served | None"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False   # keep-alive clients must not hold stop() up
    # socketserver's default backlog is 5: a crawl opening more connections at once than that gets its
    # SYNs dropped and retried by TCP after a second, a stall no real web server's backlog (511) causes.
    request_queue_size = 1024

    def __init__(self, addr: tuple[str, int], owner: "ReplicaServer"):
        self.owner = owner
        super().__init__(addr, _Handler)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # A client that hangs up (a crawler killed -9, a download cut) is no server error.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 30              # idle keep-alive connections are dropped after this
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body's last segment waits
    # for the client's delayed ACK (40 ms on Linux) on every response. nginx sets TCP_NODELAY too.
    disable_nagle_algorithm = True
    server: _Server

    def __init__(self, *args, tunnel_host: str | None = None, **kw):
        self.tunnel_host = tunnel_host   # set inside a CONNECT tunnel: requests there are https
        super().__init__(*args, **kw)

    def version_string(self) -> str:
        return self.server_version

    # ---- logging: silent unless verbose
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if self.server.owner.verbose:
            sys.stdout.write("%s - %s\n" % (self.address_string(), format % args))
            sys.stdout.flush()

    # ---- methods
    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        self._drain_body()
        self._serve(head=False, method_ok=False)

    do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_POST

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]").lower().rstrip(".")
        site = self.server.owner.site_for(host)
        if site is None or port != "443":
            self.server.owner.record("CONNECT", "https", host, self.path, 403)
            self._send_simple(403, "Forbidden: not a replica host\n", close=True)
            return
        self.server.owner.record("CONNECT", "https", host, self.path, 200)
        # raw status line: a CONNECT 200 carries no headers a client would need
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True
        try:
            tls = self.server.owner.ssl_context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return   # client refused the certificate or went away
        try:
            _Handler(tls, self.client_address, self.server, tunnel_host=host)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    # ---- helpers
    def _drain_body(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def _target(self) -> tuple[str, str, str, str]:
        """(scheme, host, path, query) of the request, whatever its form."""
        t = self.path
        if t.startswith(("http://", "https://")):
            u = urlsplit(t)
            host = (u.hostname or "").lower().rstrip(".")
            default = 443 if u.scheme == "https" else 80
            if u.port not in (None, default):
                host = f"{host}:{u.port}"   # a non-default port is not a replica host
            return u.scheme, host, u.path or "/", u.query
        scheme = "https" if self.tunnel_host else "http"
        host = (self.headers.get("Host") or self.tunnel_host or "").lower()
        if host.endswith((":80", ":443")):
            host = host.rsplit(":", 1)[0]
        path, _, query = t.partition("?")
        return scheme, host.rstrip("."), path or "/", query

    def _serve(self, head: bool, method_ok: bool = True) -> None:
        owner = self.server.owner
        scheme, host, path, query = self._target()
        if host == STATS_HOST:   # the replica's own record, for tests and benchmarks in another process
            self._send_bytes(200, json.dumps(owner.stats()).encode(), "application/json")
            return
        owner.begin(host)
        try:
            if owner.latency:
                time.sleep(owner.latency)   # a server and a network that take their time
            self._answer(owner, scheme, host, path, query, head, method_ok)
        finally:
            owner.end(host)

    def _answer(self, owner: "ReplicaServer", scheme: str, host: str, path: str, query: str, head: bool,
                method_ok: bool) -> None:
        site = owner.site_for(host)
        if site is None:
            owner.record(self.command, scheme, host, path, 403)
            self._send_simple(403, "Forbidden: not a replica host\n")
            return
        if not method_ok:
            owner.record(self.command, scheme, host, path, 405)
            self._send_simple(405, "Method Not Allowed\n")
            return
        url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
        fault = owner.faults.fault_for(url, path) if owner.faults else None
        if owner.faults and "loop=" in query and query.count("loop=") < 30:
            fault = "redirect_loop"
        resp = owner.overridden(host, path, query) or site.lookup(host, path, query)
        if isinstance(resp, Streamed):
            owner.record(self.command, scheme, host, path + (f"?{query}" if query else ""), resp.status)
            self._stream(resp, head)
            return
        if fault:
            owner.record(self.command, scheme, host, path + (f"?{query}" if query else ""), -1)
            self._fault(fault, path, query, resp)
            return
        status = resp.status
        if status == 200 and _not_modified(self.headers, resp):
            status = 304
        owner.record(self.command, scheme, host, path + (f"?{query}" if query else ""), status)
        self.send_response(status)
        for k, v in resp.headers:
            if k == "Location" and v.startswith("/"):
                v = f"{scheme}://{host}{v}"
            self.send_header(k, v)
        if status == 304:
            self.send_header("Content-Length", "0")   # not required, but keeps naive clients in step
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if not head:
            self.wfile.write(resp.body)

    def _fault(self, kind: str, path: str, query: str, resp: Response) -> None:
        """Misbehave as `kind` (replica/faults.py)."""
        plan = self.server.owner.faults
        if kind == "reset":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "timeout":
            time.sleep(plan.timeout_seconds)
            self.close_connection = True
            return
        if kind in ("http_503", "waf_403", "waf_521"):
            status, body = {"http_503": (503, b"<html><body>503 Service Temporarily Unavailable</body></html>"),
                            "waf_403": (403, b"<html><body>403 Forbidden</body></html>"),
                            "waf_521": (521, WAF_521_BODY)}[kind]
            self._send_bytes(status, body)
            return
        if kind == "waf_200":
            self._send_bytes(200, WAF_200_BODY)
            return
        if kind == "redirect_loop":
            self.send_response(302)
            self.send_header("Location", path + "?" + (query + "&" if query else "") + "loop=1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        # truncate and drip: the real page, cut short or trickled out
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if kind == "truncate":
            self.wfile.write(resp.body[:len(resp.body) // 3])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        step = max(1, len(resp.body) // 8)
        for i in range(0, len(resp.body), step):
            self.wfile.write(resp.body[i:i + step])
            self.wfile.flush()
            time.sleep(0.1)

    def _stream(self, resp: Streamed, head: bool) -> None:
        """Send a Streamed override; a client that hangs up ends it."""
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        chunked = resp.length is None
        self.send_header("Transfer-Encoding", "chunked") if chunked else self.send_header("Content-Length", str(resp.length))
        self.end_headers()
        if head:
            return
        started, sent = time.monotonic(), 0
        try:
            for chunk in resp.chunks():
                if not chunk:
                    continue
                if resp.rate:  # keep to the rate: wait until this chunk is due
                    due = started + (sent + len(chunk)) / resp.rate
                    time.sleep(max(0.0, due - time.monotonic()))
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                self.wfile.flush()
                sent += len(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def _send_bytes(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_simple(self, status: int, text: str, close: bool = False) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _not_modified(req_headers, resp: Response) -> bool:
    """RFC 9110 conditional GET: If-None-Match wins over If-Modified-Since."""
    etag, lm = resp.header("ETag"), resp.header("Last-Modified")
    inm = req_headers.get("If-None-Match")
    if inm is not None:
        if etag is None:
            return False
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = req_headers.get("If-Modified-Since")
    if ims and lm:
        try:
            return parsedate_to_datetime(lm) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


class ReplicaServer:
    """The replica proxy: ``with ReplicaServer() as srv: ... srv.proxy_url ...``."""

    def __init__(self, port: int = 0, sites: list[str | Site] | None = None, verbose: bool = False,
                 faults: FaultPlan | None = None, synthetic: list[SyntheticPortal] = (), latency: float = 0.0):
        self.requested_port = port
        self.verbose = verbose
        # names of replica sites, or built Site objects (a variant of a site made in a test)
        self.sites: list[Site] = [n if isinstance(n, Site) else load_site(n)
                                  for n in (sites if sites is not None else replica_sites())]
        self._by_host = {h: s for s in self.sites for h in s.hosts}
        # synthetic portals (replica/synthetic.py) are built when first asked for: 1,000 of them built
        # up front would take minutes and gigabytes
        self.synthetic = list(synthetic)
        self._synthetic_by_host = {h: p for p in self.synthetic for h in p.hosts}
        clash = set(self._synthetic_by_host) & set(self._by_host)
        if clash:
            raise ValueError(f"synthetic portals on replica hosts: {sorted(clash)[:5]}")
        self._built: OrderedDict[str, Site] = OrderedDict()
        self._building: dict[str, threading.Lock] = {}
        self.latency = latency
        # a host's other spellings (cyx.gov.cn / www.cyx.gov.cn) are one server: its in-flight count is one
        self._server = {a: s.aliases[a] for s in self.sites for a in s.aliases}
        self._server.update({a: h["host"] for p in self.synthetic for h in json.loads(p.replica)["hosts"].values()
                             for a in h.get("aliases", [])})
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._max_per_server: dict[str, int] = {}
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert(*sorted(set(self._by_host) | set(self._synthetic_by_host)))
        self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(self.ssl_context)
        self.ca_pem_path: str | None = None
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._log: list[tuple[str, str, str, str, int]] = []
        # Per-server changes to the (shared, cached) site data: edits and removals for re-crawl tests.
        self.overrides: dict[tuple[str, str], Served] = {}
        self.generators: list[tuple[str, str, Generator]] = []
        self.faults = faults

    # ---- lifecycle
    def start(self) -> "ReplicaServer":
        fd, self.ca_pem_path = tempfile.mkstemp(prefix="xxgk-replica-ca-", suffix=".pem")
        with os.fdopen(fd, "wb") as f:
            f.write(self.ca.cert_pem.bytes())
        self._httpd = _Server(("127.0.0.1", self.requested_port), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="xxgk-replica", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.ca_pem_path and os.path.exists(self.ca_pem_path):
            os.unlink(self.ca_pem_path)
        self.ca_pem_path = None

    def __enter__(self) -> "ReplicaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- facts
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hosts(self) -> list[str]:
        return sorted(set(self._by_host) | set(self._synthetic_by_host))

    def override(self, url: str, response: Served) -> None:
        """Serve `response` at `url` from now on (an edited or deleted report, a hostile body), on this
        server only. A `Streamed` response is sent as it is made (slow, endless, huge)."""
        parts = urlsplit(url)
        self.overrides[(parts.hostname, parts.path)] = response

    def override_prefix(self, url_prefix: str, generate: Generator) -> None:
        """Serve `generate(path, query)` for every path under `url_prefix` (None: the site's own page):
        crawl traps, pagers and calendars without end."""
        parts = urlsplit(url_prefix)
        self.generators.append((parts.hostname or "", parts.path, generate))

    def overridden(self, host: str, path: str, query: str = "") -> Served | None:
        found = self.overrides.get((host, path))
        if found is not None:
            return found
        for g_host, prefix, generate in self.generators:
            if host == g_host and path.startswith(prefix):
                found = generate(path, query)
                if found is not None:
                    return found
        return None

    def site_for(self, host: str) -> Site | None:
        site = self._by_host.get(host)
        if site is not None or host not in self._synthetic_by_host:
            return site
        portal = self._synthetic_by_host[host]
        with self._lock:
            site = self._built.get(portal.name)
            if site is not None:
                self._built.move_to_end(portal.name)
                return site
            building = self._building.setdefault(portal.name, threading.Lock())
        with building:   # one build per portal, other portals' requests go on meanwhile
            with self._lock:
                site = self._built.get(portal.name)
            if site is None:
                site = portal.site()
                with self._lock:
                    self._built[portal.name] = site
                    while len(self._built) > BUILT_SITES_KEPT:
                        self._built.popitem(last=False)
        return site

    # ---- concurrency record: how many requests each host had in flight at once, at most
    def begin(self, host: str) -> None:
        server = "server:" + self._server.get(host, host)
        with self._lock:
            for key, record in ((host, self._max_in_flight), (server, self._max_per_server)):
                n = self._in_flight[key] = self._in_flight.get(key, 0) + 1
                if n > record.get(key, 0):
                    record[key] = n

    def end(self, host: str) -> None:
        with self._lock:
            self._in_flight[host] -= 1
            self._in_flight["server:" + self._server.get(host, host)] -= 1

    def max_in_flight(self, per: str = "host") -> dict[str, int]:
        """host (or, per="server", a host with its other spellings) -> the most requests it had in flight
        at once since the start (or clear_requests)."""
        with self._lock:
            if per == "server":
                return {k.removeprefix("server:"): n for k, n in self._max_per_server.items()}
            return dict(self._max_in_flight)

    def stats(self) -> dict:
        with self._lock:
            return {"max_in_flight": dict(self._max_in_flight),
                    "max_in_flight_per_server": {k.removeprefix("server:"): n for k, n in self._max_per_server.items()},
                    "requests": len(self._log), "synthetic_portals": len(self.synthetic), "latency": self.latency}

    # ---- request log (what a crawler fetched; e.g. assert it never touched /was5/)
    def record(self, method: str, scheme: str, host: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append((method, scheme, host, path, status))

    @property
    def requests(self) -> list[tuple[str, str, str, str, int]]:
        """(method, scheme, host, path?query, status) of every request so far."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()
            self._max_in_flight = {h: n for h, n in self._in_flight.items() if n and not h.startswith("server:")}
            self._max_per_server = {h: n for h, n in self._in_flight.items() if n and h.startswith("server:")}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_latency(text: str) -> float:
    """'150ms', '0.15s' or '0.15' (seconds) -> seconds."""
    t = text.strip().lower()
    try:
        if t.endswith("ms"):
            value = float(t[:-2]) / 1000
        else:
            value = float(t.removesuffix("s"))
    except ValueError:
        raise ValueError(f"latency {text!r}: give it as 150ms, 0.15s or 0.15") from None
    if value < 0:
        raise ValueError(f"latency {text!r} is negative")
    return value


def serve_forever(port: int = DEFAULT_PORT, verbose: bool = True, faults: FaultPlan | None = None,
                  synthetic: list[SyntheticPortal] = (), latency: float = 0.0,
                  sites_dir: Path | None = None) -> None:
    """Run the replica proxy in the foreground (``xxgk replica serve``) until Ctrl-C."""
    with ReplicaServer(port=port, verbose=verbose, faults=faults, synthetic=synthetic, latency=latency) as srv:
        if faults:
            print(f"fault mode: {faults}")
        print(f"xxgk replica proxy on {srv.proxy_url}")
        if synthetic:
            print(f"  {len(synthetic)} synthetic portals ({', '.join(sorted({p.family for p in synthetic}))}), "
                  f"e.g. {', '.join(p.name for p in synthetic[:3])}")
            if sites_dir is not None:
                sites_dir.mkdir(parents=True, exist_ok=True)
                for portal in synthetic:
                    portal.write_spider_file(sites_dir)
                print(f"  their spider site files: {sites_dir}; crawl them with:")
                print(f"    XXGK_SITES_DIR={sites_dir} xxgk crawl --all --replica {srv.proxy_url}")
        print(f"  replica hosts: {', '.join(srv.hosts[:40])}{' …' if len(srv.hosts) > 40 else ''}")
        if latency:
            print(f"  latency: {latency * 1000:.0f} ms per request")
        print(f"  CA certificate (https via CONNECT): {srv.ca_pem_path}")
        print(f"  concurrency record: curl -x {srv.proxy_url} http://{STATS_HOST}/")
        print("  point the crawler at it with:")
        print(f"    export {PROXY_ENV}={srv.proxy_url}")
        print(f"  or try: curl -x {srv.proxy_url} http://xxgk.zezhou.gov.cn/xzf/zfxxgknb/")
        sys.stdout.flush()
        # SIGTERM ends the wait like Ctrl-C, so the CA file is removed on the way out
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="xxgk replica serve", description="Serve the offline portal replicas as an HTTP(S) proxy.")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--quiet", action="store_true", help="do not log each request")
    args = ap.parse_args(argv)
    serve_forever(port=args.port, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
