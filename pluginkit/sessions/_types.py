"""The session family's data types, with the seed's fields and JSON names.

They are ``@payload`` classes, so the same objects are a store's Python API, the ``session.*`` ABI payloads and
(through :mod:`pluginkit.sessions._codec`) the export format. ``Session`` and its parts use the seed's serde
names (snake_case); ``Message`` and its content use the rmcp/goose camelCase names (``mimeType``,
``toolCall``, ``userVisible``); ``SessionInsights`` is camelCase as in the seed.

Every field defaults to its zero value (the ABI's wire rule). Where the seed's default is not a zero value, the
zero value stands for it: a ``Message`` without ``metadata`` is visible to the user and to the agent, a
``Session`` whose ``session_type`` is ``""`` is a ``user`` session.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from attrs import Factory

from pluginkit.wire._payload import payload, wire_field

__all__ = [
    "UNSET",
    "ChatHistoryMatch",
    "ContentType",
    "Conversation",
    "Message",
    "MessageContent",
    "MessageMetadata",
    "ModelConfig",
    "Recipe",
    "RecipeParameter",
    "Session",
    "SessionInsights",
    "SessionType",
    "TokenStatsUpdate",
    "Unset",
    "extension_key",
]


class SessionType(enum.StrEnum):
    """What a session is for (the seed's ``SessionType``; ``acp`` is goose's later addition)."""

    USER = "user"
    SCHEDULED = "scheduled"
    SUB_AGENT = "sub_agent"
    HIDDEN = "hidden"
    TERMINAL = "terminal"
    ACP = "acp"


class ContentType(enum.StrEnum):
    """The kinds of :class:`MessageContent` (the ``type`` tag of goose's ``MessageContent``)."""

    TEXT = "text"
    IMAGE = "image"
    TOOL_REQUEST = "toolRequest"
    TOOL_RESPONSE = "toolResponse"
    TOOL_CONFIRMATION_REQUEST = "toolConfirmationRequest"
    ACTION_REQUIRED = "actionRequired"
    FRONTEND_TOOL_REQUEST = "frontendToolRequest"
    THINKING = "thinking"
    REDACTED_THINKING = "redactedThinking"
    SYSTEM_NOTIFICATION = "systemNotification"


@payload(case="snake")
class MessageContent:
    """One part of a message. ``type`` (a :class:`ContentType`) says which fields are meaningful.

    One flat class rather than one class per kind: the wire converter and the copies the manager hands plugins
    work on payload classes, and goose's JSON is a tagged object anyway. Build parts with the constructors
    (``MessageContent.of_text("hi")``); read them by ``kind``.
    """

    type: str = ""
    text: str = ""
    #: base64 image data (``image``) or opaque redacted reasoning (``redactedThinking``), or ``actionRequired``
    #: data (an object).
    data: Any = None
    mime_type: str = wire_field(default="", name="mimeType")
    #: the tool call's id (``toolRequest``, ``toolResponse``, ``toolConfirmationRequest``, ``frontendToolRequest``)
    id: str = ""
    #: ``{"status": "success", "value": {"name": ..., "arguments": {...}}}`` as goose writes it
    tool_call: Any = wire_field(default=None, name="toolCall")
    tool_result: Any = wire_field(default=None, name="toolResult")
    tool_name: str = wire_field(default="", name="toolName")
    arguments: Any = None
    prompt: str = ""
    thinking: str = ""
    signature: str = ""
    notification_type: str = wire_field(default="", name="notificationType")
    msg: str = ""
    metadata: Any = None
    meta: Any = wire_field(default=None, name="_meta")
    annotations: Any = None

    @property
    def kind(self) -> ContentType:
        """The part's kind; raises ``ValueError`` for a ``type`` pluginkit does not know."""
        return ContentType(self.type)

    @classmethod
    def of_text(cls, text: str) -> MessageContent:
        return cls(type=ContentType.TEXT.value, text=text)

    @classmethod
    def of_image(cls, data: str, mime_type: str) -> MessageContent:
        return cls(type=ContentType.IMAGE.value, data=data, mime_type=mime_type)

    @classmethod
    def of_tool_request(cls, id: str, name: str, arguments: dict[str, Any] | None = None) -> MessageContent:
        call = {"status": "success", "value": {"name": name, "arguments": arguments or {}}}
        return cls(type=ContentType.TOOL_REQUEST.value, id=id, tool_call=call)

    @classmethod
    def of_tool_response(cls, id: str, result: Any) -> MessageContent:
        return cls(type=ContentType.TOOL_RESPONSE.value, id=id, tool_result={"status": "success", "value": result})

    @classmethod
    def of_thinking(cls, thinking: str, signature: str = "") -> MessageContent:
        return cls(type=ContentType.THINKING.value, thinking=thinking, signature=signature)

    @classmethod
    def of_redacted_thinking(cls, data: str) -> MessageContent:
        return cls(type=ContentType.REDACTED_THINKING.value, data=data)

    @classmethod
    def of_system_notification(cls, notification_type: str, msg: str) -> MessageContent:
        return cls(type=ContentType.SYSTEM_NOTIFICATION.value, notification_type=notification_type, msg=msg)


@payload(case="snake")
class MessageMetadata:
    """Who sees a message: the user (UI history) and/or the agent (the model's context)."""

    user_visible: bool = wire_field(default=False, name="userVisible")
    agent_visible: bool = wire_field(default=False, name="agentVisible")


@payload(case="snake")
class Message:
    """One chat message (goose's ``Message``): ``role`` is ``user`` or ``assistant``; ``created`` is Unix
    seconds; ``metadata`` ``None`` means visible to both the user and the agent."""

    id: str = ""
    role: str = ""
    created: int = 0
    content: list[MessageContent] = Factory(list)
    metadata: MessageMetadata | None = None

    @classmethod
    def user(cls, text: str, *, created: int | None = None) -> Message:
        """A user message holding one text part, created now unless ``created`` says otherwise."""
        return cls(role="user", created=int(time.time()) if created is None else created,
                   content=[MessageContent.of_text(text)])

    @classmethod
    def assistant(cls, text: str, *, created: int | None = None) -> Message:
        return cls(role="assistant", created=int(time.time()) if created is None else created,
                   content=[MessageContent.of_text(text)])

    @property
    def text(self) -> str:
        """The text parts joined by newlines: what search matches and what a ``ChatHistoryMatch`` shows."""
        return "\n".join(part.text for part in self.content if part.type == "text" and part.text)

    @property
    def user_visible(self) -> bool:
        return self.metadata is None or self.metadata.user_visible

    @property
    def agent_visible(self) -> bool:
        return self.metadata is None or self.metadata.agent_visible


class Conversation(list[Message]):
    """The messages of a session, in order (goose's ``Conversation``: a JSON array of messages)."""

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        super().__init__(messages)

    def user_visible_messages(self) -> Conversation:
        return Conversation(m for m in self if m.user_visible)

    def agent_visible_messages(self) -> Conversation:
        return Conversation(m for m in self if m.agent_visible)


@payload(case="snake")
class ModelConfig:
    """The model a session runs with (goose's ``ModelConfig``)."""

    model_name: str = ""
    context_limit: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    toolshim: bool = False
    toolshim_model: str | None = None
    fast_model: str | None = None


@payload(case="snake")
class RecipeParameter:
    """A value a recipe asks for; the user's answers are the session's ``user_recipe_values``."""

    key: str = ""
    input_type: str = ""
    requirement: str = ""
    description: str = ""
    default: str | None = None
    options: list[str] = Factory(list)


@payload(case="snake")
class Recipe:
    """A reusable agent set-up a session was started from (goose's ``Recipe``). Parts pluginkit does not
    interpret (extensions, settings, author, response schema, sub-recipes, retry) are kept as JSON."""

    version: str = ""
    title: str = ""
    description: str = ""
    instructions: str | None = None
    prompt: str = ""
    extensions: list[Any] = Factory(list)
    settings: dict[str, Any] = Factory(dict)
    activities: list[str] = Factory(list)
    author: dict[str, Any] = Factory(dict)
    parameters: list[RecipeParameter] = Factory(list)
    response: Any = None
    sub_recipes: list[Any] = Factory(list)
    retry: Any = None


@payload(case="snake")
class Session:
    """A chat session (the seed's ``Session``), as stores return it.

    ``conversation`` is ``None`` unless the messages were asked for (``get_session(id, include_messages=True)``,
    ``export_session``); ``message_count`` and ``last_activity`` (the newest message's ``created`` time) are
    always set. ``extension_data`` maps ``"<extension>.<version>"`` (see :func:`extension_key`) to any JSON.
    """

    id: str = ""
    working_dir: str = ""
    name: str = ""
    user_set_name: bool = False
    session_type: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extension_data: dict[str, Any] = Factory(dict)
    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    accumulated_total_tokens: int | None = None
    accumulated_input_tokens: int | None = None
    accumulated_output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    schedule_id: str | None = None
    recipe: Recipe | None = None
    user_recipe_values: dict[str, str] | None = None
    conversation: list[Message] | None = None
    message_count: int = 0
    last_activity: datetime | None = None
    provider_name: str | None = None
    model_config: ModelConfig | None = None


@payload(case="snake")
class TokenStatsUpdate:
    """New token counts for a session. A field left ``None`` is left alone; naming it in ``clear`` sets it to
    null. ``accumulated_*`` land in the session's ``accumulated_*_tokens``."""

    schedule_id: str | None = None
    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    accumulated_total: int | None = None
    accumulated_input: int | None = None
    accumulated_output: int | None = None
    cached_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    clear: list[str] = Factory(list)


@payload(case="snake")
class SessionInsights:
    """Totals over every session: ``total_tokens`` sums each session's accumulated total (or its total)."""

    total_sessions: int = wire_field(default=0, name="totalSessions")
    total_tokens: int = wire_field(default=0, name="totalTokens")


@payload(case="snake")
class ChatHistoryMatch:
    """One message found by ``search_chat_history``; a higher ``relevance_score`` is a better match (scores
    compare within one answer, not across stores)."""

    session_id: str = ""
    session_name: str = ""
    message_role: str = ""
    message_content: str = ""
    timestamp: datetime | None = None
    relevance_score: float = 0.0


def extension_key(name: str, version: str) -> str:
    """The ``extension_data`` key of an extension's state: ``extension_key("todo", "v0") == "todo.v0"``."""
    if not name or not version or "." in version:
        raise ValueError("an extension key needs a name and a version without dots")
    return f"{name}.{version}"


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: "Leave this field as it is" in partial updates (``None`` means "set it to null").
UNSET: Final = Unset.UNSET
