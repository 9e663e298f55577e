"""The credential record shared by the auth, model and command-line families."""

from __future__ import annotations

from datetime import datetime

from attrs import Factory

from pluginkit.types._common import Metadata
from pluginkit.wire._payload import payload

__all__ = ["AuthData"]


@payload
class AuthData:
    """A credential (API key, OAuth token file, …) as the host stores it."""

    provider: str = ""
    id: str = ""
    file_name: str = ""
    label: str = ""
    prefix: str = ""
    proxy_url: str = ""
    disabled: bool = False
    #: The provider-specific stored credential (JSON bytes).
    storage_json: bytes = b""
    metadata: Metadata = Factory(dict)
    attributes: dict[str, str] = Factory(dict)
    next_refresh_after: datetime | None = None
