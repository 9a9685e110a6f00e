"""The content studio's models: which one Rasa runs, which one came before (for roll back), who
switched when, and the evaluation figures of every model file (computed once per file and test set).

Files under the studio directory (settings.effective_studio_dir):
  models/             the models the studio trained (studio-<short commit>.tar.gz)
  models.json         the registry: `stack` (the active model last, the one to roll back to before it)
                      and `history` (every activation and roll back, newest last)
  figures/<key>.json  one model's figures on one held-out test set (FiguresCache)

Rasa itself is asked through its HTTP API (RasaClient): GET /status names the model file it runs
(its file name only), PUT /model {"model_file": <absolute path>} replaces it. With several Sanic
workers (or Rasa processes) GET /status speaks for whichever worker answers; every worker also
records the model it runs in Redis (`<prefix>:rasa:workers`, `<prefix>:rasa:worker-models`,
bot/rasa_server.py guard 8), which RasaWorkers reads, so a switch shows as done only when every
worker has followed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tarfile
import time
from pathlib import Path
from typing import Iterable, Iterator, List, Optional

import requests
from pydantic import BaseModel, Field

from services.agent_desk import errors
from services.agent_desk.studio.workspace import file_lock  # noqa: F401  (training.py imports it from here)
from services.openapi_docs import document_nullable

log = logging.getLogger(__name__)


class StudioModel(BaseModel):
    """What the studio's training stores and answers: Optional fields are documented as nullable."""

    class Config:
        schema_extra = staticmethod(document_nullable)


# -- what is stored --------------------------------------------------------------------------
class Figures(StudioModel):
    """One model's results on the held-out data of one commit."""

    model: str = Field(..., description="model file name")
    accuracy: Optional[float] = Field(None, description="held-out intent accuracy, 0-1")
    macro_f1: Optional[float] = Field(None, description="held-out macro-averaged F1, 0-1")
    conversation_pass_rate: Optional[float] = Field(
        None, description="share of tests/test_stories.yml stories that pass; null = no conversation tests")
    conversations_passed: Optional[int] = None
    conversations_total: Optional[int] = None
    n_test: int = Field(0, description="held-out sentences")
    fallback_rate: Optional[float] = Field(None, description="share of test sentences under the fallback threshold")
    confusion_png: Optional[str] = Field(None, description="the confusion matrix, a data:image/png;base64 URI")
    note: Optional[str] = Field(None, description="why a figure is missing (Chinese)")

    def without_image(self) -> "Figures":
        return self.copy(update={"confusion_png": None})


class ModelRecord(StudioModel):
    """A model file the studio knows, as it was activated."""

    name: str = Field(..., description="model file name, as Rasa's GET /status reports it")
    path: Optional[str] = Field(None, description="absolute path (null: the file was not found)")
    commit: Optional[str] = Field(None, description="studio-branch commit it was trained from")
    model_id: Optional[str] = Field(None, description="Rasa's fingerprint of the model (metadata model_id)")
    job_id: Optional[str] = None
    figures: Optional[Figures] = None
    activated_by: Optional[str] = Field(None, description="username; null = the model Rasa was started with")
    activated_by_name: Optional[str] = None
    at: Optional[str] = Field(None, description="ISO 8601, when it was activated")


class Activation(StudioModel):
    """One switch of Rasa's model by the studio."""

    action: str = Field(..., description="activate | rollback")
    model: str = Field(..., description="model file name switched to")
    path: Optional[str] = None
    commit: Optional[str] = None
    figures: Optional[Figures] = None
    replaced: Optional[str] = Field(None, description="model file name Rasa ran before")
    job_id: Optional[str] = None
    confirmed: bool = Field(True, description="Rasa's GET /status reported the new model afterwards")
    activated_by: str
    activated_by_name: str
    at: str


class RegistryState(StudioModel):
    stack: List[ModelRecord] = []
    history: List[Activation] = []


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_json_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class ModelRegistry:
    """models.json: the stack of activated models (roll back pops it) and the history of switches."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def load(self) -> RegistryState:
        if not self.path.exists():
            return RegistryState()
        return RegistryState.parse_raw(self.path.read_text(encoding="utf-8"))

    def save(self, state: RegistryState) -> None:
        write_json_atomically(self.path, state.json(ensure_ascii=False, indent=1))

    @contextlib.contextmanager
    def locked(self) -> Iterator[RegistryState]:
        """The state, for one change across the desk's processes; saved when the block ends without error."""
        with file_lock(self.lock_path):
            state = self.load()
            yield state
            self.save(state)

    def record(self, name: str) -> Optional[ModelRecord]:
        """The newest record of the model file `name`."""
        for record in reversed(self.load().stack):
            if record.name == name:
                return record
        return None


