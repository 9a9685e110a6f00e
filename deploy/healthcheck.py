"""Container health check: `python deploy/healthcheck.py [--token-env NAME] URL`.

Exit 0 when URL answers 2xx within 5 s, else 1 (the image has Python but no curl). Used by
the Compose healthchecks and the Kubernetes exec probes. `--token-env RASA_TOKEN` adds
`?token=<value of $RASA_TOKEN>` for Rasa's `/status`, which needs the HTTP API token and
answers 409 until a model is loaded; the token never appears in the container spec.

Probes used (deploy/README.md, "Probes"): /ready (core banking, agent desk), /health
(actions), /status with the token (Rasa readiness), / (Rasa liveness).
"""
from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import List, Optional


def probe_url(url: str, token_env: Optional[str]) -> str:
    if not token_env:
        return url
    token = os.environ.get(token_env, "")
    if not token:
        raise SystemExit(f"healthcheck: ${token_env} is empty")
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{separator}{urllib.parse.urlencode({'token': token})}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="healthcheck.py")
    parser.add_argument("--token-env", help="environment variable holding a token to send as ?token=")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("url")
    args = parser.parse_args(argv)
    try:
        with urllib.request.urlopen(probe_url(args.url, args.token_env), timeout=args.timeout) as response:
            return 0 if 200 <= response.status < 300 else 1
    except urllib.error.HTTPError as exc:
        print(f"healthcheck: {args.url}: HTTP {exc.code}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {args.url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
