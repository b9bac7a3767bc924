"""API resources: ``client.chat.completions``."""

from .chat import AsyncChat, AsyncCompletions, Chat, Completions

__all__ = ["AsyncChat", "AsyncCompletions", "Chat", "Completions"]
