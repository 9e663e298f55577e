"""What every store shares: argument checks, partial-update rules, export/import and copy, written once.

:class:`BaseSessionStore` implements the 18 contract methods by checking their arguments and turning them into
calls of a small backend interface (the ``_`` methods), so that every bundled store — and any store built on
this class — refuses the same input with the same error and applies the same rules. A store only decides where
the data lives.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from pluginkit.sessions._codec import fold, now_us, parse_session_json, query_words, session_to_json, to_us
from pluginkit.sessions._contract import (
    DEFAULT_SEARCH_LIMIT,
    MAX_SEARCH_LIMIT,
    SEARCH_MODES,
    UNSET,
    SearchMode,
    SessionStore,
    Unset,
)
from pluginkit.sessions._errors import InvalidSessionData
from pluginkit.sessions._types import (
    ChatHistoryMatch,
    ContentType,
    Message,
    MessageContent,
    MessageMetadata,
    ModelConfig,
    Recipe,
    Session,
    SessionInsights,
    SessionType,
    TokenStatsUpdate,
)

__all__ = ["TOKEN_FIELDS", "BaseSessionStore", "SearchRequest", "check_message", "check_messages", "read_import"]

T = TypeVar("T")
_INT64 = (-(2**63), 2**63 - 1)
#: Messages above which checking or (de)serialising them goes to :meth:`BaseSessionStore._cpu`.
_HEAVY = 64
#: ``Message.created`` must be a time a datetime can hold (years 1 to 9999).
_CREATED = (-62135596800, 253402300799)
_ROLES = frozenset({"user", "assistant"})
_KINDS = frozenset(k.value for k in ContentType)
_TYPES = frozenset(t.value for t in SessionType)
#: ``TokenStatsUpdate`` field → the ``Session`` field it sets.
TOKEN_FIELDS = {
    "schedule_id": "schedule_id",
    "total_tokens": "total_tokens",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "accumulated_total": "accumulated_total_tokens",
    "accumulated_input": "accumulated_input_tokens",
    "accumulated_output": "accumulated_output_tokens",
    "cached_input_tokens": "cached_input_tokens",
    "cache_creation_input_tokens": "cache_creation_input_tokens",
}


class SearchRequest:
    """A checked search for a store's ``_search``: the query's whitespace-separated ``pieces`` as written, the
    same ``terms`` folded (:func:`~pluginkit.sessions.fold`, blank ones dropped, each once), the ``mode``
    (``"any"`` or ``"all"``), the limit and the bounds on ``created`` (Unix seconds, inclusive)."""

    __slots__ = ("after", "before", "exclude", "limit", "mode", "pieces", "terms")

    def __init__(
        self,
        pieces: list[str],
        limit: int,
        after: int | None,
        before: int | None,
        exclude: str | None,
        mode: str = "any",
    ) -> None:
        self.pieces, self.limit, self.after, self.before, self.exclude = pieces, limit, after, before, exclude
        self.mode = mode
        self.terms: list[str] = list(dict.fromkeys(term for term in map(fold, pieces) if term))

    def matches(self, folded: str) -> int:
        """How many terms the folded text holds as substrings (``"any"``), or 1/0 whether it holds them all as
        whole words (``"all"``): the model's rule, which every store must follow."""
        if self.mode == "any":
            return sum(1 for term in self.terms if term in folded)
        padded = f" {folded} "
        return int(all(f" {term} " in padded for term in self.terms))


def _bad(message: str) -> InvalidSessionData:
    return InvalidSessionData(message=message)


def _text(value: Any, what: str, *, blank: bool = True) -> str:
    if not isinstance(value, str):
        raise _bad(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise _bad(f"{what} must not contain NUL characters")
    if not blank and not value.strip():
        raise _bad(f"{what} must not be blank")
    return value


def _int(value: Any, what: str, *, minimum: int = _INT64[0]) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"{what} must be an integer, not {type(value).__name__}")
    if not minimum <= value <= _INT64[1]:
        raise _bad(f"{what} is out of range ({value})")
    return value


def _json_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON-only deep copy of a mapping: what a store can keep, isolated from the caller's object."""
    if not isinstance(value, Mapping):
        raise _bad(f"{what} must be a mapping, not {type(value).__name__}")
    try:
        copied = orjson.loads(orjson.dumps(dict(value)))
    except TypeError as exc:
        raise _bad(f"{what} must hold JSON values only: {exc}") from None
    if not isinstance(copied, dict):
        raise _bad(f"{what} must be a mapping")
    return copied


