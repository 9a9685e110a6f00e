"""Engine and sessions: SQLite under RUN_DIR by default, PostgreSQL when DATABASE_URL is set."""
from __future__ import annotations

from typing import Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core_banking.config import CoreBankingSettings
from services.sqlite_pool import sqlite_pool_options


def make_engine(settings: CoreBankingSettings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            from pathlib import Path

            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 15},
                               **sqlite_pool_options(url))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    """The engine and a session factory; one per application."""

    def __init__(self, settings: CoreBankingSettings, engine: Optional[Engine] = None) -> None:
        self.engine = engine or make_engine(settings)
        self.sessions = sessionmaker(self.engine, class_=Session, future=True, expire_on_commit=False)

    def create_all(self) -> None:
        from services.core_banking.models import Base

        Base.metadata.create_all(self.engine)

    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
