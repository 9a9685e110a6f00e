"""What the desk does with handoffs: SQL first (the record), then the Redis projection and events.

Route handlers (api/routes/*) only translate HTTP to these calls; the rules live here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, List, Optional, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from services.agent_desk import errors, suggestions
from services.agent_desk.config import DeskSettings
from services.agent_desk.context_view import customer_name
from services.agent_desk.customer_panel import fetch_overview
from services.agent_desk.delivery import handoff_callback_base
from services.agent_desk.live import LiveState
from services.agent_desk.models import (Agent, AuditEvent, Delivery, FollowUpTask, Handoff, Message, Suggestion,
                                        WrapUp)
from bot.masking import mask_name
from services.agent_desk.redact import mask, mask_value
from services.agent_desk.report import desk_report
from services.agent_desk.scheduling import ServiceHours, customer_message, estimate_wait_seconds
from services.agent_desk.visibility import may_read
from services.agent_desk import schemas

if TYPE_CHECKING:
    from services.agent_desk.metrics import DeskMetrics

log = logging.getLogger(__name__)

OPEN = ("waiting", "active")
HELD_BY_OTHERS = "该会话由其他坐席处理"
NOT_YOUR_QUEUE = "该会话不在您负责的队列中"


@dataclass(frozen=True)
class Actor:
    type: str  # agent | service | system
    name: str
    role: str = ""
    display_name: str = ""
    queues: FrozenSet[str] = frozenset()

    @classmethod
    def of(cls, agent: Agent) -> "Actor":
        return cls("agent", agent.username, agent.role, agent.display_name, frozenset(agent.queues))

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    def serves(self, queue: str) -> bool:
        """May pick up (see, claim, close, transfer) a waiting handoff of this queue."""
        return self.type != "agent" or self.is_supervisor or queue in self.queues


BOT = Actor("service", "bot")


@dataclass
class Registration:
    handoff: Handoff
    created: bool
    queue_position: Optional[int]
    estimated_wait_seconds: int
    within_service_hours: bool
    next_service_start: Optional[datetime]
    message: str


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class HandoffDesk:
    def __init__(self, session: Session, live: LiveState, settings: DeskSettings,
                 kick_delivery: Callable[[str], None], clock: Callable[[], datetime] = now_utc,
                 metrics: "Optional[DeskMetrics]" = None):
        self.session = session
        self.metrics = metrics  # Prometheus counters (metrics.py); None outside the app
        self.live = live
        self.settings = settings
        self.kick_delivery = kick_delivery
        self.clock = clock
        self.hours = ServiceHours(settings.service_window, settings.timezone)

    # -- bot side ------------------------------------------------------------------------
    def register(self, data: schemas.HandoffIn) -> Registration:
        existing = self.open_for_conversation(data.conversation_id)
        if existing is not None:
            return self._registration(existing, created=False)
        now = self.clock()
        queue = data.queue if data.queue in self.settings.queue_names else self.settings.default_queue
        if data.queue and data.queue != queue:
            log.warning("unknown queue %r requested by the bot side; using %r", data.queue, queue)
        handoff = Handoff(
            conversation_id=data.conversation_id, channel=data.channel, status="waiting",
            reason=mask(data.reason), priority=data.priority, queue=queue,
            customer_id=data.customer.id, customer_display_name=customer_name(data.customer.id, mask_name(data.customer.display_name))[:64],
            customer_segment=data.customer.segment,
            slots=mask_value(data.slots), summary=mask(data.summary),
            nlu=[{"text": mask(n.text), "intent": n.intent, "confidence": round(n.confidence, 4)} for n in data.nlu],
            within_service_hours=self.hours.is_open(now), created_at=now, waiting_since=now)
        handoff.messages = [Message(role=t.role, text=mask(t.text), ts=_aware(t.ts) or now)
                            for t in data.transcript]
        self.session.add(handoff)
        self.session.flush()
        self._audit(BOT, "created", handoff, {"queue": queue, "priority": data.priority, "channel": data.channel})
        self.session.commit()
        self.live.project(handoff)
        self.live.publish("handoff_created", handoff, priority=handoff.priority, reason=handoff.reason,
                          customer=handoff.customer_display_name)
        if self.metrics:
            self.metrics.handoff_created(handoff)
        return self._registration(handoff, created=True)

    def _registration(self, handoff: Handoff, created: bool) -> Registration:
        now = self.clock()
        position = self.positions([handoff]).get(handoff.id)
        open_now = self.hours.is_open(now)
        next_open = self.hours.next_open(now)
        wait = self.estimated_wait(position, (next_open - now).total_seconds())
        return Registration(handoff, created, position, wait, open_now, None if open_now else next_open,
                            customer_message(position, wait, self.hours, open_now, next_open))

    def customer_message(self, handoff_id: str, text: str, ts: Optional[datetime],
                         suggested: Sequence["schemas.SuggestionIn"] = ()) -> Handoff:
        """A customer message while a person has the conversation, with the replies the
        assistant would give to it (shown to the agent, never sent by themselves)."""
        handoff = self._get(handoff_id, for_update=True)
        if handoff.status == "closed":
            raise errors.HandoffClosed()
        message = Message(handoff_id=handoff.id, role="customer", text=mask(text), ts=_aware(ts) or self.clock())
        self.session.add(message)
        self.session.flush()
        shown = suggestions.record(self.session, message, suggested)
        self.session.commit()
        self.live.publish("customer_message", handoff, message_id=message.id, text=message.text,
                          ts=message.ts.isoformat(), suggestions=len(shown))
        return handoff

    def pending_suggestions(self, handoff_id: str) -> List[Suggestion]:
        return suggestions.pending(self.session, handoff_id)

    def rate(self, handoff_id: str, rating: int, comment: str) -> Handoff:
        handoff = self._get(handoff_id, for_update=True)
        handoff.rating = rating
        handoff.rated_at = self.clock()
        self._audit(BOT, "rated", handoff, {"rating": rating, "comment": mask(comment)})
        self.session.commit()
        self.live.publish("rating", handoff, rating=rating)
        return handoff

    def open_for_conversation(self, conversation_id: str) -> Optional[Handoff]:
        return self.session.execute(
            select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN))
            .order_by(Handoff.created_at.desc()).limit(1)).scalar()

    # -- agents: reads -------------------------------------------------------------------
    def list(self, status: str, queue: Optional[str] = None, limit: int = 200) -> List[Handoff]:
        query = select(Handoff).where(Handoff.status == status)
        if queue:
            query = query.where(Handoff.queue == queue)
        if status == "waiting":
            query = query.order_by(Handoff.priority.desc(), Handoff.waiting_since, Handoff.id)
        elif status == "active":
            query = query.order_by(Handoff.claimed_at)
        else:
            query = query.order_by(Handoff.closed_at.desc())
        return list(self.session.execute(query.limit(limit)).scalars())

    def get(self, handoff_id: str, viewer: Optional[Actor] = None) -> Handoff:
        handoff = self.session.execute(
            select(Handoff).options(selectinload(Handoff.messages).selectinload(Message.delivery))
            .where(Handoff.id == handoff_id)).scalar()
        if handoff is None:
            raise errors.HandoffNotFound()
        if viewer is not None:
            self._require_reader(handoff, viewer)
            self._audit(viewer, "viewed", handoff, None)  # every read of customer data, not the first only
            self.session.commit()
        return handoff

    def readable(self, handoffs: List[Handoff], viewer: Actor) -> List[Handoff]:
        """The handoffs of a list this agent may see; the read is written to the audit log."""
        shown = [h for h in handoffs if may_read(h, viewer)]
        if shown:
            self.audit_agent(viewer, "listed", {"handoff_ids": [h.id for h in shown]})
        return shown

    def close_deliveries(self, handoff_id: str) -> List[Delivery]:
        return list(self.session.execute(
            select(Delivery).where(Delivery.handoff_id == handoff_id, Delivery.kind == "closed")
            .order_by(Delivery.id)).scalars())

    def last_messages(self, handoff_ids: List[str]) -> Dict[str, str]:
        if not handoff_ids:
            return {}
        latest = (select(Message.handoff_id, func.max(Message.id).label("mid"))
                  .where(Message.handoff_id.in_(handoff_ids)).group_by(Message.handoff_id).subquery())
        rows = self.session.execute(select(Message.handoff_id, Message.text).join(latest, Message.id == latest.c.mid))
        return {hid: text for hid, text in rows}

    def positions(self, handoffs: List[Handoff]) -> Dict[str, int]:
        """Queue positions from Redis; computed from SQL when Redis cannot answer."""
        found = self.live.positions(handoffs)
        if found is not None:
            return found
        positions: Dict[str, int] = {}
        for h in handoffs:
            if h.status != "waiting":
                continue
            ahead = self.session.execute(
                select(func.count()).select_from(Handoff).where(
                    Handoff.status == "waiting", Handoff.queue == h.queue,
                    (Handoff.priority > h.priority)
                    | ((Handoff.priority == h.priority) & (Handoff.waiting_since < h.waiting_since)))).scalar()
            positions[h.id] = int(ahead) + 1
        return positions

    def estimated_wait(self, position: Optional[int], seconds_until_open: float = 0.0) -> int:
        samples = self.live.handling_samples()
        if samples is None:
            samples = self._handling_samples_from_sql()
        agents = len(self.live.online_agents())
        return estimate_wait_seconds(position, samples, agents, self.settings.default_handling_seconds,
                                     max(0.0, seconds_until_open))

    def _handling_samples_from_sql(self) -> List[float]:
        rows = self.session.execute(
            select(Handoff.claimed_at, Handoff.closed_at).where(
                Handoff.status == "closed", Handoff.claimed_at.isnot(None))
            .order_by(Handoff.closed_at.desc()).limit(20)).all()
        return [(closed - claimed).total_seconds() for claimed, closed in rows]

    def queue_counts(self) -> Dict[str, int]:
        counts = self.live.queue_lengths()
        if counts is None:
            rows = self.session.execute(select(Handoff.queue, func.count()).where(Handoff.status == "waiting")
                                        .group_by(Handoff.queue))
            counts = {name: 0 for name in self.settings.queue_names}
            counts.update({q: n for q, n in rows})
        return counts

    def audit_log(self, handoff_id: str) -> List[AuditEvent]:
        self._get(handoff_id)
        return list(self.session.execute(
            select(AuditEvent).where(AuditEvent.handoff_id == handoff_id).order_by(AuditEvent.id)).scalars())

    def agent_audit_log(self, actor: Optional[str], action: Optional[str], limit: int) -> List[AuditEvent]:
        """The newest audit events, optionally of one actor and/or one action (supervisors)."""
        query = select(AuditEvent)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(self.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).scalars())

    # -- agents: actions -----------------------------------------------------------------
    def claim(self, handoff_id: str, actor: Actor) -> Handoff:
        now = self.clock()
        # The conditional UPDATE is the lock: exactly one agent wins, even across desk processes;
        # the queue condition keeps a transfer that lands at the same moment from being outrun.
        claimable = [Handoff.id == handoff_id, Handoff.status == "waiting"]
        if not actor.is_supervisor:
            claimable.append(Handoff.queue.in_(sorted(actor.queues)))
        result = self.session.execute(
            update(Handoff).where(*claimable)
            .values(status="active", claimed_by=actor.name, claimed_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            self.session.rollback()
            handoff = self._get(handoff_id)
            if handoff.status == "closed":
                raise errors.HandoffClosed()
            if handoff.claimed_by == actor.name:
                return handoff  # claiming twice is harmless
            if handoff.status == "waiting":
                raise errors.Forbidden(NOT_YOUR_QUEUE)
            raise errors.AlreadyClaimed()
        handoff = self._get(handoff_id)
        self.session.refresh(handoff)
        self._audit(actor, "claimed", handoff, {"queue": handoff.queue,
                                                "waited_seconds": int((now - handoff.waiting_since).total_seconds())})
        self.session.commit()
        self.live.project(handoff)
        self.live.publish("claimed", handoff, agent=actor.display_name or actor.name)
        if self.metrics:
            self.metrics.handoff_claimed(handoff, (now - handoff.waiting_since).total_seconds())
        return handoff

    def reply(self, handoff_id: str, actor: Actor, text: str, suggestion_id: Optional[int] = None) -> Message:
        """The agent's reply; `suggestion_id` when it comes from a suggested reply (sent as it
        was or edited first), so the report can tell how often suggestions help."""
        handoff = self._get(handoff_id, for_update=True)
        self._require_handler(handoff, actor)
        message = Message(handoff_id=handoff.id, role="agent", text=mask(text), ts=self.clock(), agent=actor.name)
        self.session.add(message)
        self.session.flush()
        outcome = suggestions.decide(self.session, handoff.id, suggestion_id, message.text, message)
        payload = dict(handoff_callback_base(handoff), text=message.text,
                       agent=actor.display_name or actor.name, agent_id=actor.name,
                       message_id=message.id, ts=message.ts.isoformat())
        self.session.add(Delivery(handoff_id=handoff.id, message_id=message.id, kind="agent_message", payload=payload))
        self._audit(actor, "replied", handoff, {"message_id": message.id, "suggestion_id": suggestion_id,
                                                "suggestion": outcome})
        self.session.commit()
        self.kick_delivery(handoff.id)
        self.live.publish("agent_message", handoff, message_id=message.id, text=message.text,
                          agent=actor.name, ts=message.ts.isoformat())
        self.session.refresh(message)
        return message

    def close(self, handoff_id: str, actor: Actor, resolution: str, back_to_bot: bool,
              then: Optional[str] = None, wrap_up: Optional[schemas.WrapUpIn] = None) -> Handoff:
        """Ends the handoff; `then` is what the bot does next, `wrap_up` how the case ended
        (see schemas.CloseIn)."""
        then = then or ("rating" if back_to_bot else "nothing")
        handoff = self._get(handoff_id, for_update=True)
        if handoff.status == "closed":
            raise errors.HandoffClosed()
        self._require_handler_or_queue(handoff, actor)
        now = self.clock()
        if wrap_up is not None and wrap_up.disposition:
            self._wrap_up(handoff, actor, wrap_up, now)
        suggestions.settle_pending(self.session, handoff.id, now)
        handoff.status = "closed"
        handoff.closed_at = now
        handoff.closed_by = actor.name
        handoff.resolution = mask(resolution)
        handoff.back_to_bot = back_to_bot
        payload = dict(handoff_callback_base(handoff), back_to_bot=back_to_bot, resolution=handoff.resolution,
                       then=then)
        self.session.add(Delivery(handoff_id=handoff.id, kind="closed", payload=payload))
        self._audit(actor, "closed", handoff, {"back_to_bot": back_to_bot, "resolution": handoff.resolution,
                                               "then": then, "disposition": wrap_up and wrap_up.disposition})
        self.session.commit()
        self.kick_delivery(handoff.id)
        if handoff.claimed_at is not None:
            self.live.record_handling((now - handoff.claimed_at).total_seconds())
        self.live.project(handoff)
        self.live.publish("closed", handoff, back_to_bot=back_to_bot)
        if self.metrics:
            self.metrics.handoff_closed(handoff)
        return handoff

    def _wrap_up(self, handoff: Handoff, actor: Actor, wrap_up: "schemas.WrapUpIn", now: datetime) -> None:
        if wrap_up.disposition == "follow_up":
            due = wrap_up.follow_up_due
            if due is None or (due if due.tzinfo else due.replace(tzinfo=timezone.utc)) <= now:
                raise errors.FollowUpDueMissing()
            self.session.add(FollowUpTask(handoff_id=handoff.id, queue=handoff.queue, customer_id=handoff.customer_id,
                                          note=mask(wrap_up.follow_up_note), due_at=due, created_by=actor.name,
                                          created_at=now))
        handoff.wrap_up = WrapUp(handoff_id=handoff.id, disposition=wrap_up.disposition, agent=actor.name, at=now)

    # -- the customer panel ----------------------------------------------------------------
    def customer_panel(self, handoff_id: str, viewer: Actor) -> "schemas.CustomerPanelOut":
        """Core banking's view of the handoff's own customer, for whoever may read the handoff."""
        handoff = self._get(handoff_id)
        self._require_reader(handoff, viewer)
        if not handoff.customer_id:
            return schemas.CustomerPanelOut(anonymous=True)
        self._audit(viewer, "customer_data_viewed", handoff, {"customer_id": handoff.customer_id})
        self.session.commit()  # written down before anything is shown, even if core banking fails
        overview = fetch_overview(self.settings, handoff.customer_id, viewer.name)
        return schemas.CustomerPanelOut(anonymous=False, overview=overview)

    # -- follow-up tasks and the report (supervisors) -------------------------------------
    def follow_up_tasks(self, viewer: Actor, include_done: bool = False) -> List[FollowUpTask]:
        """Supervisors see every task; an agent the ones they created."""
        query = select(FollowUpTask)
        if not include_done:
            query = query.where(FollowUpTask.done_at.is_(None))
        if not viewer.is_supervisor:
            query = query.where(FollowUpTask.created_by == viewer.name)
        return list(self.session.execute(query.order_by(FollowUpTask.due_at, FollowUpTask.id)).scalars())

    def finish_task(self, task_id: int, actor: Actor) -> FollowUpTask:
        task = self.session.get(FollowUpTask, task_id)
        if task is None or not (actor.is_supervisor or task.created_by == actor.name):
            raise errors.TaskNotFound()
        if task.done_at is None:
            task.done_at, task.done_by = self.clock(), actor.name
            self._audit(actor, "follow_up_done", self._get(task.handoff_id), {"task_id": task.id})
            self.session.commit()
        return task

    def report(self, since: datetime, until: datetime) -> "schemas.ReportOut":
        return desk_report(self.session, self.settings.queue_labels, since, until)

    def transfer(self, handoff_id: str, actor: Actor, queue: str, note: str) -> Handoff:
        if queue not in self.settings.queue_names:
            raise errors.UnknownQueue()
        handoff = self._get(handoff_id, for_update=True)
        if handoff.status == "closed":
            raise errors.HandoffClosed()
        self._require_handler_or_queue(handoff, actor)
        previous_queue, previous_agent = handoff.queue, handoff.claimed_by
        handoff.queue = queue
        handoff.status = "waiting"  # waiting_since is kept: the customer keeps their waiting time
        handoff.claimed_by = None
        handoff.claimed_at = None
        self._audit(actor, "transferred", handoff, {"from_queue": previous_queue, "to_queue": queue,
                                                    "from_agent": previous_agent, "note": mask(note)})
        self.session.commit()
        self.live.project(handoff, previous_agent=previous_agent)
        self.live.publish("transferred", handoff, from_queue=previous_queue, to_queue=queue)
        if self.metrics:
            self.metrics.handoff_transferred(handoff)
        return handoff

    def retry_delivery(self, handoff_id: str, delivery_id: int, actor: Actor) -> Delivery:
        row = self.session.get(Delivery, delivery_id)
        if row is None or row.handoff_id != handoff_id:
            raise errors.DeliveryNotFound()
        handoff = self._get(handoff_id)
        self._require_reader(handoff, actor)
        if row.status == "failed":
            row.status = "pending"
            self._audit(actor, "delivery_retried", handoff, {"delivery_id": delivery_id})
            self.session.commit()
            self.kick_delivery(handoff_id)
        return row

    # -- helpers -------------------------------------------------------------------------
    def _get(self, handoff_id: str, for_update: bool = False) -> Handoff:
        """Loads a handoff; for_update locks its row (PostgreSQL) until commit, so concurrent
        close/transfer/reply on the same handoff are serialised."""
        if for_update:
            handoff = self.session.get(Handoff, handoff_id, with_for_update=True, populate_existing=True)
        else:
            handoff = self.session.get(Handoff, handoff_id)
        if handoff is None:
            raise errors.HandoffNotFound()
        return handoff

    @staticmethod
    def _require_handler(handoff: Handoff, actor: Actor) -> None:
        if handoff.status != "active":
            raise errors.InvalidState("请先接入该会话" if handoff.status == "waiting" else "会话已结束")
        if handoff.claimed_by != actor.name and not actor.is_supervisor:
            raise errors.Forbidden(HELD_BY_OTHERS)

    @classmethod
    def _require_handler_or_queue(cls, handoff: Handoff, actor: Actor) -> None:
        """Close and transfer: the holder of an active handoff, an agent of a waiting one's queue."""
        if handoff.status == "active":
            cls._require_handler(handoff, actor)
        elif not actor.serves(handoff.queue):
            raise errors.Forbidden(NOT_YOUR_QUEUE)

    @staticmethod
    def _require_reader(handoff: Handoff, actor: Actor) -> None:
        if not may_read(handoff, actor):
            raise errors.Forbidden(NOT_YOUR_QUEUE if handoff.status == "waiting" else HELD_BY_OTHERS)

    def _audit(self, actor: Actor, action: str, handoff: Optional[Handoff], detail: Optional[dict]) -> None:
        self.session.add(AuditEvent(ts=self.clock(), actor_type=actor.type, actor=actor.name, action=action,
                                    handoff_id=handoff.id if handoff else None, detail=detail))

    def audit_agent(self, actor: Actor, action: str, detail: Optional[dict] = None) -> None:
        self._audit(actor, action, None, detail)
        self.session.commit()


def _aware(ts: Optional[datetime]) -> Optional[datetime]:
    if ts is None:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def to_summary(handoff: Handoff, now: datetime, position: Optional[int], last_message: Optional[str]) -> dict:
    return dict(
        id=handoff.id, conversation_id=handoff.conversation_id, channel=handoff.channel, status=handoff.status,
        reason=handoff.reason, priority=handoff.priority, queue=handoff.queue, created_at=handoff.created_at,
        waiting_since=handoff.waiting_since,
        waiting_seconds=int(((handoff.claimed_at or handoff.closed_at or now) - handoff.waiting_since).total_seconds())
        if handoff.status != "waiting" else int((now - handoff.waiting_since).total_seconds()),
        queue_position=position,
        customer={"id": handoff.customer_id, "display_name": handoff.customer_display_name,
                  "segment": handoff.customer_segment},
        claimed_by=handoff.claimed_by, claimed_at=handoff.claimed_at, closed_at=handoff.closed_at,
        within_service_hours=handoff.within_service_hours, last_message=last_message)