def check_message(message: Any, where: str = "message") -> Message:
    """``message`` if the contract accepts it; else :class:`InvalidSessionData` saying why."""
    if message.__class__ is Message:  # the common case, checked without building error texts
        role, created, ident = message.role, message.created, message.id
        if (
            (role == "user" or role == "assistant")
            and created.__class__ is int
            and _CREATED[0] <= created <= _CREATED[1]
            and ident.__class__ is str
            and "\x00" not in ident
            and message.content.__class__ is list
            and (message.metadata is None or message.metadata.__class__ is MessageMetadata)
        ):
            for part in message.content:
                kind = part.type if part.__class__ is MessageContent else None
                if not isinstance(kind, str) or kind not in _KINDS or part.text.__class__ is not str:
                    break
            else:
                return message
    return _explain(message, where)


def _explain(message: Any, where: str) -> Message:
    if not isinstance(message, Message):
        raise _bad(f"{where} must be a Message, not {type(message).__name__}")
    if not isinstance(message.role, str) or message.role not in _ROLES:
        raise _bad(f"{where}.role must be 'user' or 'assistant', not {message.role!r}")
    _int(message.created, f"{where}.created")
    if not _CREATED[0] <= message.created <= _CREATED[1]:
        raise _bad(f"{where}.created must be Unix seconds between years 1 and 9999, not {message.created}")
    _text(message.id, f"{where}.id")
    if not isinstance(message.content, list):
        raise _bad(f"{where}.content must be a list")
    for index, part in enumerate(message.content):
        if not isinstance(part, MessageContent):
            raise _bad(f"{where}.content[{index}] must be a MessageContent, not {type(part).__name__}")
        if not isinstance(part.type, str) or part.type not in _KINDS:
            raise _bad(f"{where}.content[{index}].type {part.type!r} is not one of {', '.join(sorted(_KINDS))}")
        if not isinstance(part.text, str):
            raise _bad(f"{where}.content[{index}].text must be a string")
    if message.metadata is not None and not isinstance(message.metadata, MessageMetadata):
        raise _bad(f"{where}.metadata must be a MessageMetadata or None")
    return message


def check_session_type(value: Any) -> str:
    if value == "":
        return SessionType.USER.value
    if not isinstance(value, str) or value not in _TYPES:
        raise _bad(f"session type {value!r} is not one of {', '.join(sorted(_TYPES))}")
    return str(SessionType(value).value)


def check_extension_data(value: Any) -> dict[str, Any]:
    data = _json_object(value, "extension_data")
    for key in data:
        name, dot, version = key.rpartition(".")
        if not (dot and name and version):
            raise _bad(f"extension_data key {key!r} must be '<extension>.<version>' (for example 'todo.v0')")
    return data


