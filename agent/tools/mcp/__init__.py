"""Tools from Model Context Protocol servers: `mcp_tools("servers.json")`, and `--mcp FILE` on the CLI."""

from agent.tools.mcp.toolset import McpTool, McpToolSet, mcp_tools

__all__ = ["McpTool", "McpToolSet", "mcp_tools"]
