"""Params and results of the ``session.*`` ABI methods: one params class per store method, whose fields are the
method's parameters in order (a test holds them to :class:`~pluginkit.sessions.SessionStore`'s signatures).

Partial updates need three states per field where a payload has two (``None`` and a value): a field left
``None`` is left alone, and naming it in ``clear`` sets it to null. The Python API spells the same thing with
:data:`~pluginkit.sessions.UNSET` (leave, the default) and ``None`` (set to null).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import Factory

from pluginkit.sessions._types import ChatHistoryMatch, Message, ModelConfig, Recipe, Session, TokenStatsUpdate
from pluginkit.wire._payload import payload

__all__ = [
    "AddMessageParams",
    "ChatHistoryMatches",
    "CopySessionParams",
    "CreateSessionParams",
    "DeleteSessionParams",
    "ExportSessionParams",
    "ExportedSession",
    "GetInsightsParams",
    "GetSessionParams",
    "ImportSessionParams",
    "ListSessionsByTypesParams",
    "ListSessionsParams",
    "ReplaceConversationParams",
    "SearchChatHistoryParams",
    "SessionList",
    "TruncateConversationParams",
    "UpdateExtensionDataParams",
    "UpdateProviderConfigParams",
    "UpdateRecipeParams",
    "UpdateSessionNameParams",
    "UpdateTokenStatsParams",
]


@payload(case="snake")
class CreateSessionParams:
    """``session.create_session``: ``session_type`` ``""`` means ``user``."""

    working_dir: str = ""
    name: str = ""
    session_type: str = ""


@payload(case="snake")
class GetSessionParams:
    id: str = ""
    include_messages: bool = False


@payload(case="snake")
class AddMessageParams:
    session_id: str = ""
    message: Message = Factory(Message)


@payload(case="snake")
class ReplaceConversationParams:
    session_id: str = ""
    conversation: list[Message] = Factory(list)


@payload(case="snake")
class ListSessionsParams:
    """``session.list_sessions`` takes nothing."""


@payload(case="snake")
class ListSessionsByTypesParams:
    types: list[str] = Factory(list)


@payload(case="snake")
class DeleteSessionParams:
    id: str = ""


@payload(case="snake")
class GetInsightsParams:
    """``session.get_insights`` takes nothing."""


@payload(case="snake")
class ExportSessionParams:
    id: str = ""


@payload(case="snake")
class ImportSessionParams:
    json: str = ""


@payload(case="snake")
class CopySessionParams:
    session_id: str = ""
    new_name: str = ""


@payload(case="snake")
class TruncateConversationParams:
    session_id: str = ""
    timestamp: int = 0


@payload(case="snake")
class UpdateSessionNameParams:
    session_id: str = ""
    name: str = ""
    user_set: bool = False


@payload(case="snake")
class UpdateExtensionDataParams:
    session_id: str = ""
    extension_data: dict[str, Any] = Factory(dict)


@payload(case="snake")
class UpdateTokenStatsParams:
    session_id: str = ""
    stats: TokenStatsUpdate = Factory(TokenStatsUpdate)


@payload(case="snake")
class UpdateProviderConfigParams:
    """``None`` leaves a field; naming it in ``clear`` sets it to null."""

    session_id: str = ""
    provider_name: str | None = None
    model_config: ModelConfig | None = None
    clear: list[str] = Factory(list)


@payload(case="snake")
class UpdateRecipeParams:
    """``None`` leaves a field; naming it in ``clear`` sets it to null."""

    session_id: str = ""
    recipe: Recipe | None = None
    user_recipe_values: dict[str, str] | None = None
    clear: list[str] = Factory(list)


@payload(case="snake")
class SearchChatHistoryParams:
    """``limit`` 0 means the default (10); ``exclude_session_id`` ``""`` excludes nothing; ``mode`` is ``"any"``
    (the seed's search; ``""`` means it too) or ``"all"``."""

    query: str = ""
    limit: int = 0
    after_date: datetime | None = None
    before_date: datetime | None = None
    exclude_session_id: str = ""
    mode: str = ""


@payload(case="snake")
class SessionList:
    """The answer of ``session.list_sessions`` and ``session.list_sessions_by_types``."""

    sessions: list[Session] = Factory(list)


@payload(case="snake")
class ExportedSession:
    """The answer of ``session.export_session``: the export JSON text."""

    json: str = ""


@payload(case="snake")
class ChatHistoryMatches:
    """The answer of ``session.search_chat_history``, best match first."""

    matches: list[ChatHistoryMatch] = Factory(list)
