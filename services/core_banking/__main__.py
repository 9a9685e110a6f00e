"""`python -m services.core_banking <command>`

  serve [--host H] [--port P]   run the service (create tables + idempotent seed at start-up)
                                (defaults: CORE_BANKING_HOST or 127.0.0.1, CORE_BANKING_PORT or 8001)
  seed                          create tables and seed the demo data (safe to re-run)
  token CUSTOMER_ID             print a customer JWT for manual testing (needs the JWT secret)
"""
from __future__ import annotations

import argparse
import logging.config
import sys
from datetime import timedelta
from typing import List, Optional

from services.core_banking.config import ConfigError, get_settings

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"masked": {"()": "services.core_banking.middleware.MaskingFormatter",
                              "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "masked", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "uvicorn": {"handlers": [], "propagate": True, "level": "INFO"},
        "uvicorn.error": {"handlers": [], "propagate": True, "level": "INFO"},
        "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
    },
}


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.core_banking.main import create_app

    logging.config.dictConfig(LOGGING)
    settings = get_settings()
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"[core_banking] {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_config=None,
                access_log=False, workers=1, timeout_graceful_shutdown=5)
    return 0


def cmd_seed(_: argparse.Namespace) -> int:
    from services.core_banking.db import Database
    from services.core_banking.main import init_database

    settings = get_settings()
    db = Database(settings)
    init_database(db)
    print(f"[core_banking] tables created and demo data seeded ({db.engine.url.render_as_string(hide_password=True)})")
    db.dispose()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from services.core_banking.security import issue_customer_token

    settings = get_settings()
    try:
        settings.check_secrets()
    except ConfigError as exc:
        print(f"[core_banking] {exc}", file=sys.stderr)
        return 2
    print(issue_customer_token(args.customer_id, private_key=settings.jwt_private_key,
                               ttl=timedelta(minutes=settings.token_ttl_minutes)))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.core_banking", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=None, help="default: CORE_BANKING_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: CORE_BANKING_PORT or 8001")
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("seed", help="create tables and seed demo data").set_defaults(func=cmd_seed)
    token = commands.add_parser("token", help="print a customer JWT for manual testing")
    token.add_argument("customer_id")
    token.set_defaults(func=cmd_token)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
