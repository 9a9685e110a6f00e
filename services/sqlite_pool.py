"""Pooled connections for the services' SQLite files (core banking, agent desk).

SQLAlchemy 1.4 gives a file-based SQLite database no pool (NullPool): every request opened the
file, ran the connection's PRAGMAs (journal_mode=WAL, foreign_keys) and closed it again, a
fifth of the agent desk's work per request and a twelfth of core banking's in the live profile
(docs/performance.md, "Issue 13 item 3, second round"). SQLAlchemy 2.0 pools them by default;
here a QueuePool keeps a few connections open. Connections move between threads (FastAPI runs
sync endpoints in a thread pool), which `check_same_thread=False` already allows, one thread at
a time. An in-memory database keeps SQLAlchemy's own choice (one connection per thread).
"""
from __future__ import annotations

from typing import Any, Dict

from sqlalchemy.pool import QueuePool


def sqlite_pool_options(url: str) -> Dict[str, Any]:
    if ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:"):
        return {}
    return {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
