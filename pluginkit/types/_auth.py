"""``auth.*`` and ``frontend_auth.*`` payloads."""

from __future__ import annotations

from datetime import datetime

from attrs import Factory

from pluginkit.types._auth_data import AuthData
from pluginkit.types._common import Headers, Metadata, Query, callback_id_field
from pluginkit.types._models import HostConfigSummary
from pluginkit.wire._payload import payload

__all__ = [
    "AuthLoginPollRequest",
    "AuthLoginPollResult",
    "AuthLoginStartRequest",
    "AuthLoginStartResult",
    "AuthParseRequest",
    "AuthParseResult",
    "AuthRefreshRequest",
    "AuthRefreshResult",
    "FrontendAuthRequest",
    "FrontendAuthResult",
    "Identifier",
]


@payload(case="snake")
class Identifier:
    """Result of the ``*.identifier`` methods: the provider key (or frontend-auth name) a plugin serves.

    The host trims it (and lower-cases provider keys); a blank identifier disables the capability.
    """

    identifier: str = ""


@payload
class AuthParseRequest:
    """Params of ``auth.parse``: a credential file found in the auth directory."""

    provider: str = ""
    path: str = ""
    file_name: str = ""
    raw_json: bytes = b""
    host: HostConfigSummary = Factory(HostConfigSummary)


@payload
class AuthParseResult:
    """``handled=False`` means "not mine": the next auth provider is asked."""

    handled: bool = False
    auth: AuthData | None = None


@payload
class AuthLoginStartRequest:
    provider: str = ""
    base_url: str = ""
    host: HostConfigSummary = Factory(HostConfigSummary)
    metadata: Metadata = Factory(dict)
    host_callback_id: str = callback_id_field()


@payload
class AuthLoginStartResult:
    """Where the user goes to log in (``url``) and the ``state`` to poll with."""

    provider: str = ""
    url: str = ""
    state: str = ""
    expires_at: datetime | None = None
    metadata: Metadata = Factory(dict)


@payload
class AuthLoginPollRequest:
    provider: str = ""
    state: str = ""
    host: HostConfigSummary = Factory(HostConfigSummary)
    metadata: Metadata = Factory(dict)
    host_callback_id: str = callback_id_field()


#: Values of :attr:`AuthLoginPollResult.status`.
LOGIN_STATUSES = ("pending", "success", "error")


@payload
class AuthLoginPollResult:
    #: ``pending``, ``success`` (``auth`` is set) or ``error`` (``message`` says why).
    status: str = ""
    message: str = ""
    auth: AuthData | None = None


@payload
class AuthRefreshRequest:
    auth_id: str = ""
    auth_provider: str = ""
    storage_json: bytes = b""
    metadata: Metadata = Factory(dict)
    attributes: dict[str, str] = Factory(dict)
    host: HostConfigSummary = Factory(HostConfigSummary)
    host_callback_id: str = callback_id_field()


@payload
class AuthRefreshResult:
    auth: AuthData | None = None
    next_refresh_after: datetime | None = None


@payload
class FrontendAuthRequest:
    """Params of ``frontend_auth.authenticate``: the inbound HTTP request of a client."""

    method: str = ""
    path: str = ""
    headers: Headers = Factory(dict)
    query: Query = Factory(dict)
    body: bytes = b""


@payload
class FrontendAuthResult:
    """``authenticated=False`` means "not handled": the next authenticator is asked."""

    authenticated: bool = False
    principal: str = ""
    metadata: dict[str, str] = Factory(dict)
