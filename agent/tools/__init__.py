"""Tools the executor can call: @tool functions and Tool subclasses."""

from agent.tools.base import FunctionTool, Tool, tool
from agent.tools.registry import available_tools, builtin_tools, select_tools

__all__ = ["FunctionTool", "Tool", "available_tools", "builtin_tools", "select_tools", "tool"]
