"""Micro-benchmark: SSEDecoder vs httpx ``iter_lines()`` + ``json.loads`` on an Azure-shaped stream.

Run: ``python benchmarks/sse_micro.py``. The transcript mimics a Grok chat stream on Azure AI Foundry: a
prompt-filter event with empty choices, 5,000 content deltas, a finish event, a usage event and ``[DONE]``;
it is fed in 4 KiB pieces (a busy socket) and then one event per chunk (token-by-token streaming, ~5,000
chunks). Prints best-of-N wall time per full drain.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

import httpx

from grok_azure._streaming._sse import SSEDecoder

N_DELTAS = 5_000
CHUNK_SIZE = 4096
REPEAT = 15
_ID = "60712103-0d02-4fe4-9e99-0db272b02fab_sidecar"
_SAFE = {"filtered": False, "severity": "safe"}


def _payloads() -> list[str]:
    base = {"created": 1759350330, "id": _ID, "model": "grok-3-mini-high", "object": "chat.completion.chunk"}
    filters = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
    out = [
        json.dumps(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filters}],
            }
        )
    ]
    for i in range(N_DELTAS):
        delta = {"content": f" token{i}"} if i else {"content": "Hello", "role": "assistant"}
        choice = {"content_filter_results": filters, "delta": delta, "index": 0}
        out.append(json.dumps({"choices": [choice], **base, "system_fingerprint": "fp_d33f0040b9"}))
    finish = {"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0}
    out.append(json.dumps({"choices": [finish], **base}))
    usage = {"completion_tokens": N_DELTAS, "prompt_tokens": 332, "total_tokens": N_DELTAS + 332}
    out.append(json.dumps({"choices": [], **base, "usage": usage}))
    return out


def _chunkings() -> dict[str, list[bytes]]:
    events = [f"data: {p}\n\n".encode() for p in [*_payloads(), "[DONE]"]]
    body = b"".join(events)
    return {
        f"{CHUNK_SIZE} B pieces": [body[i : i + CHUNK_SIZE] for i in range(0, len(body), CHUNK_SIZE)],
        "one event per chunk": events,
    }


def run_decoder(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    n = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            if event.data != "[DONE]":
                event.json()
                n += 1
    decoder.close()
    return n


def run_decoder_no_json(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    n = 0
    for chunk in chunks:
        n += len(decoder.feed(chunk))
    return n


def run_httpx_iter_lines(chunks: list[bytes]) -> int:
    response = httpx.Response(200, content=iter(chunks))
    n = 0
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            json.loads(line[6:])
            n += 1
    return n


def _bench(chunks: list[bytes], expected: int) -> None:
    cases: dict[str, Callable[[], int]] = {
        "SSEDecoder + event.json()": lambda: run_decoder(chunks),
        "SSEDecoder, no JSON": lambda: run_decoder_no_json(chunks),
        "httpx iter_lines() + json.loads": lambda: run_httpx_iter_lines(chunks),
    }
    results: dict[str, float] = {}
    for name, fn in cases.items():
        got = fn()
        assert got in (expected, expected + 1), (name, got)  # +1: the no-JSON case also counts [DONE]
        results[name] = min(timeit.repeat(fn, number=1, repeat=REPEAT))
    baseline = results["httpx iter_lines() + json.loads"]
    for name, seconds in results.items():
        print(f"  {name:34} {seconds * 1e3:8.2f} ms   {seconds / baseline:5.2f}x httpx")


def main() -> None:
    payloads = _payloads()
    floor = min(timeit.repeat(lambda: sum(1 for p in payloads if json.loads(p)), number=1, repeat=REPEAT))
    print(f"{len(payloads)} JSON events; json.loads alone (the floor): {floor * 1e3:.2f} ms")
    for label, chunks in _chunkings().items():
        print(f"{label}: {sum(map(len, chunks)):,} bytes in {len(chunks)} chunks")
        _bench(chunks, len(payloads))


if __name__ == "__main__":
    main()