def check_recipe_values(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad("user_recipe_values must map strings to strings")
    return dict(value)


def _check_token_fields(stats: TokenStatsUpdate | Session, names: Any) -> None:
    for name in names:
        value = getattr(stats, name)
        if value is not None:
            if name == "schedule_id":
                _text(value, name)
            else:
                _int(value, name, minimum=0)


def check_messages(conversation: Sequence[Message]) -> list[Message]:
    """The messages of a conversation, checked (:func:`check_message`) and in a list."""
    return [check_message(m, f"conversation[{i}]") for i, m in enumerate(conversation)]


def read_import(text: Any, max_bytes: int) -> tuple[Session, list[str]]:
    """An export → the checked ``Session`` to create (with its conversation) and the JSON to keep for each
    message; :class:`InvalidSessionData` when anything is wrong (nothing has been written yet)."""
    session, texts = parse_session_json(text, max_bytes)
    session.session_type = check_session_type(session.session_type)
    _text(session.name, "name")
    _text(session.working_dir, "working_dir")
    session.extension_data = check_extension_data(session.extension_data)
    _check_token_fields(session, TOKEN_FIELDS.values())
    if session.provider_name is not None:
        _text(session.provider_name, "provider_name")
    if session.user_recipe_values is not None:
        check_recipe_values(session.user_recipe_values)
    session.conversation = check_messages(session.conversation or [])
    return session, texts


class BaseSessionStore(SessionStore):
    """A :class:`SessionStore` whose subclasses implement only the backend methods below."""

    # -- the backend ------------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def _create(self, working_dir: str, name: str, session_type: str, now: int) -> Session:
        """Insert a new empty session with a fresh id (:func:`pluginkit.sessions.sql.new_session_id`, counting the
        day's sessions from 1, never reusing one). ``now`` is in microseconds since the epoch, as every ``now``."""

    @abc.abstractmethod
    async def _get(self, id: str, include_messages: bool) -> Session:
        """Read a session; raise ``SessionNotFound``."""

    @abc.abstractmethod
    async def _add(self, session_id: str, message: Message, now: int) -> None:
        """Append a checked message, count it, stamp ``updated_at`` — one transaction."""

    @abc.abstractmethod
    async def _replace(self, session_id: str, messages: list[Message], now: int) -> None:
        """Swap all messages for checked ones, recount, stamp — one transaction."""

    @abc.abstractmethod
    async def _list(self, types: list[str]) -> list[Session]:
        """Sessions of these (checked, non-empty) types, ``updated_at`` then ``id`` descending."""

    @abc.abstractmethod
    async def _delete(self, id: str) -> None:
        """Delete a session and its messages; raise ``SessionNotFound``."""

    @abc.abstractmethod
    async def _insights(self) -> SessionInsights: ...

    @abc.abstractmethod
    async def _insert(self, session: Session, now: int, texts: list[str] | None = None) -> Session:
        """Create a new session (fresh id, ``created_at`` = ``updated_at`` = now) holding every field of
        ``session`` and its ``conversation`` — one transaction — and return it as ``_get`` would. ``texts``,
        when given, holds JSON for each message that reads back as that message (an import's own JSON: a store
        keeping message JSON may keep it instead of encoding the message again)."""

    @abc.abstractmethod
    async def _truncate(self, session_id: str, timestamp: int, now: int) -> None:
        """Delete messages created at or after ``timestamp``, recount, stamp — one transaction."""

    @abc.abstractmethod
    async def _update(self, session_id: str, changes: dict[str, Any], now: int) -> None:
        """Set ``Session`` fields (checked values; ``None`` is null) and stamp; raise ``SessionNotFound``."""

    @abc.abstractmethod
    async def _search(self, request: SearchRequest) -> list[ChatHistoryMatch]: ...

    async def _cpu(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-heavy work (checking, parsing or serialising thousands of messages). Stores serving an event
        loop override this to use a thread, so that such work never runs on the loop."""
        return fn(*args)

    # -- the contract -------------------------------------------------------------------------------------------
    async def create_session(
        self, working_dir: str | os.PathLike[str], name: str = "", session_type: SessionType | str = SessionType.USER
    ) -> Session:
        try:
            directory = os.fspath(working_dir)
        except TypeError:
            raise _bad(f"working_dir must be a path, not {type(working_dir).__name__}") from None
        directory = _text(directory if isinstance(directory, str) else os.fsdecode(directory), "working_dir")
        return await self._create(directory, _text(name, "name"), check_session_type(session_type), now_us())

    async def get_session(self, id: str, include_messages: bool = False) -> Session:
        return await self._get(_text(id, "session id"), bool(include_messages))

    async def add_message(self, session_id: str, message: Message) -> None:
        await self._add(_text(session_id, "session id"), check_message(message), now_us())

    async def replace_conversation(self, session_id: str, conversation: Sequence[Message]) -> None:
        if isinstance(conversation, str | bytes) or not isinstance(conversation, Sequence):
            raise _bad(f"conversation must be a sequence of messages, not {type(conversation).__name__}")
        await self._replace_unchecked(_text(session_id, "session id"), conversation, now_us())

    async def _replace_unchecked(self, session_id: str, conversation: Sequence[Message], now: int) -> None:
        """Check the messages, then :meth:`_replace`. A store may override this to do both in one hand-off to
        its worker (the SQLite store does, for large conversations)."""
        messages = await self._maybe_cpu(len(conversation), check_messages, conversation)
        await self._replace(session_id, messages, now)

    async def list_sessions(self) -> list[Session]:
        return await self._list([SessionType.USER.value, SessionType.SCHEDULED.value])

    async def list_sessions_by_types(self, types: Sequence[SessionType | str]) -> list[Session]:
        if isinstance(types, str) or not isinstance(types, Sequence):
            raise _bad("types must be a sequence of session types")
        checked = list(dict.fromkeys(check_session_type(t) for t in types if t != ""))
        return await self._list(checked) if checked else []

    async def delete_session(self, id: str) -> None:
        await self._delete(_text(id, "session id"))

    async def get_insights(self) -> SessionInsights:
        return await self._insights()

    async def _maybe_cpu(self, size: int, fn: Callable[..., T], *args: Any) -> T:
        return await self._cpu(fn, *args) if size > _HEAVY else fn(*args)

    async def export_session(self, id: str) -> str:
        session = await self.get_session(id, include_messages=True)
        return await self._maybe_cpu(session.message_count, session_to_json, session)

    async def import_session(self, json: str) -> Session:
        return await self._import(json, now_us())

    async def _import(self, text: Any, now: int) -> Session:
        """Read the export (see :func:`read_import`), then :meth:`_insert`. A store may override this to do
        both in one hand-off to its worker."""
        size = len(text) // 1000 if isinstance(text, str | bytes) else 0  # ~1 message per kB
        session, texts = await self._maybe_cpu(size, read_import, text, self.max_import_bytes)
        return await self._insert(session, now, texts)

    async def copy_session(self, session_id: str, new_name: str) -> Session:
        _text(new_name, "new_name")
        original = await self.get_session(session_id, include_messages=True)
        copy = Session(
            working_dir=original.working_dir,
            name=new_name,
            session_type=original.session_type,
            extension_data=original.extension_data,
            schedule_id=original.schedule_id,
            recipe=original.recipe,
            user_recipe_values=original.user_recipe_values,
            conversation=original.conversation or [],
        )
        return await self._insert(copy, now_us())

    async def truncate_conversation(self, session_id: str, timestamp: int) -> None:
        await self._truncate(_text(session_id, "session id"), _int(timestamp, "timestamp"), now_us())

    async def update_session_name(self, session_id: str, name: str, user_set: bool = True) -> None:
        if not isinstance(user_set, bool):
            raise _bad("user_set must be true or false")
        session_id, name = _text(session_id, "session id"), _text(name, "name").strip()
        if not name:  # the seed ignores a blank name (goose SessionUpdateBuilder): an update with nothing to do
            return
        await self._update(session_id, {"name": name, "user_set_name": user_set}, now_us())

    async def update_extension_data(self, session_id: str, extension_data: Mapping[str, Any]) -> None:
        changes = {"extension_data": check_extension_data(extension_data)}
        await self._update(_text(session_id, "session id"), changes, now_us())

    async def update_token_stats(self, session_id: str, stats: TokenStatsUpdate) -> None:
        if not isinstance(stats, TokenStatsUpdate):
            raise _bad(f"stats must be a TokenStatsUpdate, not {type(stats).__name__}")
        unknown = [name for name in stats.clear if name not in TOKEN_FIELDS]
        if unknown:
            raise _bad(f"stats.clear names unknown fields: {', '.join(map(repr, unknown))}")
        _check_token_fields(stats, TOKEN_FIELDS)
        changes: dict[str, Any] = {TOKEN_FIELDS[name]: None for name in stats.clear}
        for name, target in TOKEN_FIELDS.items():
            value = getattr(stats, name)
            if value is not None:
                changes[target] = value
        await self._update(_text(session_id, "session id"), changes, now_us())

    async def update_provider_config(
        self,
        session_id: str,
        provider_name: str | Unset | None = UNSET,
        model_config: ModelConfig | Unset | None = UNSET,
    ) -> None:
        changes: dict[str, Any] = {}
        if provider_name is not UNSET:
            changes["provider_name"] = None if provider_name is None else _text(provider_name, "provider_name")
        if model_config is not UNSET:
            if model_config is not None and not isinstance(model_config, ModelConfig):
                raise _bad(f"model_config must be a ModelConfig or None, not {type(model_config).__name__}")
            changes["model_config"] = model_config
        await self._update(_text(session_id, "session id"), changes, now_us())

    async def update_recipe(
        self,
        session_id: str,
        recipe: Recipe | Unset | None = UNSET,
        user_recipe_values: Mapping[str, str] | Unset | None = UNSET,
    ) -> None:
        changes: dict[str, Any] = {}
        if recipe is not UNSET:
            if recipe is not None and not isinstance(recipe, Recipe):
                raise _bad(f"recipe must be a Recipe or None, not {type(recipe).__name__}")
            changes["recipe"] = recipe
        if user_recipe_values is not UNSET:
            changes["user_recipe_values"] = None if user_recipe_values is None else check_recipe_values(
                user_recipe_values
            )
        await self._update(_text(session_id, "session id"), changes, now_us())

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
        if not isinstance(query, str):
            raise _bad(f"query must be a string, not {type(query).__name__}")
        if mode not in SEARCH_MODES:
            raise _bad(f"mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
        pieces = query_words(query.replace("\x00", " "))  # NUL separates words, as any other non-letter
        if limit is None or limit == 0:
            limit = DEFAULT_SEARCH_LIMIT
        limit = min(_int(limit, "limit", minimum=0), MAX_SEARCH_LIMIT)
        bounds = []
        for value, name in ((after_date, "after_date"), (before_date, "before_date")):
            if value is not None and not isinstance(value, datetime):
                raise _bad(f"{name} must be a datetime or None")
            bounds.append(None if value is None else to_us(value))
        after = None if bounds[0] is None else -(-bounds[0] // 1_000_000)  # first whole second at or after
        before = None if bounds[1] is None else bounds[1] // 1_000_000
        exclude = None if exclude_session_id in (None, "") else _text(exclude_session_id, "exclude_session_id")
        request = SearchRequest(pieces, limit, after, before, exclude, mode)
        if not request.terms or (after is not None and before is not None and after > before):
            return []
        return await self._search(request)
