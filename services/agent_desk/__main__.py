"""`python -m services.agent_desk <command>`

  serve [--host H] [--port P]   run the desk (API + console); the Procfile uses this
  seed                          create the demo agents that are missing
  create-agent USER --name N [--role agent|supervisor|content] [--queues general,cards]
                                password read from AGENT_DESK_NEW_PASSWORD or a prompt
  set-queues USER general,cards replace the queues an agent serves (supervisors see every queue)
  rebuild-live                  rebuild the Redis live state from SQL and exit
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import List, Optional

from services.agent_desk.config import get_settings
from services.agent_desk.security import ROLES


def _session():
    from services.agent_desk.db import create_schema, make_engine, make_session_factory

    engine = make_engine(get_settings().effective_database_url)
    create_schema(engine)
    return make_session_factory(engine)()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    problems = settings.problems()
    if problems:
        for problem in problems:
            print(f"[agent_desk] configuration error: {problem}", file=sys.stderr)
        print("[agent_desk] start it with `python -m bot run` (generates development secrets) "
              "or set the variables above.", file=sys.stderr)
        return 2
    from services.agent_desk.main import create_app

    logging.basicConfig(level=os.environ.get("AGENT_DESK_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=args.host or settings.host, port=args.port or settings.port,
                log_level="warning", access_log=False, ws="websockets",
                proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=settings.trusted_proxies or None)
    return 0


def cmd_seed(_: argparse.Namespace) -> int:
    from services.agent_desk.seed import seed_demo_agents

    with _session() as session:
        created = seed_demo_agents(session)
    print("created: " + (", ".join(created) or "nothing (all demo agents exist)"))
    return 0


def cmd_create_agent(args: argparse.Namespace) -> int:
    from services.agent_desk.seed import create_agent

    password = os.environ.get("AGENT_DESK_NEW_PASSWORD") or getpass.getpass("password: ")
    if len(password) < 8:
        print("password must have at least 8 characters", file=sys.stderr)
        return 2
    queues = _queues(args.queues)
    if queues is None:
        return 2
    with _session() as session:
        create_agent(session, args.username, password, args.name, args.role, queues)
    print(f"created {args.username} ({args.role}), queues: {', '.join(queues) or 'none'}")
    return 0


def cmd_set_queues(args: argparse.Namespace) -> int:
    from services.agent_desk.seed import set_queues

    queues = _queues(args.queues)
    if queues is None:
        return 2
    with _session() as session:
        try:
            set_queues(session, args.username, queues)
        except LookupError as exc:
            print(exc, file=sys.stderr)
            return 2
    print(f"{args.username} serves: {', '.join(queues) or 'no queue'}")
    return 0


def _queues(text: str) -> Optional[List[str]]:
    """The queue names of a comma-separated list, or None (and a message) if one is unknown."""
    known = get_settings().queue_names
    names = [q.strip() for q in text.split(",") if q.strip()]
    unknown = [q for q in names if q not in known]
    if unknown:
        print(f"unknown queue(s) {', '.join(unknown)}; AGENT_DESK_QUEUES has {', '.join(known)}", file=sys.stderr)
        return None
    return names


def cmd_rebuild_live(_: argparse.Namespace) -> int:
    import redis

    from services.agent_desk.live import LiveState

    settings = get_settings()
    live = LiveState(redis.Redis.from_url(settings.effective_redis_url, decode_responses=True),
                     settings.redis_key_prefix, settings.queue_names, settings.presence_ttl_seconds)
    with _session() as session:
        print(f"open handoffs: {live.rebuild(session)}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.agent_desk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the agent desk")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("seed", help="create missing demo agents").set_defaults(func=cmd_seed)
    create = commands.add_parser("create-agent", help="create an agent account")
    create.add_argument("username")
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--role", default="agent", choices=ROLES)
    create.add_argument("--queues", default=get_settings().default_queue,
                        help="comma-separated queues the agent serves (default: the first queue)")
    create.set_defaults(func=cmd_create_agent)
    assign = commands.add_parser("set-queues", help="replace the queues an agent serves")
    assign.add_argument("username")
    assign.add_argument("queues", help="comma-separated queue names; empty for none")
    assign.set_defaults(func=cmd_set_queues)
    commands.add_parser("rebuild-live", help="rebuild Redis live state from SQL").set_defaults(func=cmd_rebuild_live)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
