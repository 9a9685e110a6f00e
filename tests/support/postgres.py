"""A throw-away schema in the local PostgreSQL for the services' PostgreSQL tests.

The server is `TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/test); where
it is unreachable, the tests that need it are skipped with the reason."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Iterator

import pytest

from tests.support.unavailable import unavailable

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def url_with_schema(url: str, schema: str) -> str:
    return f"{url}?options=-csearch_path%3D{schema}"


@contextmanager
def pg_test_schema(prefix: str) -> Iterator[str]:
    """Creates `<prefix><random>`, yields its name, then drops it with everything in it."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        connection = psycopg2.connect(PG_URL, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        unavailable(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    connection.autocommit = True
    schema = prefix + secrets.token_hex(6)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {schema} CASCADE")
        connection.close()
