"""What runs inside a pool worker: the document steps (decode → caps → text → parse → hash) on one item.

Pure with respect to the crawl: bytes in, fields out, nothing shared with the reactor process (the pool
starts workers from a fork server, so no socket, database connection or signal handler of Scrapy's is
inherited). Each step is an ordinary item pipeline (XXGK_DOCUMENT_STEPS); a step that raises ends the chain
with its error recorded, so a document is never lost to a bug in one step.
"""
from __future__ import annotations

import os
import resource
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from scrapy.utils.misc import load_object

from crawler.items import ReportPage
from pipelines.limits import CapExceeded, Limits, out_of_memory

# The fields a step fills; only these go back to the crawl process (the decoded HTML stays here).
RESULT_FIELDS = ("encoding", "text", "parsed", "content_hash", "errors")


@dataclass
class Outcome:
    fields: dict[str, Any]
    cpu: dict[str, float] = field(default_factory=dict)   # CPU seconds per step, for the crawl's stats


_steps: list[tuple[str, Any]] = []
_limits = Limits()


def init_worker(step_paths: list[str], limits: Limits) -> None:
    """Pool initializer: the steps, the memory cap, and signals left to the crawl process."""
    global _steps, _limits
    _limits = limits
    _steps = [(path.rsplit(".", 1)[-1], _build(load_object(path), limits)) for path in step_paths]
    # Ctrl-C reaches the whole process group: the crawl process decides, the workers finish the item.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cap_memory(limits.memory_mb)


def _build(cls: type, limits: Limits) -> Any:
    from_limits = getattr(cls, "from_limits", None)
    return from_limits(limits) if from_limits else cls()


def cap_memory(megabytes: int) -> None:
    """RLIMIT_AS: what the worker maps now plus the cap; an allocation past it fails (MemoryError)."""
    try:
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: the cap counts from zero
        mapped = 0
    limit = mapped + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def cap_cpu(seconds: int) -> None:
    """RLIMIT_CPU counts the process's whole life: allow `seconds` more than used so far (SIGXCPU after)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + seconds + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def run_steps(item: ReportPage, steps: list[tuple[str, Any]], limits: Limits) -> Outcome:
    """Every step in order on `item`; the first that raises ends the chain, its error recorded."""
    cpu: dict[str, float] = {}
    for name, step in steps:
        started = time.process_time()
        try:
            item = step.process_item(item)
        except CapExceeded as exc:
            item.errors.append(str(exc))
            break
        except MemoryError:
            item.errors.append(memory_cap_error(limits))
            break
        except Exception as exc:  # a bug or a library choking on hostile bytes: record, keep the bytes
            message = f"{name}: {type(exc).__name__}: {exc}"
            item.errors.append(memory_cap_error(limits) if out_of_memory(exc) else message[:500])
            break
        finally:
            cpu[name] = cpu.get(name, 0.0) + time.process_time() - started
    return Outcome({f: getattr(item, f) for f in RESULT_FIELDS}, cpu)


def memory_cap_error(limits: Limits) -> str:
    return f"memory cap: document needs more than {limits.memory_mb} MiB (XXGK_DOC_MEMORY_MB)"


def process_document(item: ReportPage) -> Outcome:
    """The pool's task: one item through the document steps, under the CPU cap."""
    cap_cpu(_limits.cpu_seconds)
    return run_steps(item, _steps, _limits)


def warm_up() -> int:
    """A no-op task: the worker is started (imports done, caps set) before the first report arrives."""
    return os.getpid()
