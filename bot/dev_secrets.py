"""Development secrets: generated once into `.run/secrets.env`, never committed.

In production every secret comes from the environment; a value already set there wins.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Dict

from bot.identity import generate_key_pair
from bot.settings import RUN_DIR

SECRET_NAMES = (
    "RASA_TOKEN",
    "CORE_BANKING_SERVICE_TOKEN",
    "CORE_BANKING_DESK_TOKEN",  # the agent desk's read-only identity at core banking
    "AGENT_DESK_SERVICE_TOKEN",
    "AGENT_DESK_JWT_SECRET",
)
# Core banking signs customer tokens with the private key; everyone else gets the public one.
KEY_PAIR_NAMES = ("CORE_BANKING_JWT_PRIVATE_KEY", "CORE_BANKING_JWT_PUBLIC_KEY")


def secrets_file() -> Path:
    return RUN_DIR / "secrets.env"


def load_or_create(path: Path = None) -> Dict[str, str]:
    """Returns every development secret, creating missing ones, and exports them."""
    path = path or secrets_file()
    values = _read_env_file(path)
    missing = [name for name in SECRET_NAMES if name not in values]
    pair_missing = any(name not in values for name in KEY_PAIR_NAMES)
    if missing or pair_missing:
        # hex: a value starting with "-" would be read as an option on the `rasa run` command line
        values.update({name: secrets.token_hex(32) for name in missing})
        if pair_missing:
            values.update(zip(KEY_PAIR_NAMES, generate_key_pair()))
        values.pop("CORE_BANKING_JWT_SECRET", None)  # the shared secret of earlier versions
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
        path.chmod(0o600)
    for name, value in values.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in values}


def _read_env_file(path: Path) -> Dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}
