"""Seed 003's error numbers on envelopes and back (``plugin-sdk/types/common.go``, ``protocol/errors.go``)."""

from __future__ import annotations

import pytest

from pluginkit import Envelope
from pluginkit.errors import ERROR_CODES
from pluginkit.providers import CATALOGUE, STATUS_CODES, ProviderError, envelope_code, number, status_of_text


def test_every_number_has_a_catalogued_envelope_code_and_comes_back() -> None:
    assert len(CATALOGUE) == 40  # 1–14, 1000–1005, 2000–2006, 3000–3005, 4000–4006
    for _, code in CATALOGUE.values():
        assert code in ERROR_CODES, code
        assert CATALOGUE[number(code)][1] == code
    for code in STATUS_CODES.values():
        assert code in ERROR_CODES
    assert number("engine_not_installed") == 2001 and number("timeout") == 4002 and number("no_such_code") == 0


@pytest.mark.parametrize(
    ("raised", "code", "status"),
    [
        (ProviderError(2001, "engine not installed"), "engine_not_installed", 412),
        (ProviderError(4005, "no streams"), "streaming_not_supported", 501),
        (ProviderError(4006, "no bidi"), "bidirectional_not_supported", 501),
        (ProviderError(14, "bad key"), "unauthenticated", 401),
        (ProviderError(503, "engine down"), "unavailable", 503),
        (ProviderError(412, "engine not installed"), "failed_precondition", 412),
        (ProviderError("model_not_found", "m"), "model_not_found", 404),
    ],
)
def test_a_provider_error_is_an_envelope_with_the_seeds_meaning(raised: ProviderError, code: str, status: int) -> None:
    envelope = Envelope.from_exception(raised)
    assert envelope.error is not None and envelope.error.code == code and envelope.error.http_status == status
    assert envelope_code(raised.number or code) == code


def test_details_are_appended_as_the_seeds_error_string() -> None:
    assert ProviderError(3000, "model not found", "qwen3").message == "model not found: qwen3"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("authentication failed", 401),
        ("model not found", 404),
        ("engine not installed", 412),
        ("engine not running", 412),  # "engine not" is tested before "not running", as in the seed
        ("upstream not running", 503),
        ("context deadline exceeded", 408),
        ("not supported here", 501),
        ("invalid json", 400),
        ("boom", 500),
    ],
)
def test_errors_given_as_text_are_coded_by_their_words(text: str, status: int) -> None:
    assert status_of_text(text) == status
