"""Train the Rasa model only when what it is trained from has changed.

The fingerprint covers config.yml, domain.yml, everything under data/ that training reads
(NLU, stories, rules, lexicon), the custom NLU component code and the Rasa version. The
model is stored as `models/bank-<fingerprint>.tar.gz`; if that file exists, training is
skipped.
"""
from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, List

from importlib.metadata import version

from bot.settings import MODELS_DIR, PROJECT_ROOT

# Rasa reads training data only from these folders; data/knowledge and data/lexicon are
# read by our own code (actions, normaliser, spaCy builder), not by Rasa's loader.
TRAINING_DATA = ("data/nlu", "data/stories", "data/rules")
TRAINING_INPUTS = ("config.yml", "domain.yml", *TRAINING_DATA, "data/lexicon", "bot/nlu")
MODEL_NAME_PREFIX = "bank-"


class TrainingFailed(RuntimeError):
    """Training did not produce a model; the message says why."""


def _files(root: Path, inputs: Iterable[str]) -> List[Path]:
    found: List[Path] = []
    for name in inputs:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts)
    return found


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256(f"rasa=={version('rasa')}".encode())  # metadata: importing rasa takes seconds
    for path in _files(root, TRAINING_INPUTS):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    return MODELS_DIR / f"{MODEL_NAME_PREFIX}{fingerprint(root)}.tar.gz"


def ensure_trained(force: bool = False) -> Path:
    """Returns the path of an up-to-date model, training one if needed.

    A file lock makes concurrent callers (e.g. `make run` and `make test`) wait for one
    training instead of running two.
    """
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    with open(MODELS_DIR / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_trained_locked(force)


def _ensure_trained_locked(force: bool) -> Path:
    from bot import rule_check
    from bot.nlu import spacy_pipeline  # imports spaCy: only when training may be needed

    if spacy_pipeline.ensure_built():
        print(f"[train] built spaCy pipeline at {spacy_pipeline.MODEL_PATH}", flush=True)
    target = model_path()
    if target.exists() and not force:
        print(f"[train] model is up to date: {target.name} (training inputs unchanged)", flush=True)
        return target
    print("[train] checking the rules first (about 20 s) ...", flush=True)
    problems = rule_check.rule_problems()
    if problems:
        raise TrainingFailed("the rules in data/rules or data/stories are inconsistent; fix them and retrain:\n"
                             + problems)
    print(f"[train] training inputs changed; training {target.name} ...", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "domain.yml",
         "--data", *TRAINING_DATA, "--out", str(MODELS_DIR), "--fixed-model-name", target.name[: -len(".tar.gz")]],
        cwd=PROJECT_ROOT,
    )
    if result.returncode != 0 or not target.exists():
        raise TrainingFailed(f"rasa train failed (exit code {result.returncode}); its messages are above")
    print(f"[train] done in {time.monotonic() - started:.0f} s -> {target}", flush=True)
    _remove_stale_models(keep=target)
    return target


def _remove_stale_models(keep: Path, keep_last: int = 3) -> None:
    models = sorted(MODELS_DIR.glob(f"{MODEL_NAME_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in [m for m in models if m != keep][: max(0, len(models) - keep_last)]:
        old.unlink()