# -- figures, once per model file and test set -----------------------------------------------
def _digest_files(paths: Iterable[Optional[Path]]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path is not None and Path(path).is_file():
            digest.update(Path(path).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class FiguresCache:
    """One JSON file per (model file, held-out data): the current model is evaluated only once."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @staticmethod
    def key(model: Path, test_data: Path, stories: Optional[Path]) -> str:
        stat = Path(model).stat()
        text = f"{Path(model).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_digest_files([test_data, stories])}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, key: str) -> Optional[Figures]:
        path = self.directory / f"{key}.json"
        if not path.exists():
            return None
        try:
            return Figures.parse_raw(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return None

    def put(self, key: str, figures: Figures) -> None:
        write_json_atomically(self.directory / f"{key}.json", figures.json(ensure_ascii=False))


def model_id_of(model: Path) -> Optional[str]:
    """Rasa's fingerprint of a model archive (metadata.json's model_id), as GET /status reports it."""
    try:
        with tarfile.open(model, "r:gz") as archive:
            for member in archive.getmembers():
                if member.name.lstrip("/") == "metadata.json":
                    handle = archive.extractfile(member)
                    return json.load(handle).get("model_id") if handle else None
    except (OSError, tarfile.TarError, ValueError):
        return None
    return None


# -- Rasa's HTTP API -------------------------------------------------------------------------
class RasaStatus(StudioModel):
    model_file: Optional[str] = Field(None, description="the model file name Rasa runs (null: none loaded)")
    model_id: Optional[str] = None


class RasaClient:
    """Rasa's GET /status and PUT /model, with the API token (RASA_TOKEN) as `?token=`."""

    def __init__(self, url: str, token: str, load_timeout: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.load_timeout = load_timeout

    def _params(self) -> dict:
        return {"token": self.token} if self.token else {}

    def status(self) -> RasaStatus:
        try:
            response = requests.get(f"{self.url}/status", params=self._params(), timeout=10)
        except requests.RequestException as exc:
            log.warning("Rasa GET /status failed: %s", exc)
            raise errors.StudioUnavailable("连接不上 Rasa 服务，无法查看或切换模型，请稍后再试",
                                           code="rasa_unavailable") from exc
        if response.status_code == 409:  # Rasa answers 409 while no model is loaded
            return RasaStatus()
        self._refuse_error(response, "查询 Rasa 当前模型")
        body = response.json()
        return RasaStatus(model_file=body.get("model_file"), model_id=body.get("model_id"))

    def replace_model(self, model: Path) -> None:
        try:
            response = requests.put(f"{self.url}/model", params=self._params(),
                                    json={"model_file": str(Path(model).resolve())}, timeout=self.load_timeout)
        except requests.RequestException as exc:
            log.warning("Rasa PUT /model failed: %s", exc)
            raise errors.StudioUnavailable("连接不上 Rasa 服务（或加载模型超时），模型没有切换，请稍后再试",
                                           code="rasa_unavailable") from exc
        self._refuse_error(response, "让 Rasa 加载模型")

    @staticmethod
    def _refuse_error(response: requests.Response, what: str) -> None:
        if response.status_code < 300:
            return
        log.warning("Rasa answered %s: %s", response.status_code, response.text[:500])
        if response.status_code in (401, 403):
            raise errors.StudioUnavailable(f"{what}失败：Rasa 拒绝了接口令牌（请检查 RASA_TOKEN 是否与 Rasa 一致）",
                                           code="rasa_unavailable")
        raise errors.StudioUnavailable(f"{what}失败（Rasa 返回 {response.status_code}），模型没有切换",
                                       code="rasa_unavailable")

    def wait_for(self, name: str, model_id: Optional[str], seconds: float = 10.0) -> bool:
        """True once GET /status reports `name` (and `model_id`, when known)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                status = self.status()
                if status.model_file == name and (model_id is None or status.model_id == model_id):
                    return True
            except errors.StudioUnavailable:
                pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)


# -- what every Rasa worker runs ---------------------------------------------------------------
class WorkerModel(StudioModel):
    name: str = Field(..., description="the model file the worker runs")
    loading: Optional[str] = Field(None, description="the model file it is loading now, if any")


class RasaWorkers:
    """The model file each running Rasa worker reports (Redis, renewed by the worker every 2 s)."""

    def __init__(self, redis_url: str, key_prefix: str) -> None:
        self.redis_url = redis_url
        self.workers_key = f"{key_prefix}:rasa:workers"          # sorted set: worker -> valid until
        self.models_key = f"{key_prefix}:rasa:worker-models"     # hash: worker -> {"name", "loading", ...}

    def models(self) -> Optional[List[WorkerModel]]:
        """One record per live worker; None when Redis cannot be read (then GET /status is all
        there is)."""
        import redis

        from services.agent_desk.studio.inbox import redis_client

        try:
            client = redis_client(self.redis_url)
            live = client.zrangebyscore(self.workers_key, time.time(), "+inf")
            values = client.hmget(self.models_key, live) if live else []
        except redis.RedisError as exc:
            log.warning("cannot read the Rasa workers' models from Redis: %r", exc)
            return None
        found = []
        for raw in values:
            try:
                found.append(WorkerModel.parse_raw(raw))
            except (ValueError, TypeError):
                continue  # lapsed between the two reads, or not a record
        return found
