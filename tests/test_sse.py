"""``pluginkit.sse``: the framing every stream-handling plugin shares."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pluginkit import sse

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
events = st.lists(st.tuples(st.sampled_from(["", "ping", "message_delta"]), texts), min_size=1, max_size=6)


@given(events=events, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8), crlf=st.booleans())
def test_any_cut_of_the_stream_gives_the_same_events(
    events: list[tuple[str, str]], cuts: list[int], crlf: bool
) -> None:
    stream = b"".join(sse.encode(data, event) for event, data in events)
    if crlf:
        stream = stream.replace(b"\n", b"\r\n")
    splitter = sse.Splitter()
    out: list[bytes] = []
    start = 0
    for cut in sorted({min(c, len(stream)) for c in cuts}):
        out += splitter.feed(stream[start:cut])
        start = cut
    out += splitter.feed(stream[start:])
    out += splitter.flush()
    assert [(e.event, e.data) for e in sse.parse(b"".join(out))] == events
    assert len(out) == len(events)


def test_fields_comments_and_unterminated_events() -> None:
    raw = b": keep-alive\n\nid: 7\nevent: delta\ndata: line one\ndata:line two\nretry: 10\n\ndata: last"
    parsed = sse.parse(raw)
    assert [(e.event, e.data, e.has_data) for e in parsed] == [
        ("", "", False),
        ("delta", "line one\nline two", True),
        ("", "last", True),  # the end of the stream ends the last event
    ]
    assert sse.comment("no equivalent") == b": no equivalent\n\n"
    assert sse.encode("a\nb", "x") == b"event: x\ndata: a\ndata: b\n\n"
    assert sse.encode_json({"é": 1}) == 'data: {"é":1}\n\n'.encode()
    assert sse.split(sse.DONE) == [sse.DONE] and sse.parse(sse.DONE)[0].data == "[DONE]"


def test_a_carriage_return_at_the_end_of_a_piece_ends_its_line_at_once() -> None:
    splitter = sse.Splitter()
    assert splitter.feed(b"data: x\r\n\r") == [b"data: x\n\n"]  # no need to wait for the next piece
    assert splitter.feed(b"\ndata: y\r") == []  # that \n completed the \r\n: no empty event
    assert splitter.feed(b"\r") == [b"data: y\n\n"]  # \r\r: a blank line
    assert splitter.feed(b"\ndata: z\n\n") == [b"data: z\n\n"]
    assert splitter.feed(b"data: a\r") == [] and splitter.feed(b"") == []  # an empty piece changes nothing
    assert splitter.feed(b"\ndata: b\n\n") == [b"data: a\ndata: b\n\n"]
    assert splitter.flush() == []
