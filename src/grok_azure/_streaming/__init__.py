"""Streaming: SSE parsing, chunk accumulation and stream objects."""
