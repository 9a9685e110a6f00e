"""SQL tables: agents, handoffs, their transcripts, outgoing callbacks (outbox) and the audit log."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, List

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (portable across SQLite and PostgreSQL), returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UTCDateTime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class JSONText(TypeDecorator):
    """JSON kept as text so SQLite and PostgreSQL behave the same."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Agent(Base):
    __tablename__ = "desk_agents"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    display_name = Column(String(64), nullable=False)
    role = Column(String(16), nullable=False, default="agent")  # agent | supervisor | content
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    queue_rows = relationship("AgentQueue", lazy="selectin", cascade="all, delete-orphan")

    @property
    def queues(self) -> List[str]:
        """The queues this agent serves (supervisors see every queue whatever is listed)."""
        return sorted(row.queue for row in self.queue_rows)


class AgentQueue(Base):
    """Which queues an agent serves: a table of its own, so adding it needs no migration."""

    __tablename__ = "desk_agent_queues"

    agent_id = Column(Integer, ForeignKey("desk_agents.id", ondelete="CASCADE"), primary_key=True)
    queue = Column(String(32), primary_key=True)


class Handoff(Base):
    __tablename__ = "desk_handoffs"

    id = Column(String(32), primary_key=True, default=new_id)
    conversation_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default="waiting")  # waiting | active | closed
    reason = Column(Text, nullable=False, default="")
    priority = Column(Integer, nullable=False, default=0)
    queue = Column(String(32), nullable=False)
    customer_id = Column(String(64), nullable=True)
    customer_display_name = Column(String(64), nullable=False, default="")
    customer_segment = Column(String(32), nullable=False, default="")
    slots = Column(JSONText, nullable=False, default=dict)
    nlu = Column(JSONText, nullable=False, default=list)
    summary = Column(Text, nullable=False, default="")
    within_service_hours = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # When the customer started waiting in the current queue order: kept across transfers so a
    # transferred customer does not lose their place.
    waiting_since = Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = Column(UTCDateTime, nullable=True)
    claimed_by = Column(String(64), nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    closed_by = Column(String(64), nullable=True)
    resolution = Column(Text, nullable=True)
    back_to_bot = Column(Boolean, nullable=True)
    rating = Column(Integer, nullable=True)
    rated_at = Column(UTCDateTime, nullable=True)

    messages = relationship("Message", back_populates="handoff", order_by="Message.id",
                            cascade="all, delete-orphan")
    wrap_up = relationship("WrapUp", uselist=False, lazy="selectin", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_desk_handoffs_status", "status"),
        Index("ix_desk_handoffs_conversation", "conversation_id", "status"),
        Index("ix_desk_handoffs_closed_at", "closed_at"),
    )


class WrapUp(Base):
    """How the agent closed the case (disposition), for the desk's report. Its own table so
    adding it needed no migration of desk_handoffs."""

    __tablename__ = "desk_wrap_ups"

    handoff_id = Column(String(32), ForeignKey("desk_handoffs.id", ondelete="CASCADE"), primary_key=True)
    disposition = Column(String(24), nullable=False)  # solved | follow_up | complaint_registered | transferred
    agent = Column(String(64), nullable=False)
    at = Column(UTCDateTime, nullable=False, default=utcnow)


class FollowUpTask(Base):
    """A case closed as "needs follow-up": someone must get back to the customer by `due_at`."""

    __tablename__ = "desk_follow_up_tasks"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(String(32), ForeignKey("desk_handoffs.id", ondelete="CASCADE"), nullable=False)
    queue = Column(String(32), nullable=False)
    customer_id = Column(String(64), nullable=True)
    note = Column(Text, nullable=False, default="")
    due_at = Column(UTCDateTime, nullable=False)
    created_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    done_at = Column(UTCDateTime, nullable=True)
    done_by = Column(String(64), nullable=True)

    __table_args__ = (Index("ix_desk_tasks_open", "done_at", "due_at"),)


class Message(Base):
    """One transcript line: what the bot side sent at handoff, then live customer/agent messages."""

    __tablename__ = "desk_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(String(32), ForeignKey("desk_handoffs.id", ondelete="CASCADE"), nullable=False)
    role = Column(String(16), nullable=False)  # customer | bot | agent | system
    text = Column(Text, nullable=False)
    ts = Column(UTCDateTime, nullable=False, default=utcnow)
    agent = Column(String(64), nullable=True)

    handoff = relationship("Handoff", back_populates="messages")
    delivery = relationship("Delivery", uselist=False, back_populates="message")

    __table_args__ = (Index("ix_desk_messages_handoff", "handoff_id", "id"),)


class Suggestion(Base):
    """A reply the assistant would have given to a customer message while a person has the
    conversation, and what the agent did with it (the report's suggestion-use rate)."""

    __tablename__ = "desk_suggestions"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(String(32), ForeignKey("desk_handoffs.id", ondelete="CASCADE"), nullable=False)
    message_id = Column(Integer, ForeignKey("desk_messages.id", ondelete="CASCADE"), nullable=False)
    rank = Column(Integer, nullable=False)  # 1 = the assistant's first choice
    intent = Column(String(64), nullable=False)
    confidence = Column(Float, nullable=False)
    text = Column(Text, nullable=False)
    outcome = Column(String(16), nullable=False, default="shown")  # shown | used | edited | ignored
    reply_message_id = Column(Integer, ForeignKey("desk_messages.id", ondelete="SET NULL"), nullable=True)
    decided_at = Column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_desk_suggestions_handoff", "handoff_id", "outcome"),)


class Delivery(Base):
    """Transactional outbox: every callback to the bot side (agent replies, close events).

    Written in the same transaction as the change it announces, delivered by the worker in
    `delivery.py` with retries; a failed delivery stays visible (status "failed") and can be retried.
    """

    __tablename__ = "desk_deliveries"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(String(32), ForeignKey("desk_handoffs.id", ondelete="CASCADE"), nullable=False)
    message_id = Column(Integer, ForeignKey("desk_messages.id", ondelete="CASCADE"), nullable=True)
    kind = Column(String(32), nullable=False)  # agent_message | closed
    payload = Column(JSONText, nullable=False)
    status = Column(String(16), nullable=False, default="pending")  # pending | delivered | failed
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at = Column(UTCDateTime, nullable=True)

    message = relationship("Message", back_populates="delivery")

    __table_args__ = (Index("ix_desk_deliveries_status", "status", "handoff_id", "id"),)


class AuditEvent(Base):
    """Who saw / claimed / replied / closed / transferred what, and when."""

    __tablename__ = "desk_audit_log"

    id = Column(Integer, primary_key=True)
    ts = Column(UTCDateTime, nullable=False, default=utcnow)
    actor_type = Column(String(16), nullable=False)  # agent | service | system
    actor = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    handoff_id = Column(String(32), nullable=True)
    detail = Column(JSONText, nullable=True)

    __table_args__ = (Index("ix_desk_audit_handoff", "handoff_id", "id"),)
