"""The Rasa server as the Procfile starts it: Rasa's own command line plus eight guards.

`python -m bot.rasa_server run ...` is `python -m rasa run ...` with the guards installed.
Each fixes a failure of stock Rasa 3.6 that was observed on this project's stack (the
tests are in tests/reliability/; behaviour and guarantees: docs/reliability.md).

1. A custom action that cannot run (the action server is down or restarting, or answers
   with an error): stock Rasa logs the exception, drops the action's events and carries
   on - the customer gets no answer at all (the REST channel answers `[]`). With the guard
   the customer gets the kind `utter_core_banking_unavailable` message (try again later,
   or a person), once per customer turn, recorded in the tracker like any bot message
   with `action_failed: <action name>` in its metadata.
2. A REST message that could not be handled because Redis (lock and tracker store) is
   unreachable: Rasa's REST channel swallows the error and answers `200 []`, so the client
   cannot tell "not stored" from "no answer". With the guard such an answer becomes
   `503 {"error": {"code": "conversation_store_unavailable", ...}}`; the client may retry.
   Redis is only asked (PING) when the answer is empty, so normal turns cost nothing more.
3. Several Rasa servers sharing the Redis lock store: Rasa's RedisLockStore changes a
   conversation's ticket lock with a GET and a later SET, so two messages of one
   conversation arriving at two servers at the same moment can both get ticket 0, run at
   the same time, and the tracker keeps only one of the two turns (seen in 3 of 40 tries).
   With the guard every change of a lock (issue a ticket, drop expired tickets, finish and
   clean up) is one Lua script in Redis (bot/ticket_lock.py), so tickets are unique and the
   conversation's turns run one after the other. Same keys, same JSON as stock Rasa.
4. Garbage-collector pauses: a loaded model is ~800,000 Python objects (spaCy, TensorFlow,
   Rasa's graph). Every full (generation 2) collection walks all of them: 0.4-0.5 s, and
   longer on a busy machine, during which the event loop answers nobody (WeChat webhooks
   then missed their 5 s). Once the agent is loaded, its objects are moved to the
   collector's permanent generation (gc.freeze), so collections only walk what turns
   create. A model replaced at run time (PUT /model) is freed by guard 8 (one full
   collection after the switch).
5. Checking the action server's answers: stock Rasa validates every answer with
   `jsonschema.validate`, which first re-checks Rasa's own schema against the JSON-Schema
   meta-schema, on every custom action (two thirds of such a turn's CPU, measured with
   py-spy). The guard builds the validator once; answers are still checked the same way and a
   malformed one is refused with Rasa's error.
6. The whole session for the handoff: with the windowed tracker store (bot/tracker_store.py)
   Rasa holds only the recent events of a long session; the actions that hand a
   conversation to a person (FULL_HISTORY_ACTIONS) are sent the whole session, so the
   agent's transcript is complete.
7. Work repeated on every call: the graph runner's walk of the model graph (every parse and
   prediction) and the event-type lookup (every event read) are remembered.
8. A model replaced with `PUT /model` in every worker: with several Sanic workers
   (SANIC_WORKERS) stock Rasa loads the new model only in the worker that got the request;
   the others keep answering with the old one. With the guard a successful `PUT /model`
   ({"model_file": <path>}) also records the model in Redis (`<prefix>:rasa:active-model`,
   {"path", "changed_at", "base"}), and every worker of every Rasa process started with the
   same `--model` ("base") checks that record every MODEL_CHECK_SECONDS in a background task
   and loads the model the way Rasa's `PUT /model` does when it is not the one it runs (the
   files are read in a thread, so the worker keeps answering meanwhile). A process started
   with another `--model` (a new deployment) ignores an older record. The replaced model is
   freed (guard 4's frozen objects are unfrozen and collected once, a few seconds after the
   switch). Every worker also says which model it runs (`<prefix>:rasa:worker-models`, a hash by
   `<host>-<pid>`, live while `<prefix>:rasa:workers` says so: renewed at every check, lapsing
   WORKER_RECORD_SECONDS after a worker stops), so the content studio shows a switch as done
   only when every worker has followed. `PUT /model` with `model_server` or `remote_storage`,
   and `DELETE /model`, still reach one worker only.

Besides the guards, speed-ups: six that decide exactly what stock Rasa decides (tested
prediction by prediction in tests/reliability/test_speedups_equivalence.py): TEDPolicy is
asked only when no rule or memorised story is certain (bot/rules_first.py), the compiled
TensorFlow function of DIET and TED is called directly (bot/tf_calls.py), the policies share
one replay of the conversation's states per prediction (bot/dialogue_states.py), RulePolicy
looks its rules up by their last previous action (bot/rule_index.py), slots are copied
without the `copy` module's protocol (bot/slot_copy.py), and the model's graph runs node
after node without dask's scheduler (bot/graph_runner.py); and each worker keeps one
connection pool for the action server (bot/action_session.py), and with several workers a
client's keep-alive connections are closed every 50 requests so they spread over the workers
again (bot/connection_spread.py).
RASA_SPEEDUPS_OFF leaves them out, to measure them side by side (docs/performance.md).

Before any of them, `--cors "*"` is refused: browser origins are an allow-list
(ALLOWED_ORIGINS, bot/settings.py).
"""
from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import json
import logging
import os
import socket
import sys
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from rasa.core.actions.action import Action, ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, Event, UserUttered

