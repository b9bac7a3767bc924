"""Tests for the sans-I/O SSE decoder (WHATWG event-stream interpretation)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grok_azure._streaming._sse import EventTooLargeError, ServerSentEvent, SSEDecoder, aiter_sse, iter_sse


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


def datas(events: Sequence[ServerSentEvent]) -> list[str]:
    return [event.data for event in events]


def every_split(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(body[:i], body[i:]) for i in range(len(body) + 1)]


# --- line endings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_each_line_ending_style_splits_lines_and_events(eol: bytes) -> None:
    body = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    assert datas(decode(body)) == ["a\nb", "c"]


def test_mixed_line_endings_in_one_stream() -> None:
    assert datas(decode(b"data: a\r\ndata: b\rdata: c\n\r\n")) == ["a\nb\nc"]


def test_cr_split_from_lf_across_feeds_is_one_line_end() -> None:
    # Were the LF a second line end, the blank line would dispatch "a" on its own.
    assert datas(decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")) == ["a\nb"]


def test_cr_then_empty_chunk_then_lf_is_still_one_line_end() -> None:
    assert datas(decode(b"data: a\r", b"", b"\ndata: b\n\n")) == ["a\nb"]


def test_cr_at_chunk_end_followed_by_cr_is_a_blank_line() -> None:
    assert datas(decode(b"data: a\r", b"\rdata: b\n\n")) == ["a", "b"]


def test_cr_terminated_event_is_dispatched_without_waiting_for_next_chunk() -> None:
    decoder = SSEDecoder()
    assert datas(decoder.feed(b"data: a\r\r")) == ["a"]
    assert decoder.feed(b"\n") == []  # the LF completes the earlier CRLF, it is not another blank line
    assert not decoder.has_pending


def test_only_cr_and_lf_end_lines_not_other_unicode_breaks() -> None:
    text = "a\x0bb\x0cc\x1cd\x85e\u2028f"
    assert datas(decode(f"data: {text}\n\n".encode())) == [text]


# --- fields -----------------------------------------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    body = b": keep-alive\ndata: x\n:\n: data: not data\n\n: trailing comment\n\n"
    assert datas(decode(body)) == ["x"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"data: x", "x"),
        (b"data:x", "x"),
        (b"data:  x", " x"),
        (b"data: x  ", "x  "),
        (b"data: ", ""),
        (b"data:", ""),
        (b"data: a: b", "a: b"),
    ],
)
def test_exactly_one_space_after_the_colon_is_removed(line: bytes, expected: str) -> None:
    assert datas(decode(line + b"\n\n")) == [expected]


def test_multiline_data_joins_lines_with_lf_and_keeps_empty_lines() -> None:
    assert datas(decode(b"data: a\ndata:\ndata: b\n\n")) == ["a\n\nb"]


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    # The spec's own example: `data` alone appends an empty line; a trailing unterminated block is dropped.
    events = decode(b"data\n\ndata\ndata\n\ndata:")
    assert datas(events) == ["", "\n"]


def test_event_field_sets_type_and_resets_after_dispatch() -> None:
    events = decode(b"event: delta\ndata: x\n\ndata: y\n\n")
    assert [(e.event, e.data) for e in events] == [("delta", "x"), ("message", "y")]


def test_empty_event_field_means_message() -> None:
    assert decode(b"event:\ndata: x\n\n")[0].event == "message"


def test_event_type_is_reset_by_a_block_without_data() -> None:
    assert decode(b"event: ping\n\ndata: x\n\n")[0].event == "message"


def test_later_event_field_in_block_wins() -> None:
    assert decode(b"event: a\nevent: b\ndata: x\n\n")[0].event == "b"


def test_id_is_set_and_persists_to_later_events() -> None:
    events = decode(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", "2"]


def test_id_is_none_when_never_set() -> None:
    assert decode(b"data: a\n\n")[0].id is None


def test_id_containing_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_empty_id_resets_the_last_event_id_to_empty_string() -> None:
    events = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [e.id for e in events] == ["1", ""]


def test_last_event_id_updates_at_blank_line_not_at_the_id_line() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 7\n")
    assert decoder.last_event_id is None
    decoder.feed(b"\n")  # a block without data still commits the id
    assert decoder.last_event_id == "7"


def test_id_from_truncated_block_does_not_become_last_event_id() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert decoder.close() == []
    assert decoder.last_event_id == "1"


def test_valid_retry_is_reported_on_its_event_only() -> None:
    events = decode(b"retry: 3000\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [3000, None]


@pytest.mark.parametrize("value", [b"3s", b"", b"-1", b"1.5", b" 1", b"1 ", "１２".encode(), "²".encode()])
def test_invalid_retry_is_ignored(value: bytes) -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry:" + (b" " + value if value else b"") + b"\ndata: a\n\n")
    assert events[0].retry is None
    assert decoder.reconnection_time is None


def test_retry_only_block_sets_reconnection_time_without_dispatching() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 1500\n\n") == []
    assert decoder.reconnection_time == 1500
    assert decoder.feed(b"data: a\n\n")[0].retry is None


def test_unknown_and_wrong_case_fields_are_ignored() -> None:
    events = decode(b"foo: bar\nData: nope\nEVENT: nope\ndata: y\n\n")
    assert [(e.event, e.data) for e in events] == [("message", "y")]


def test_block_without_data_is_not_dispatched() -> None:
    assert decode(b"event: x\n\nid: 1\n\n\n\n: c\n\n") == []


# --- BOM and encoding -------------------------------------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    assert datas(decode(b"\xef\xbb\xbfdata: a\n\n")) == ["a"]


def test_leading_bom_split_across_feeds_is_stripped() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert decoder.has_pending
    assert datas(decoder.feed(b"\xbfdata: a\n\n")) == ["a"]


def test_only_one_leading_bom_is_stripped() -> None:
    # A second BOM becomes part of the field name, which is then unknown.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n") == []


def test_bom_after_start_of_stream_is_not_stripped() -> None:
    assert datas(decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\n")) == ["a"]


def test_bytes_held_for_bom_check_are_not_lost_when_not_a_bom() -> None:
    assert datas(decode(b"\xef", b"\xbb", b"X\ndata: a\n\n")) == ["a"]
    assert datas(decode(b"d", b"ata: a\n\n")) == ["a"]


@pytest.mark.parametrize("text", ["你好，世界", "emoji 😀👍🏽", "mixed ä中😀"])
def test_utf8_character_split_at_any_byte_is_decoded(text: str) -> None:
    body = f"event: 事件\nid: 标识\ndata: {text}\n\n".encode()
    for head, tail in every_split(body):
        events = decode(head, tail)
        assert [(e.event, e.id, e.data) for e in events] == [("事件", "标识", text)]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    events = decode(b"event: \xff\nid: \xc3\ndata: \xff\xfe ok\n\n")
    assert [(e.event, e.id, e.data) for e in events] == [("\ufffd", "\ufffd", "\ufffd\ufffd ok")]


def test_truncated_utf8_sequence_at_line_end_does_not_swallow_the_newline() -> None:
    assert datas(decode(b"data: \xe4\xbd\ndata: x\n\n")) == ["\ufffd\nx"]


# --- end of stream ----------------------------------------------------------------------------------------


def test_final_event_without_blank_line_is_not_dispatched_and_is_pending() -> None:
    decoder = SSEDecoder()
    assert datas(decoder.feed(b"data: a\n\ndata: b\n")) == ["a"]
    assert decoder.close() == []
    assert decoder.has_pending


def test_unterminated_final_line_is_pending() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\ndata: partial")
    assert decoder.close() == []
    assert decoder.has_pending


def test_non_data_fields_without_blank_line_are_pending() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\nevent: x\n")
    assert decoder.has_pending


def test_clean_end_has_nothing_pending() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n: trailing keep-alive\n")
    assert decoder.close() == []
    assert not decoder.has_pending


def test_fresh_decoder_has_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert not decoder.has_pending
    assert decoder.last_event_id is None


def test_iter_sse_drops_truncated_final_event() -> None:
    assert datas(iter_sse([b"data: a\n", b"\ndata: b", b"\n"])) == ["a"]


# --- payloads ---------------------------------------------------------------------------------------------


def test_done_sentinel_passes_through_as_data() -> None:
    (event,) = decode(b"data: [DONE]\n\n")
    assert event == ServerSentEvent(data="[DONE]")
    with pytest.raises(json.JSONDecodeError):
        event.json()


def test_json_parses_data() -> None:
    assert decode(b'data: {"a": [1, "\\u00e9"]}\n\n')[0].json() == {"a": [1, "é"]}


def test_event_is_immutable_with_spec_defaults() -> None:
    event = ServerSentEvent(data="x")
    assert (event.event, event.id, event.retry) == ("message", None, None)
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


def test_long_line_fed_one_byte_at_a_time() -> None:
    payload = "x" * 20_000 + "é"
    body = f"data: {payload}\n\n".encode()
    assert datas(decode(*(body[i : i + 1] for i in range(len(body))))) == [payload]


_AZURE_PAYLOADS = (
    # The real Azure grok-3-mini stream shape (see reference/foundry-wire-facts.md), plus a non-ASCII delta.
    b'{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,'
    b'"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,'
    b'"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,'
    b'"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}',
    b'{"choices":[{"content_filter_results":{},"delta":{"reasoning_content":"First","role":"assistant"},'
    b'"index":0}],"created":1759350330,"id":"60712103-0d02-4fe4-9e99-0db272b02fab_sidecar",'
    b'"model":"grok-3-mini-high","object":"chat.completion.chunk","system_fingerprint":"fp_d33f0040b9"}',
    b'{"choices":[{"content_filter_results":{},"delta":{"content":"\xe4\xbd\xa0\xe5\xa5\xbd '
    b'\xf0\x9f\x98\x80"},"index":0}],"created":1759350331,"id":"60712103-0d02-4fe4-9e99-0db272b02fab_sidecar",'
    b'"model":"grok-3-mini-high","object":"chat.completion.chunk","system_fingerprint":"fp_d33f0040b9"}',
    b'{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0}],'
    b'"created":1759350338,"id":"bf90fc63-1ef7-4cb2-94fe-9d889de36cd0_sidecar","model":"grok-3-mini-high",'
    b'"object":"chat.completion.chunk","system_fingerprint":"fp_d33f0040b9"}',
    b'{"choices":[],"created":1759350338,"id":"bf90fc63-1ef7-4cb2-94fe-9d889de36cd0_sidecar",'
    b'"model":"grok-3-mini-high","object":"chat.completion.chunk","system_fingerprint":"fp_d33f0040b9",'
    b'"usage":{"completion_tokens":11,"completion_tokens_details":{"reasoning_tokens":330},'
    b'"prompt_tokens":332,"total_tokens":673}}',
    b"[DONE]",
)
_AZURE_TRANSCRIPT = b"".join(b"data: " + payload + b"\n\n" for payload in _AZURE_PAYLOADS)


@pytest.mark.parametrize("piece", [len(_AZURE_TRANSCRIPT), 4096, 7, 1])
def test_azure_stream_shape_decodes_in_any_piece_size(piece: int) -> None:
    body = _AZURE_TRANSCRIPT
    decoder = SSEDecoder()
    events = [e for i in range(0, len(body), piece) for e in decoder.feed(body[i : i + piece])]
    assert not decoder.has_pending
    assert len(events) == 6
    assert events[-1].data == "[DONE]"
    first, reasoning, content, finish, usage = (e.json() for e in events[:-1])
    assert first["choices"] == []
    assert first["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]["detected"] is False
    assert reasoning["choices"][0]["delta"] == {"reasoning_content": "First", "role": "assistant"}
    assert content["choices"][0]["delta"]["content"] == "你好 😀"
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage["usage"]["total_tokens"] == 673
    assert {(e.event, e.id, e.retry) for e in events} == {("message", None, None)}


async def test_aiter_sse_yields_events_across_chunks() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b"data: a\r", b"\nid: 9\r\n\r\ndata: ", "é\n\n".encode(), b"data: cut"):
            yield piece

    events = [event async for event in aiter_sse(chunks())]
    assert [(e.data, e.id) for e in events] == [("a", "9"), ("é", "9")]


# --- properties -------------------------------------------------------------------------------------------

_LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")
    | st.sampled_from([" ", ":", "\x00", "\x0b", "\x85", "\u2028", "\ufeff", "é", "中", "😀"]),
    max_size=12,
)
_EVENTS = st.lists(
    st.tuples(
        st.lists(_LINE_TEXT, min_size=1, max_size=4),  # data lines
        st.one_of(st.none(), _LINE_TEXT),  # event type
        st.one_of(st.none(), _LINE_TEXT.filter(lambda s: "\x00" not in s)),  # id
        st.one_of(st.none(), st.integers(0, 10**6)),  # retry
        st.booleans(),  # precede by a comment line
    ),
    max_size=6,
)


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


def _state(chunks: Sequence[bytes]) -> tuple[list[ServerSentEvent], bool, str | None, int | None]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.close()
    return events, decoder.has_pending, decoder.last_event_id, decoder.reconnection_time


@settings(max_examples=300, deadline=None)
@given(events=_EVENTS, eol=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(), data=st.data())
def test_any_split_yields_the_same_events_as_one_feed(
    events: list[tuple[list[str], str | None, str | None, int | None, bool]],
    eol: str,
    bom: bool,
    data: st.DataObject,
) -> None:
    lines: list[str] = []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    for data_lines, event_type, event_id, retry, comment in events:
        if comment:
            lines.append(": comment")
        if event_type is not None:
            lines.append(f"event: {event_type}")
        if event_id is not None:
            lines.append(f"id: {event_id}")
            last_id = event_id
        if retry is not None:
            lines.append(f"retry: {retry}")
        lines.extend(f"data: {line}" for line in data_lines)
        lines.append("")
        expected.append(ServerSentEvent("\n".join(data_lines), event_type or "message", last_id, retry))
    body = ("\ufeff" if bom else "").encode() + "".join(line + eol for line in lines).encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))

    whole = _state([body])
    assert whole[0] == expected
    assert whole[1:3] == (False, last_id)
    assert _state(_split(body, cuts)) == whole


_TOKENS = st.sampled_from(
    [
        *(b"\r", b"\n", b"\r\n", b":", b" ", b"data", b"data:", b"id:", b"event:", b"retry:", b"1", b"\x00"),
        *(b"\xef\xbb\xbf", b"\xef", b"\xe4\xb8", b"\xad", b"\xff", b"\xf0\x9f\x98\x80", b"x"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=200), st.lists(_TOKENS, max_size=60).map(b"".join)), data=st.data())
def test_arbitrary_bytes_never_raise_and_splitting_never_changes_the_outcome(
    body: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    whole = _state([body])
    assert _state(_split(body, cuts)) == whole
    assert all(isinstance(event.data, str) for event in whole[0])


# --- bounded memory (max_event_bytes) ----------------------------------------------------------------------


def test_an_unterminated_line_is_refused_as_soon_as_it_passes_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    decoder.feed(b"data: ")
    for _ in range(94):  # 100 bytes held: still allowed
        decoder.feed(b"x")
    with pytest.raises(EventTooLargeError) as caught:
        decoder.feed(b"x")
    assert (caught.value.size, caught.value.limit) == (101, 100)


def test_a_long_line_arriving_with_other_lines_is_refused() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    assert datas(decoder.feed(b"data: a\n\ndata: " + b"y" * 60)) == ["a"]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"y" * 60)


def test_data_lines_of_one_event_count_together() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    for _ in range(10):
        decoder.feed(b"data: " + b"z" * 10 + b"\n")  # 100 bytes of data, event not yet ended
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: z\n")


def test_the_count_starts_again_with_each_event() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    for i in range(50):
        # Each event is 90 bytes of data split over two feeds; together they are far over the limit.
        assert decoder.feed(b"data: " + b"a" * 45 + b"\n") == []
        assert datas(decoder.feed(b"data: " + b"b" * 45 + b"\n\n")) == ["a" * 45 + "\n" + "b" * 45], i


def test_comments_and_fields_count_only_while_unterminated() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    for _ in range(100):
        assert decoder.feed(b": " + b"c" * 90 + b"\n") == []
    assert datas(decoder.feed(b"data: ok\n\n")) == ["ok"]


def test_without_a_limit_anything_goes() -> None:
    payload = "x" * 200_000
    assert datas(decode(f"data: {payload}\n\n".encode())) == [payload]


def test_a_limit_does_not_change_what_is_decoded() -> None:
    body = b"".join(f"data: {i}\nid: {i}\n\n".encode() for i in range(200))
    limited = SSEDecoder(max_event_bytes=64)
    events = [event for i in range(0, len(body), 7) for event in limited.feed(body[i : i + 7])]
    assert events == decode(body)
