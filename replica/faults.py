"""Seeded, repeatable faults for the replica: what flaky, defended government servers do.

A FaultPlan decides per request, from (seed, URL, how many times this URL was asked), whether the
answer is a fault and which. Faults hit only the first attempts of a URL (`persist` of them), so a
crawler that retries — in the same run or the next — gets through; the plan is data, not chance.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

# Kinds and what the server does for each (see server._fault).
KINDS = (
    "http_503",       # a 5xx burst
    "timeout",        # no answer until after the client's timeout
    "reset",          # connection closed with no response
    "truncate",       # Content-Length promises more than is sent
    "drip",           # the body trickles out slowly (but completely)
    "redirect_loop",  # 302 to itself, over and over
    "waf_521",        # a JS challenge with status 521
    "waf_200",        # a 200 "请开启JavaScript" challenge page
    "waf_403",        # 403 for a while
)

WAF_521_BODY = (b"<html><head><script>var x='1a2b';document.cookie='__jsl_clearance='+x+';path=/';"
                b"location.href=location.pathname+location.search;</script></head><body></body></html>")
WAF_200_BODY = ("<html><head><meta charset='utf-8'><title>安全验证</title></head><body>"
                "<noscript>请开启JavaScript并刷新该页</noscript><script>setTimeout(function(){location.reload()},"
                "1000)</script></body></html>").encode("utf-8")


@dataclass
class FaultPlan:
    seed: int = 1
    rate: float = 0.3               # share of URLs that misbehave
    kinds: tuple[str, ...] = KINDS
    persist: int = 2                # a faulty URL fails its first `persist` attempts
    persist_for: dict[str, int] = field(default_factory=lambda: {"redirect_loop": 1})
    timeout_seconds: float = 4.0    # how long a "timeout" keeps the client waiting
    spare: tuple[str, ...] = ("/robots.txt",)
    _attempts: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    injected: dict[str, int] = field(default_factory=dict)

    def _draw(self, url: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{url}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2 ** 64

    def fault_for(self, url: str, path: str) -> str | None:
        """The fault for this request of `url`, or None; counts attempts."""
        if path in self.spare:
            return None
        with self._lock:
            attempt = self._attempts.get(url, 0)
            self._attempts[url] = attempt + 1
        draw = self._draw(url)
        if draw >= self.rate:
            return None
        kind = self.kinds[int(draw / self.rate * len(self.kinds)) % len(self.kinds)]
        if attempt >= self.persist_for.get(kind, self.persist):
            return None
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind

    @classmethod
    def parse(cls, spec: str) -> "FaultPlan":
        """'seed=7,rate=0.3,persist=2,kinds=http_503+reset' (every part optional)."""
        plan = cls()
        for part in filter(None, spec.split(",")):
            key, _, value = part.partition("=")
            if key == "kinds":
                plan.kinds = tuple(k for k in value.split("+") if k in KINDS)
            elif key in ("seed", "persist"):
                setattr(plan, key, int(value))
            elif key in ("rate", "timeout_seconds"):
                setattr(plan, key, float(value))
        return plan
