"""The in-memory model store: the contract in plain Python, as simple as it can be.

It is what the conformance kit compares other stores with, and a fast store for tests. Every value goes through
the same encoding a SQL store applies (:func:`pluginkit.sessions.sql.normalize`, the message JSON codec), so
"what you read back" is the same everywhere; every object handed in or out is a copy.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import attrs

from pluginkit.sessions import sql
from pluginkit.sessions._base import BaseSessionStore, SearchRequest
from pluginkit.sessions._codec import (
    decode_message,
    encode_message,
    from_us,
    new_session_id,
    search_text,
    session_day,
    words,
)
from pluginkit.sessions._errors import SessionNotFound
from pluginkit.sessions._types import ChatHistoryMatch, Message, Session, SessionInsights

__all__ = ["InMemorySessionStore"]


@attrs.define
class _Stored:
    session: Session
    #: (message JSON, message sequence number) in order
    messages: list[tuple[str, int]] = attrs.field(factory=list)


class InMemorySessionStore(BaseSessionStore):
    """Sessions in a dict, for tests and as the conformance kit's model. Thread-safe; nothing persists."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Stored] = {}
        self._days: dict[str, int] = {}
        self._sequence = 0
        self._lock = threading.RLock()

    def _stored(self, session_id: str) -> _Stored:
        stored = self._sessions.get(session_id)
        if stored is None:
            raise SessionNotFound.for_id(session_id)
        return stored

    def _session(self, stored: _Stored, include_messages: bool) -> Session:
        session = attrs.evolve(stored.session)  # type: ignore[misc]
        for field in sql.FIELD_COLUMNS:  # fresh copies of the structured values
            setattr(session, field, sql.normalize(field, getattr(session, field)))
        session.message_count = len(stored.messages)
        created = [decode_message(text).created for text, _ in stored.messages]
        session.last_activity = from_us(max(created) * 1_000_000) if created else None
        if include_messages:
            session.conversation = [decode_message(text) for text, _ in stored.messages]
        return session

    def _encode(self, messages: list[Message]) -> list[tuple[str, int]]:
        out = []
        for message in messages:
            self._sequence += 1
            out.append((encode_message(message), self._sequence))
        return out

    # -- backend ------------------------------------------------------------------------------------------------
    async def _create(self, working_dir: str, name: str, session_type: str, now: int) -> Session:
        with self._lock:
            day = session_day(now)
            self._days[day] = self._days.get(day, 0) + 1
            session = Session(
                id=new_session_id(now, self._days[day]), working_dir=working_dir, name=name,
                session_type=session_type, created_at=from_us(now), updated_at=from_us(now),
            )
            self._sessions[session.id] = _Stored(session)
            return self._session(self._sessions[session.id], False)

    async def _get(self, id: str, include_messages: bool) -> Session:
        with self._lock:
            return self._session(self._stored(id), include_messages)

    async def _add(self, session_id: str, message: Message, now: int) -> None:
        with self._lock:
            stored = self._stored(session_id)
            stored.messages.extend(self._encode([message]))
            stored.session.updated_at = from_us(now)

    async def _replace(self, session_id: str, messages: list[Message], now: int) -> None:
        with self._lock:
            stored = self._stored(session_id)
            stored.messages = self._encode(messages)
            stored.session.updated_at = from_us(now)

    async def _list(self, types: list[str]) -> list[Session]:
        with self._lock:
            chosen = [s for s in self._sessions.values() if s.session.session_type in types]
            chosen.sort(key=lambda s: (s.session.updated_at, s.session.id), reverse=True)
            return [self._session(s, False) for s in chosen]

    async def _delete(self, id: str) -> None:
        with self._lock:
            self._stored(id)
            del self._sessions[id]

    async def _insights(self) -> SessionInsights:
        with self._lock:
            total = 0
            for stored in self._sessions.values():
                s = stored.session
                total += next((v for v in (s.accumulated_total_tokens, s.total_tokens) if v is not None), 0)
            return SessionInsights(total_sessions=len(self._sessions), total_tokens=total)

    async def _insert(self, session: Session, now: int, texts: list[str] | None = None) -> Session:
        with self._lock:
            created = await self._create(session.working_dir, session.name, session.session_type, now)
            stored = self._sessions[created.id]
            fields = {f: sql.normalize(f, getattr(session, f)) for f in sql.FIELD_COLUMNS}
            stored.session = attrs.evolve(stored.session, **fields)  # type: ignore[misc]
            stored.messages = self._encode(list(session.conversation or []))
            return self._session(stored, False)

    async def _truncate(self, session_id: str, timestamp: int, now: int) -> None:
        with self._lock:
            stored = self._stored(session_id)
            stored.messages = [m for m in stored.messages if decode_message(m[0]).created < timestamp]
            stored.session.updated_at = from_us(now)

    async def _update(self, session_id: str, changes: dict[str, Any], now: int) -> None:
        with self._lock:
            stored = self._stored(session_id)
            for field, value in changes.items():
                setattr(stored.session, field, sql.normalize(field, value))
            stored.session.updated_at = from_us(now)

    async def _search(self, request: SearchRequest) -> list[ChatHistoryMatch]:
        with self._lock:
            documents = []
            for stored in self._sessions.values():
                for text, sequence in stored.messages:
                    message = decode_message(text)
                    content = search_text(message)
                    if content:
                        documents.append((stored.session, message, content, words(content), sequence))
            found = (self._any if request.mode == "any" else self._all)(request, documents)
            return [
                ChatHistoryMatch(
                    session_id=session.id, session_name=session.name, message_role=message.role,
                    message_content=content, timestamp=from_us(message.created * 1_000_000), relevance_score=score,
                )
                for score, _, _, session, message, content in found[: request.limit]
            ]

    @staticmethod
    def _kept(request: SearchRequest, session: Session, message: Message) -> bool:
        return not (
            (request.after is not None and message.created < request.after)
            or (request.before is not None and message.created > request.before)
            or (request.exclude is not None and session.id == request.exclude)
        )

    def _any(self, request: SearchRequest, documents: list[Any]) -> list[Any]:
        """The seed's search: any term as a substring of the folded text, newest first (the store's order for
        messages created in the same second); the score counts the terms found."""
        found = []
        for session, message, content, tokens, sequence in documents:
            score = request.matches(" ".join(tokens))
            if score and self._kept(request, session, message):
                found.append((float(score), message.created, sequence, session, message, content))
        found.sort(key=lambda item: item[1:3], reverse=True)
        return found

    def _all(self, request: SearchRequest, documents: list[Any]) -> list[Any]:
        """Every term as whole adjacent words, ranked by BM25 (FTS5's constants), then newest first."""
        phrases = [term.split(" ") for term in request.terms]
        counts = [[_occurrences(doc[3], phrase) for phrase in phrases] for doc in documents]
        n = len(documents)
        average = sum(len(doc[3]) for doc in documents) / n if n else 0.0
        idf = []
        for i in range(len(phrases)):
            df = sum(1 for c in counts if c[i])
            idf.append(max(math.log((n - df + 0.5) / (df + 0.5)), 1e-6))
        found = []
        for doc, tf in zip(documents, counts, strict=True):
            session, message, content, tokens, sequence = doc
            if not all(tf) or not self._kept(request, session, message):
                continue
            norm = 1.2 * (0.25 + 0.75 * len(tokens) / average)
            score = sum(w * f * 2.2 / (f + norm) for w, f in zip(idf, tf, strict=True))
            found.append((score, message.created, sequence, session, message, content))
        found.sort(key=lambda item: item[:3], reverse=True)
        return found


def _occurrences(tokens: list[str], phrase: list[str]) -> int:
    size = len(phrase)
    first = phrase[0]
    return sum(1 for i, token in enumerate(tokens) if token == first and tokens[i : i + size] == phrase)
