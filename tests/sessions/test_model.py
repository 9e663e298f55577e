"""The conformance kit against the in-memory model itself: the model must satisfy the contract it defines."""

from __future__ import annotations

import pytest

from pluginkit.sessions import InMemorySessionStore


@pytest.fixture
def pluginkit_session_store() -> InMemorySessionStore:
    return InMemorySessionStore()
