"""`agent mcp serve` with the scripted model, for the tests: `python agent_server.py RUN_DIR [--http PORT]`.
The model computes 6 * 7 with the calculator and answers; the server is the one `agent mcp serve` builds."""

import sys
from pathlib import Path

from agent import ScriptedModel
from agent.cli.mcp_server import AgentService, serve_http, serve_stdio
from agent.config import build_settings

if __name__ == "__main__":
    settings = build_settings({"run_dir": Path(sys.argv[1]), "experience": False, "similar_task_threshold": None,
                               "tools": ["calculator"]})
    model = ScriptedModel([{"next": "calculator", "arguments": {"expression": "6 * 7"}},
                           {"next": "finish", "answer": "6 * 7 = {1}."}])
    service = AgentService(settings, model=model)
    if len(sys.argv) > 3 and sys.argv[2] == "--http":
        serve_http(service, int(sys.argv[3]))
    else:
        serve_stdio(service)
