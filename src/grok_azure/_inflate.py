"""A response body's bytes, decoded (inflated) in bounded pieces, for the readers that count them.

httpx inflates each network read whole before handing it over: one read of 64 KiB under gzip becomes 64 MiB, all
in memory before any :class:`~grok_azure.ResponseLimits` can count it. Here the raw bytes go to httpx's own decoder
in slices small enough that no piece inflates past about 1 MiB (deflate, which gzip uses, inflates at most
1032-fold), so a limit stops a decompression bomb within a piece of it. Bodies without a content encoding, the
common case, pass through as they were read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["BoundedDecoder", "aiter_decoded", "iter_decoded"]

# Compressed bytes handed to the decoder at a time: at most about 1 MiB inflated from deflate or gzip.
_SLICE = 1024
_IDENTITY = frozenset({"", "identity"})


class BoundedDecoder:
    """The sans-I/O part: raw bytes in, decoded pieces out, none inflated from more than :data:`_SLICE` bytes.

    Args:
        response: The response whose body is read; its ``Content-Encoding`` picks httpx's decoder (several
            layers, br and zstd are refused before any reading: see ``_wire.refused_encoding``). A body the
            transport read whole (see ``_aiohttp_transport._whole_body``), or that was read before, is decoded
            already: it is :attr:`held`, and nothing is left to read.
    """

    __slots__ = ("_decoder", "_request", "held")

    def __init__(self, response: httpx.Response) -> None:
        self.held = (
            response.content if response.is_stream_consumed and hasattr(response, "_content") else None
        )
        encoding = response.headers.get("content-encoding", "").strip().lower()
        identity = self.held is not None or encoding in _IDENTITY
        self._decoder = None if identity else response._get_content_decoder()
        self._request = response.request

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``raw``, inflated one slice at a time as the caller takes them."""
        decoder = self._decoder
        if decoder is None:
            if raw:
                yield raw
            return
        for start in range(0, len(raw), _SLICE):
            try:
                piece = decoder.decode(raw[start : start + _SLICE])
            except httpx.DecodingError as exc:
                raise self._failed(exc) from None
            if piece:
                yield piece

    def end(self) -> Iterator[bytes]:
        """After the last raw piece (or instead of any, for a :attr:`held` body): what is left to hand over, the
        held body or what the decoder held back until the body ended (it may say the body was cut short)."""
        if self.held is not None:
            yield from self.feed(self.held)
        elif self._decoder is not None:
            try:
                tail = self._decoder.flush()
            except httpx.DecodingError as exc:
                raise self._failed(exc) from None
            if tail:
                yield tail

    def _failed(self, exc: httpx.DecodingError) -> httpx.DecodingError:
        # As httpx raises it from iter_bytes(): with the request, which the SDK's error mapping reads.
        return httpx.DecodingError(str(exc), request=self._request)


def iter_decoded(response: httpx.Response) -> Iterator[bytes]:
    """``response.iter_bytes()``, with each network read inflated in bounded pieces (see the module)."""
    decoder = BoundedDecoder(response)
    if decoder.held is None:
        for raw in response.iter_raw():
            yield from decoder.feed(raw)
    yield from decoder.end()


async def aiter_decoded(response: httpx.Response) -> AsyncIterator[bytes]:
    """``response.aiter_bytes()``, with each network read inflated in bounded pieces (see the module)."""
    decoder = BoundedDecoder(response)
    if decoder.held is None:
        async for raw in response.aiter_raw():
            for piece in decoder.feed(raw):
                yield piece
    for piece in decoder.end():
        yield piece
