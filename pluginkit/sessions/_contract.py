"""The session store contract: the seed's 18 methods, with their names and parameters, as one abstract class.

This class is the single definition the rest of the family derives from: the ``session.*`` ABI entries take
their names and documentation from its methods, their params classes are checked against its signatures, the
adapter to a plugin store implements it, and the conformance kit tests it.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self

from pluginkit.sessions._sync import SyncSessionStore
from pluginkit.sessions._types import (
    UNSET,
    ChatHistoryMatch,
    Message,
    ModelConfig,
    Recipe,
    Session,
    SessionInsights,
    SessionType,
    TokenStatsUpdate,
    Unset,
)

__all__ = [
    "DEFAULT_MAX_IMPORT_BYTES", "DEFAULT_SEARCH_LIMIT", "MAX_SEARCH_LIMIT", "SEARCH_MODES", "UNSET", "SearchMode",
    "SessionStore", "Unset",
]


#: How ``search_chat_history`` matches: ``"any"`` word as a substring, newest first (the seed's search, the
#: default), or ``"all"`` words, ranked.
SearchMode = Literal["any", "all"]
SEARCH_MODES: tuple[str, ...] = ("any", "all")

#: Results of ``search_chat_history`` when no limit is given (the seed's default).
DEFAULT_SEARCH_LIMIT = 10
#: The most results one search returns; larger limits are lowered to it.
MAX_SEARCH_LIMIT = 1000
#: Largest import accepted by default, in bytes of JSON.
DEFAULT_MAX_IMPORT_BYTES = 32 * 1024 * 1024


class SessionStore(abc.ABC):
    """Where chat sessions live. Every method is a coroutine; :meth:`sync` gives the blocking facade.

    Errors: an unknown session id raises :class:`~pluginkit.sessions.SessionNotFound`; input a store refuses
    raises :class:`~pluginkit.sessions.InvalidSessionData` and writes nothing. Every method that writes stamps
    the session's ``updated_at`` (later than any earlier stamp from the same process).
    """

    #: Largest JSON text :meth:`import_session` accepts.
    max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES

    @abc.abstractmethod
    async def create_session(
        self, working_dir: str | os.PathLike[str], name: str = "", session_type: SessionType | str = SessionType.USER
    ) -> Session:
        """Create an empty session and return it.

        The id is the seed's ``YYYYMMDD_N`` (UTC day, N counting that day's sessions from 1, never reused).
        ``name`` may be empty (hosts often name a session after its first exchange); ``user_set_name`` starts
        false.
        """

    @abc.abstractmethod
    async def get_session(self, id: str, include_messages: bool = False) -> Session:
        """Return a session; its ``conversation`` holds the messages, in order, only when ``include_messages``.

        ``message_count`` and ``last_activity`` are set either way (kept on the session, never counted).
        """

    @abc.abstractmethod
    async def add_message(self, session_id: str, message: Message) -> None:
        """Append a message. When this returns the message is stored and ``search_chat_history`` finds it.

        ``role`` must be ``user`` or ``assistant`` and every content part of a known kind. The session's
        ``message_count`` grows by one and ``last_activity`` becomes the newest ``created`` time.
        """

    @abc.abstractmethod
    async def replace_conversation(self, session_id: str, conversation: Sequence[Message]) -> None:
        """Replace every message of a session with ``conversation``, in one transaction."""

    @abc.abstractmethod
    async def list_sessions(self) -> list[Session]:
        """The ``user`` and ``scheduled`` sessions, most recently updated first, without messages.

        Unlike the seed, sessions without messages are listed too.
        """

    @abc.abstractmethod
    async def list_sessions_by_types(self, types: Sequence[SessionType | str]) -> list[Session]:
        """The sessions of the given types, most recently updated first, without messages. No types, no
        sessions."""

    @abc.abstractmethod
    async def delete_session(self, id: str) -> None:
        """Delete a session and its messages."""

    @abc.abstractmethod
    async def get_insights(self) -> SessionInsights:
        """Count every session and sum their tokens (the accumulated total where set, else the total)."""

    @abc.abstractmethod
    async def export_session(self, id: str) -> str:
        """The session with its conversation as pretty JSON: what :meth:`import_session` reads back."""

    @abc.abstractmethod
    async def import_session(self, json: str) -> Session:
        """Create a new session (a new id) from an export and return it.

        Restored: name (or the legacy ``description``), ``user_set_name``, type, working directory, extension
        data, token counts, schedule, recipe and its values, provider configuration and the conversation. New:
        id, ``created_at``, ``updated_at``. JSON that is malformed, larger than :attr:`max_import_bytes` or not a
        valid session raises :class:`~pluginkit.sessions.InvalidSessionData` and creates nothing.
        """

    @abc.abstractmethod
    async def copy_session(self, session_id: str, new_name: str) -> Session:
        """Create a new session named ``new_name`` with the original's working directory, type, conversation,
        extension data, schedule, recipe and recipe values (not its token counts or provider configuration)."""

    @abc.abstractmethod
    async def truncate_conversation(self, session_id: str, timestamp: int) -> None:
        """Remove every message created at or after ``timestamp`` (Unix seconds)."""

    @abc.abstractmethod
    async def update_session_name(self, session_id: str, name: str, user_set: bool = True) -> None:
        """Rename a session. ``user_set`` records that a person chose the name (a host should then stop
        generating names). The name is trimmed; a blank one is ignored — nothing changes, not even
        ``updated_at`` — as the seed's ``SessionUpdateBuilder`` does."""

    @abc.abstractmethod
    async def update_extension_data(self, session_id: str, extension_data: Mapping[str, Any]) -> None:
        """Replace the session's extension data: keys are ``"<extension>.<version>"``, values any JSON."""

    @abc.abstractmethod
    async def update_token_stats(self, session_id: str, stats: TokenStatsUpdate) -> None:
        """Set the token counts (and schedule id) that ``stats`` carries; fields it leaves ``None`` stay,
        fields named in ``stats.clear`` become null."""

    @abc.abstractmethod
    async def update_provider_config(
        self,
        session_id: str,
        provider_name: str | Unset | None = UNSET,
        model_config: ModelConfig | Unset | None = UNSET,
    ) -> None:
        """Set the provider and/or model configuration. ``UNSET`` (the default) leaves a field, ``None`` sets
        it to null."""

    @abc.abstractmethod
    async def update_recipe(
        self,
        session_id: str,
        recipe: Recipe | Unset | None = UNSET,
        user_recipe_values: Mapping[str, str] | Unset | None = UNSET,
    ) -> None:
        """Set the recipe and/or the user's recipe values. ``UNSET`` (the default) leaves a field, ``None``
        sets it to null."""

    @abc.abstractmethod
    async def search_chat_history(
        self,
        query: str,
        limit: int | None = None,
        after_date: datetime | None = None,
        before_date: datetime | None = None,
        exclude_session_id: str | None = None,
        *,
        mode: SearchMode = "any",
    ) -> list[ChatHistoryMatch]:
        """Find messages matching ``query``: any of its words (the default, as the seed), or all of them ranked.

        ``mode="any"`` is the seed's search (goose/aster ``search_chat_history``): a message matches when any
        whitespace-separated word of the query appears in its text as a substring (``alp`` finds "alpha"),
        newest first; ``relevance_score`` is how many of the query's words it holds. ``mode="all"``: every
        word must appear as a whole word, a word's parts adjacent (``hello-world`` finds "hello world"), best
        match first (BM25).

        Both modes fold text the same way in every store — case (``strasse`` finds "Straße"), compatibility
        forms (``full`` finds "ＦＵＬＬ", ``fi`` the ligature), accents — and take the query literally: quotes,
        ``*``, ``-``, ``NEAR``, ``OR`` are text, never syntax, and punctuation separates words. Only text parts
        are searched. ``after_date`` / ``before_date`` bound the messages' ``created`` time (inclusive);
        ``exclude_session_id`` leaves one session out. ``limit`` defaults to 10 and is at most 1000.
        """

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def aclose(self) -> None:  # noqa: B027 - optional: a store without resources has nothing to close
        """Release connections and threads. The store must not be used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def sync(self) -> SyncSessionStore:
        """A blocking facade over this store, for code without an event loop."""
        return SyncSessionStore(self)


#: The names of the 18 methods, in the seed's order.
METHOD_NAMES: tuple[str, ...] = tuple(
    name for name, value in vars(SessionStore).items() if getattr(value, "__isabstractmethod__", False)
)
