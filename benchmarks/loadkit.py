"""Shared parts of the load benchmarks (load_judging.py, load_deadline.py): a fresh PostgreSQL
database, gunicorn serving it (tests/deploy/deploy_support.py), latency bookkeeping, the floor.

The load is made by plain threads with ``requests`` (no locust): every simulated user is a bounded
loop that knows exactly which of its saves the server acknowledged, which is what the lost-update
check afterwards needs; and nothing beyond the test extra is required.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "deploy")]

from deploy_support import Gunicorn, csrf_token_from, drop_database, fresh_database, login, setup_app  # noqa: E402,F401


def arguments(description: str, duration: int, users: int, database: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)  # the benchmark's own options
    parser.add_argument("--duration", type=float, default=duration, help="seconds of load (default %(default)s)")
    parser.add_argument("--users", type=int, default=users, help="simulated users (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn workers (default 2 × cores + 1 = %(default)s)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default %(default)s)")
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL server URL; the benchmark makes (and drops) its own database there")
    parser.add_argument("--database", default=database, help="name of the benchmark's database (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def strong_password_hash(password: str) -> str:
    """One production-strength hash for all the simulated accounts (made once: it costs ~0.1 s)."""
    from argon2 import PasswordHasher, profiles

    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY).hash(password)


@dataclass
class Stats:
    """Latencies (s) and failures by kind of request; thread-safe."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call, expected: tuple[int, ...]):
        started = time.perf_counter()
        try:
            response = call()
        except requests.RequestException as error:
            self.fail(kind, f"{type(error).__name__}: {error}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
        if response.status_code not in expected:
            self.fail(kind, f"HTTP {response.status_code}")
            return None
        return response

    def fail(self, kind: str, message: str) -> None:
        with self.lock:
            self.errors[kind].append(message)

    def all(self, exclude: tuple[str, ...] = ()) -> list[float]:
        return [x for kind, values in self.latencies.items() if kind not in exclude for x in values]

    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values())


def percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 99
    return (f"n={len(ordered):6d}  p50={q[49] * 1000:7.1f} ms  p95={q[94] * 1000:7.1f} ms  "
            f"p99={q[98] * 1000:7.1f} ms  max={ordered[-1] * 1000:7.1f} ms")


def p95(values: list[float]) -> float:
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[94] if len(values) > 1 else 0.0


def report(title: str, stats: Stats, seconds: float, exclude: tuple[str, ...] = ()) -> None:
    print(f"\n{title}")
    for kind in sorted(stats.latencies):
        print(f"  {kind:12} {percentiles(stats.latencies[kind])}")
    steady = stats.all(exclude)
    print(f"  {'all' + (' but ' + ', '.join(exclude) if exclude else ''):12} {percentiles(steady)}")
    print(f"  throughput   {len(stats.all()) / seconds:8.1f} requests/s over {seconds:.1f} s")
    print(f"  errors       {stats.error_count()}")
    for kind, messages in stats.errors.items():
        print(f"    {kind}: {len(messages)} × e.g. {messages[0]}")


def floor(server: Gunicorn, users: int, seconds: float) -> tuple[float, list[float]]:
    """The bare app served the same way: ``users`` threads GET /healthz for ``seconds``.
    Returns (requests/s, latencies)."""
    stats, stop = Stats(), time.monotonic() + seconds

    def user():
        with requests.Session() as session:
            while time.monotonic() < stop:
                stats.timed("healthz", lambda: session.get(f"{server.url}/healthz", timeout=30), (200,))

    run_threads(user, users)
    return len(stats.all()) / seconds, stats.all()


def run_threads(target, count: int, *args_of) -> None:
    threads = [threading.Thread(target=target, args=(args_of[0][i],) if args_of else (), daemon=True)
               for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def conditions(args: argparse.Namespace) -> str:
    load = os.getloadavg()
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} cores; gunicorn {args.workers} gthread workers × "
            f"{args.threads} threads; PostgreSQL on loopback; load average before the run "
            f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (the machine is shared: figures are noisy)")
