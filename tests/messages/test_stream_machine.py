"""The stream-hub conformance kit (pluginkit.testing.StreamHubContract) holds pluginkit's own MessageHub to the
seed's table: every operation from every state, and random sequences of the nine operations and the user's
cancels (research/seed-systems.md §1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pluginkit.messages import MessageHub


@pytest.fixture
def pluginkit_stream_hub() -> Callable[[], MessageHub]:
    return MessageHub
