"""Tools: Python functions the model can call, and the runner that calls them (``chat.completions.run_tools``)."""

from ._errors import ToolCallError, ToolCallsRefusedError, ToolDefinitionError, ToolRoundsExceededError
from ._tool import Tool, tool

__all__ = [
    "Tool",
    "ToolCallError",
    "ToolCallsRefusedError",
    "ToolDefinitionError",
    "ToolRoundsExceededError",
    "tool",
]