from bot import (action_session, connection_spread, dialogue_states, graph_runner, in_context,
                 no_repeat, rule_index, rules_first, several_questions, slot_copy, tf_calls, ticket_lock,
                 typed_buttons)
from bot.tracker_store import FULL_HISTORY_ACTIONS, Window, window_of

logger = logging.getLogger("bot.rasa_server")  # not "__main__" when run with -m

FAILURE_RESPONSE = "utter_core_banking_unavailable"
# Only if the domain lacks FAILURE_RESPONSE (it should not).
FALLBACK_MESSAGE = {
    "text": "抱歉，系统暂时出了点问题，这一步没能办成。您可以稍后再试，或者转人工。",
    "buttons": [{"title": "转人工", "payload": "/request_human"}],
}
FAILED_ACTION_KEY = "action_failed"
REST_WEBHOOK_PATH = "/webhooks/rest/webhook"
STORE_PING_TIMEOUT_SECONDS = 2.0


# -- 1. failed actions -------------------------------------------------------------------
class _GuardedAction:
    """Runs the predicted action; a failure becomes the kind message instead of silence."""

    def __init__(self, action: Action) -> None:
        self._action = action

    def __getattr__(self, name: str) -> Any:
        return getattr(self._action, name)

    async def run(self, output_channel, nlg, tracker, domain) -> List[Event]:
        try:
            return await self._action.run(output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # Rasa's own protocol: another policy predicts instead
        except Exception:
            logger.exception("action '%s' failed for %s; its events are lost, the customer gets %s",
                             self._action.name(), tracker.sender_id, FAILURE_RESPONSE)
            if _apologised_this_turn(tracker):
                return []
            return [await _kind_message(self._action.name(), output_channel, nlg, tracker)]


def _apologised_this_turn(tracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and (event.metadata or {}).get(FAILED_ACTION_KEY):
            return True
    return False


async def _kind_message(action_name: str, output_channel, nlg, tracker) -> BotUttered:
    draft: Optional[dict] = None
    try:
        draft = await nlg.generate(FAILURE_RESPONSE, tracker, output_channel.name())
    except Exception:  # the message must go out even if the NLG has trouble too
        logger.exception("could not render %s", FAILURE_RESPONSE)
    if draft:
        draft["utter_action"] = FAILURE_RESPONSE
    else:
        draft = {key: (list(value) if isinstance(value, list) else value) for key, value in FALLBACK_MESSAGE.items()}
    draft[FAILED_ACTION_KEY] = action_name
    return create_bot_utterance(draft)


def _guard_actions() -> None:
    if getattr(MessageProcessor._run_action, "_bank_guarded", False):
        return
    original = MessageProcessor._run_action

    async def _run_action(self, action, tracker, output_channel, nlg, prediction):
        return await original(self, _GuardedAction(action), tracker, output_channel, nlg, prediction)

    _run_action._bank_guarded = True  # type: ignore[attr-defined]
    MessageProcessor._run_action = _run_action


# -- 2. messages Redis could not take ----------------------------------------------------
async def unreachable_store(agent: Any) -> Optional[str]:
    """Which conversation store (lock or tracker store) does not answer a PING, if any."""
    tracker_store = getattr(agent, "tracker_store", None)
    stores = (getattr(agent, "lock_store", None), getattr(tracker_store, "_tracker_store", tracker_store))
    loop = asyncio.get_running_loop()
    for store in stores:
        client = getattr(store, "red", None)  # Rasa's Redis lock and tracker stores
        if client is None:
            continue
        try:
            await asyncio.wait_for(loop.run_in_executor(None, client.ping), STORE_PING_TIMEOUT_SECONDS)
        except Exception as exc:  # refused, reset, timed out: all mean "not stored"
            return f"{type(store).__name__}: {type(exc).__name__}: {exc}"
    return None


async def _refuse_unstored_messages(request: Any, response: Any) -> Any:
    if request.method != "POST" or request.path != REST_WEBHOOK_PATH:
        return None
    if getattr(response, "status", None) != 200 or getattr(response, "body", None) != b"[]":
        return None
    agent = getattr(request.app.ctx, "agent", None)
    problem = await unreachable_store(agent) if agent is not None else None
    if problem is None:
        return None
    logger.error("message from the REST channel not handled, conversation store unreachable (%s)", problem)
    return store_unavailable_response()


def store_unavailable_response() -> Any:
    """503: the message was not handled because Redis is unreachable; the client may retry."""
    from sanic import response as sanic_response

    return sanic_response.json({"error": {
        "code": "conversation_store_unavailable",
        "message": "The conversation store (Redis) is unreachable: the message was not handled. Try again later.",
    }}, status=503)


def _guard_rest_answers() -> None:
    import rasa.core.run

    if getattr(rasa.core.run.configure_app, "_bank_guarded", False):
        return
    original = rasa.core.run.configure_app

    def configure_app(*args: Any, **kwargs: Any):
        app = original(*args, **kwargs)
        app.register_middleware(_refuse_unstored_messages, "response")
        # Rasa loads the agent in a before_server_start listener; this one runs after it.
        app.register_listener(_freeze_loaded_model, "after_server_start")
        # Guard 8: PUT /model recorded in Redis, and followed by every worker.
        app.ctx.bank_endpoints = kwargs.get("endpoints")
        app.register_middleware(_announce_model_load, "request")
        app.register_middleware(_record_replaced_model, "response")
        app.register_listener(_start_model_watch, "after_server_start")
        app.register_listener(_stop_model_watch, "before_server_stop")
        from bot.settings import get_settings

        action_session.register(app)  # speed-up: one connection pool per worker for the action server
        connection_spread.register(app)  # speed-up: keep-alive connections re-spread over the workers
        if get_settings().rasa_worker_header:  # tests: which worker answered
            app.register_middleware(_worker_header, "response")
        return app

    configure_app._bank_guarded = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app


# -- 3. atomic ticket locks in Redis: bot/ticket_lock.py --------------------------------


# -- 4. the loaded model out of the garbage collector's way ----------------------------
async def _freeze_loaded_model(app: Any, _loop: Any) -> None:
    gc.collect()
    gc.freeze()
    logger.info("%d objects of the loaded model moved out of the garbage collector's scans",
                gc.get_freeze_count())


# -- 5. the action server's answers checked with a validator built once -------------------
RESPONSE_FORMAT_HELP = (". Failed to validate Action server response from API, make sure your response from "
                        "the Action endpoint is valid. For more information about the format visit "
                        "https://rasa.com/docs/rasa/custom-actions")


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """Rasa's schema for an action server's answer, with its validator class, checked against
    the meta-schema once. Stock Rasa calls `jsonschema.validate(result, schema)`, which checks
    the schema itself against the draft 2020-12 meta-schema on every call: two thirds of the
    CPU of a turn that runs a custom action (docs/performance.md)."""
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@functools.lru_cache(maxsize=1)
def action_response_outline() -> Optional[Tuple[Any, Dict[str, Any]]]:
    """Rasa's schema split for answers that pass: a validator of the answer with any events, and
    one per event name for an event of that name. An event of Rasa's schema must match exactly
    one of 23 alternatives (`oneOf`), each for one event name (`"event": {"const": ...}`), so an
    event with a known name can match only its own: checking that one alone gives the same
    verdict at a twentieth of the cost (half of a custom action's validation was the other 22).
    None when the schema is not of that form (a newer Rasa): everything is then checked whole."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = type(action_response_validator())
    try:
        item = schema["properties"]["events"]["items"]
        names = [alternative["properties"]["event"]["const"] for alternative in item["oneOf"]]
    except (KeyError, TypeError):
        return None
    if len(set(names)) != len(names) or not all(isinstance(name, str) for name in names):
        return None
    events = {**schema["properties"]["events"], "items": {}}  # any events: each is checked by its name
    outline = {**schema, "properties": {**schema["properties"], "events": events}}
    own = {key: value for key, value in item.items() if key != "oneOf"}
    return validator_class(outline), {name: validator_class({**own, "allOf": [alternative]})
                                      for name, alternative in zip(names, item["oneOf"])}


def _passes(result: Any) -> bool:
    """True when the answer certainly passes Rasa's schema (see action_response_outline)."""
    split = action_response_outline()
    if split is None or not split[0].is_valid(result):
        return False
    by_name = split[1]
    for event in result.get("events") or ():
        check = by_name.get(event.get("event")) if isinstance(event, dict) else None
        if check is None or not check.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """As stock Rasa: the most relevant error (jsonschema's best_match) is raised, with Rasa's
    hint. An answer that does not certainly pass is checked against the whole schema."""
    from jsonschema.exceptions import best_match

    whole = action_response_validator()  # Rasa's schema, checked against the meta-schema once
    if _passes(result):
        return True
    error = best_match(whole.iter_errors(result))
    if error is not None:
        error.message += RESPONSE_FORMAT_HELP
        raise error
    return True


def _guard_action_result_validation() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # idempotent: the same function


# -- 6. the whole session for the actions that hand a conversation to a person ------------
class _WithWholeSession:
    """Runs the action on the whole session instead of the window it was handed."""

    def __init__(self, action: Action, window: Window) -> None:
        self._action, self._window = action, window

    def __getattr__(self, name: str) -> Any:
        return getattr(self._action, name)

    async def run(self, output_channel, nlg, tracker, domain) -> List[Event]:
        # `tracker` is Rasa's copy of the live tracker (plus the prediction's events); what
        # it holds beyond the window is what full_session appends to the stored session.
        return await self._action.run(output_channel, nlg, await self._window.full_session(tracker), domain)


def _guard_full_history_actions() -> None:
    """With the windowed tracker store (bot/tracker_store.py) Rasa holds the recent events of a
    long session only; the handoff actions build the agent's transcript, so they are sent the
    whole session. Wraps `_run_action`, which sees the live tracker and its window (the action
    itself only gets a copy)."""
    if getattr(MessageProcessor._run_action, "_bank_whole_session", False):
        return
    original = MessageProcessor._run_action

    async def _run_action(self, action, tracker, output_channel, nlg, prediction):
        window = window_of(tracker)
        if window is not None and action.name() in FULL_HISTORY_ACTIONS:
            action = _WithWholeSession(action, window)
        return await original(self, action, tracker, output_channel, nlg, prediction)

    _run_action._bank_whole_session = True  # type: ignore[attr-defined]
    MessageProcessor._run_action = _run_action


# -- 7. work Rasa repeats on every call, done once --------------------------------------
def _cache_per_call_lookups() -> None:
    """Two lookups whose answer never changes once the model is loaded, done by stock Rasa
    3.6 on every call (both seen in py-spy profiles of the live server, docs/performance.md):
    the graph runner walks the model's graph for the nodes a run needs, recursively and
    without memory, on every NLU parse and every prediction (`minimal_graph_schema`); every
    event read from the store looks its class up by scanning all subclasses of `Event`
    (`resolve_by_type`). Both now remember their answers (per graph schema; per event type
    name, so an unknown name still raises Rasa's error)."""
    from rasa.engine.graph import GraphSchema

    if not getattr(GraphSchema.minimal_graph_schema, "_bank_cached", False):
        minimal = GraphSchema.minimal_graph_schema

        def minimal_graph_schema(self, targets=None):
            cache = self.__dict__.setdefault("_bank_minimal_schemas", {})
            key = tuple(targets) if targets else None
            if key not in cache:
                cache[key] = minimal(self, targets)
            return cache[key]

        minimal_graph_schema._bank_cached = True  # type: ignore[attr-defined]
        GraphSchema.minimal_graph_schema = minimal_graph_schema

    if not getattr(Event.resolve_by_type, "_bank_cached", False):
        resolve = Event.resolve_by_type
        known: Dict[str, Any] = {}

        def resolve_by_type(type_name, default=None):
            found = known.get(type_name)
            if found is None:
                found = resolve(type_name, default)
                if found is not None and found is not default:
                    known[type_name] = found
            return found

        resolve_by_type._bank_cached = True  # type: ignore[attr-defined]
        Event.resolve_by_type = staticmethod(resolve_by_type)


# -- 8. a model replaced with PUT /model, in every worker -------------------------------
MODEL_CHECK_SECONDS = 2.0
# A worker's record of the model it runs lapses this long after its last renewal (a worker that
# stopped without withdrawing it); a busy worker's event loop may renew late, hence the margin.
WORKER_RECORD_SECONDS = 30.0
# While a worker loads a model its event loop may not run at all (Rasa's PUT /model loads in it).
LOADING_RECORD_SECONDS = 600.0
# After a switch, the turns still running on the old model finish before it is freed.
OLD_MODEL_GRACE_SECONDS = 5.0
_base_model: Optional[str] = None  # this server's --model (set by main())


def active_model_key() -> str:
    from connectors.common import redis_key

    return redis_key("rasa", "active-model")


def base_model() -> str:
    """The model this server was started with (`--model`, else RASA_MODEL), as a real path: a
    link such as the image's models/current.tar.gz names the trained file it points to."""
    return _base_model or os.path.realpath(os.environ.get("RASA_MODEL") or "models")


def model_argument(argv: List[str]) -> Optional[str]:
    for flag in ("--model", "-m"):
        if flag in argv[:-1]:
            return os.path.realpath(argv[argv.index(flag) + 1])
    for arg in argv:
        if arg.startswith("--model="):
            return os.path.realpath(arg.split("=", 1)[1])
    return None


class ModelState:
    """The model a worker runs: its path and the Redis record it follows (None: its --model)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.applied: Optional[Dict[str, Any]] = None
        self.failed: Optional[Dict[str, Any]] = None
        self.switching = False


def _model_state(app: Any) -> ModelState:
    state = getattr(app.ctx, "bank_model", None)
    if state is None:
        state = app.ctx.bank_model = ModelState(base_model())
    return state


async def _announce_model_load(request: Any) -> None:
    """Before Rasa's PUT /model handler loads the model (in this worker's event loop): say so."""
    if request.method != "PUT" or request.path != "/model":
        return None
    body = request.json if isinstance(request.json, dict) else {}
    if body.get("model_file") and not (body.get("model_server") or body.get("remote_storage")):
        try:
            await _publish_worker_model(request.app, loading=str(body["model_file"]))
        except Exception as exc:  # the load goes on; the studio may show the switch late
            logger.warning("worker %d: could not announce the model load: %r", os.getpid(), exc)
    return None


async def _record_replaced_model(request: Any, response: Any) -> Any:
    if request.method != "PUT" or request.path != "/model" or getattr(response, "status", None) != 204:
        return None
    body = request.json if isinstance(request.json, dict) else {}
    if body.get("model_server") or body.get("remote_storage") or not body.get("model_file"):
        logger.warning("PUT /model from a model server or remote storage: loaded in this worker only")
        return None
    path = str(body["model_file"])
    path = os.path.abspath(path) if os.path.exists(path) else path
    record = {"path": path, "changed_at": datetime.now(timezone.utc).isoformat(), "base": base_model()}
    state = _model_state(request.app)
    state.path, state.applied, state.failed = path, record, None
    _free_old_model_later(request.app)
    try:
        from connectors.common import redis_client

        await redis_client().set(active_model_key(), json.dumps(record, ensure_ascii=False))
    except Exception as exc:
        logger.error("model %s loaded in one worker, but not recorded for the others: %r", path, exc)
        from sanic import response as sanic_response

        return sanic_response.json({"error": {
            "code": "model_not_shared",
            "message": "The model was loaded by one worker only: Redis is unreachable. Try again.",
        }}, status=503)
    logger.info("model %s active: recorded for every worker (%s)", path, active_model_key())
    try:
        await _publish_worker_model(request.app)
    except Exception as exc:  # renewed at the next check
        logger.warning("worker %d: could not record the model it runs now: %r", os.getpid(), exc)
    return None


async def _load_like_put_model(app: Any, path: str) -> Any:
    """What Rasa's PUT /model does (rasa.server: _load_agent, then the lock store kept), with
    the model's files read in a thread so that this worker's event loop keeps serving."""
    import rasa.server

    endpoints = getattr(app.ctx, "bank_endpoints", None)

    def load() -> Any:
        return asyncio.run(rasa.server._load_agent(model_path=path, endpoints=endpoints))

    new_agent = await asyncio.get_running_loop().run_in_executor(None, load)
    new_agent.lock_store = app.ctx.agent.lock_store
    return new_agent


async def _follow_active_model(app: Any) -> None:
    """One check: load the recorded model if this worker runs another one."""
    from connectors.common import redis_client

    state = _model_state(app)
    raw = await redis_client().get(active_model_key())
    if not raw:
        return
    record = json.loads(raw)
    if record.get("base") != base_model() or record == state.applied or record == state.failed:
        return
    if state.applied is None and record.get("path") == state.path:
        state.applied = record  # started with the recorded model already
        return
    logger.info("worker %d: loading model %s (PUT /model at %s)", os.getpid(), record["path"],
                record.get("changed_at"))
    await _publish_worker_model(app, loading=record["path"])
    try:
        new_agent = await _load_like_put_model(app, record["path"])
    except Exception as exc:  # ErrorResponse from Rasa, a missing file: keep the current model
        logger.error("worker %d: could not load model %s: %s", os.getpid(), record["path"], exc)
        state.failed = record
        return
    app.ctx.agent = new_agent
    state.path, state.applied, state.failed = record["path"], record, None
    logger.info("worker %d: now running model %s", os.getpid(), record["path"])
    _free_old_model_later(app)


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_keys() -> Tuple[str, str]:
    """`<prefix>:rasa:workers` (sorted set: worker id -> until when its record holds, unix time)
    and `<prefix>:rasa:worker-models` (hash: worker id -> the model it runs, JSON)."""
    from connectors.common import redis_key

    return redis_key("rasa", "workers"), redis_key("rasa", "worker-models")


async def _publish_worker_model(app: Any, loading: Optional[str] = None) -> None:
    """Every worker says which model it runs (and which one it is loading), for
    WORKER_RECORD_SECONDS (renewed at every check; LOADING_RECORD_SECONDS while loading, when the
    worker may not get to renew it), so that whoever switched the model (the content studio) can
    tell when every worker of every Rasa process has followed: GET /status answers for one worker
    only. Records of workers that stopped without saying so lapse and are removed here."""
    from connectors.common import redis_client

    state, now = _model_state(app), time.time()
    record = {"name": os.path.basename(state.path), "path": state.path, "pid": os.getpid(),
              "loading": os.path.basename(loading) if loading else None,
              "at": datetime.now(timezone.utc).isoformat()}
    workers, models = worker_keys()
    client = redis_client()
    lapsed = await client.zrangebyscore(workers, "-inf", now)
    async with client.pipeline(transaction=True) as pipe:
        if lapsed:
            pipe.zrem(workers, *lapsed).hdel(models, *lapsed)
        pipe.zadd(workers, {worker_id(): now + (LOADING_RECORD_SECONDS if loading else WORKER_RECORD_SECONDS)})
        pipe.hset(models, worker_id(), json.dumps(record, ensure_ascii=False))
        await pipe.execute()


async def _withdraw_worker_model() -> None:
    from connectors.common import redis_client

    workers, models = worker_keys()
    async with redis_client().pipeline(transaction=True) as pipe:
        await pipe.zrem(workers, worker_id()).hdel(models, worker_id()).execute()


async def _watch_active_model(app: Any) -> None:
    complained = False
    while True:
        try:
            # Renewed once per check; after a switch, the next turn of the loop records the new model.
            await _publish_worker_model(app)
            await asyncio.sleep(MODEL_CHECK_SECONDS)
            await _follow_active_model(app)
            complained = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis away: the next check tries again
            if not complained:
                logger.warning("worker %d: cannot check the active model: %r", os.getpid(), exc)
                complained = True


async def _start_model_watch(app: Any, _loop: Any) -> None:
    _model_state(app)
    app.ctx.bank_model_watch = asyncio.ensure_future(_watch_active_model(app))


async def _stop_model_watch(app: Any, _loop: Any) -> None:
    task = getattr(app.ctx, "bank_model_watch", None)
    if task is not None:
        task.cancel()
    try:
        await _withdraw_worker_model()
    except Exception as exc:  # the record lapses by itself
        logger.info("worker %d: model record not removed: %r", os.getpid(), exc)


def _free_old_model_later(app: Any) -> None:
    """Guard 4 froze the old model's objects; unfreeze, collect and freeze again (the new
    model) once the turns that still use the old one are over: one full collection."""
    async def refreeze() -> None:
        await asyncio.sleep(OLD_MODEL_GRACE_SECONDS)
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        logger.info("worker %d: replaced model freed; %d objects frozen", os.getpid(), gc.get_freeze_count())

    asyncio.ensure_future(refreeze())


async def _worker_header(request: Any, response: Any) -> None:
    if response is not None:
        response.headers["X-Rasa-Worker"] = str(os.getpid())


def install() -> None:
    """Installs the guards (idempotent; the fourth and eighth are registered with guard 2's app), the
    speed-ups and the conversation helpers: several questions in one message become several turns
    (bot/several_questions.py); a button's title typed means the button (bot/typed_buttons.py);
    an unsure message that fits the current topic is about it (bot/in_context.py); the same
    reply is never sent twice in a row (bot/no_repeat.py)."""
    _guard_actions()
    _guard_rest_answers()
    ticket_lock.install()
    _guard_action_result_validation()
    _guard_full_history_actions()
    _cache_per_call_lookups()
    graph_runner.install()
    rules_first.install()
    dialogue_states.install()
    rule_index.install()
    slot_copy.install()
    tf_calls.install()
    several_questions.install()
    typed_buttons.install()
    in_context.install()
    no_repeat.install()


def cors_origins(argv: List[str]) -> List[str]:
    """The origins given to `--cors` (Rasa reads every argument up to the next option)."""
    if "--cors" not in argv:
        return []
    after = argv[argv.index("--cors") + 1:]
    return list(itertools.takewhile(lambda arg: not arg.startswith("-"), after))


def refuse_wildcard_origins(argv: List[str]) -> None:
    """`--cors "*"` lets any web site drive a customer's conversation from their browser."""
    if "*" in cors_origins(argv):
        raise SystemExit("refusing to start: --cors '*' allows every web site; set ALLOWED_ORIGINS to the "
                         "origins the chat page is served from")


def main() -> None:
    global _base_model
    refuse_wildcard_origins(sys.argv)
    _base_model = model_argument(sys.argv)
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
