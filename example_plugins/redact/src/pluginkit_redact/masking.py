"""Masking secrets and e-mail addresses in message bodies: JSON documents, SSE events or plain text.

API keys and bearer tokens are recognised by pluginkit's own rule (:func:`pluginkit.redaction.redact_text`, the one
``host.log`` uses), so the plugin and the host never disagree on what a secret looks like; e-mail addresses are
added here. Both are replaced by the same ``[redacted]`` marker.

Bodies are masked inside each JSON string literal, decoded first: in raw JSON text an address or key can sit right
after an escape (``"line\\nbob@example.com"``), where a text pattern would either miss it (no word boundary after
the ``n``) or eat the backslash and break the document. Decoding each literal avoids both, and works the same for a
JSON body, for the ``data:`` lines of an SSE event and for JSON embedded anywhere else; everything outside string
literals (plain text, SSE field names) is masked as text. Unchanged input is reported as ``None`` so callers can
answer "no change".
"""

from __future__ import annotations

import json
import re

from pluginkit.redaction import REDACTED, redact_text

__all__ = ["EMAIL", "REDACTED", "mask_bytes", "mask_text"]

#: An e-mail address: a dot-atom local part, ``@``, and a domain with at least one dot and a letter TLD.
EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\b"
)
#: A JSON string literal on one line (escapes included), as it appears in a body or an SSE ``data:`` line.
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def mask_text(text: str) -> str:
    """Plain text with API keys, bearer tokens and e-mail addresses replaced by ``[redacted]``."""
    return EMAIL.sub(REDACTED, redact_text(text))


def _mask_literal(match: re.Match[str]) -> str:
    literal = match.group()
    try:
        value = json.loads(literal)
    except ValueError:  # quotes in plain text that are not JSON: mask what is between them as text
        return mask_text(literal)
    masked = mask_text(value)
    if masked == value:
        return literal
    # An ASCII literal keeps its \u escapes; one with raw UTF-8 (or undecodable bytes) keeps those raw.
    return json.dumps(masked, ensure_ascii=literal.isascii())


def _mask_document(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _JSON_STRING.finditer(text):
        pieces.append(mask_text(text[position : match.start()]))
        pieces.append(_mask_literal(match))
        position = match.end()
    pieces.append(mask_text(text[position:]))
    return "".join(pieces)


def mask_bytes(data: bytes) -> bytes | None:
    """``data`` with secrets and e-mail addresses masked, or ``None`` when nothing needed masking.

    Bytes that are not UTF-8 pass through untouched (they are carried as surrogate escapes while masking).
    """
    if not data:
        return None
    text = data.decode("utf-8", errors="surrogateescape")
    masked = _mask_document(text)
    return None if masked == text else masked.encode("utf-8", errors="surrogateescape")
