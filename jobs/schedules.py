"""Recurring crawls kept in the database (xxgk_queue_schedules), enqueued by the workers' schedule tick."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import psycopg
from croniter import croniter
from psycopg.types.json import Jsonb

from jobs.app import conninfo


def valid_cron(expr: str) -> bool:
    return croniter.is_valid(expr)


def put(database: str | None, name: str, cron: str, targets: list[dict[str, str]]) -> None:
    with psycopg.connect(conninfo(database)) as conn:
        conn.execute(
            "INSERT INTO xxgk_queue_schedules (name, cron, targets) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, targets = EXCLUDED.targets, "
            "created_at = now(), last_enqueued_at = NULL", (name, cron, Jsonb(targets)))


def remove(database: str | None, name: str) -> bool:
    with psycopg.connect(conninfo(database)) as conn:
        return conn.execute("DELETE FROM xxgk_queue_schedules WHERE name = %s", (name,)).rowcount > 0


def list_all(database: str | None) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo(database)) as conn:
        rows = conn.execute("SELECT name, cron, targets, created_at, last_enqueued_at "
                            "FROM xxgk_queue_schedules ORDER BY name").fetchall()
    return [{"name": n, "cron": c, "targets": t, "created_at": ca, "last_enqueued_at": le,
             "next_at": croniter(c, le or ca).get_next(datetime)} for n, c, t, ca, le in rows]


def take_due(now: datetime, database: str | None = None) -> list[dict[str, str]]:
    """The targets of every schedule whose next cron time is ≤ now, marked as enqueued in the same
    transaction (rows locked), so two workers ticking at once enqueue a schedule once."""
    due: list[dict[str, str]] = []
    with psycopg.connect(conninfo(database)) as conn:
        rows = conn.execute("SELECT name, cron, targets, created_at, last_enqueued_at "
                            "FROM xxgk_queue_schedules FOR UPDATE SKIP LOCKED").fetchall()
        for name, cron, targets, created_at, last in rows:
            if croniter(cron, last or created_at).get_next(datetime) > now:
                continue
            # Missed runs (no worker up) collapse into one: the latest cron time not after now.
            fired = croniter(cron, now).get_prev(datetime) if not croniter.match(cron, now) else now
            conn.execute("UPDATE xxgk_queue_schedules SET last_enqueued_at = %s WHERE name = %s",
                         (fired.astimezone(timezone.utc), name))
            due.extend(targets)
    return due
