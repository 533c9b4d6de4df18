"""File tools confined to one workspace directory: nothing outside it is read, written or listed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.errors import ToolError
from agent.tools.base import Arguments, Tool

MAX_FILE_BYTES = 100_000
MAX_LISTED = 200


class Workspace:
    """Maps relative paths to files under `root`, refusing any path that leads (or links) out of it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def resolve(self, relative: str) -> Path:
        """The real path of `relative` inside the root; ToolError for absolute, `..` or links out."""
        path = Path(relative)
        if not path.parts or not relative.strip() or "\0" in relative or path.is_absolute():
            raise ToolError(f"{relative!r}: give a path relative to the workspace, e.g. 'notes/todo.txt'")
        if ".." in path.parts:
            raise ToolError(f"{relative!r}: '..' is not allowed; paths stay inside the workspace")
        real_root = self.root.resolve()
        target = self.root / path
        # The path and each parent up to the root: a symlinked directory must not carry the path out either.
        for candidate in (target, *target.parents):
            if candidate == self.root:
                break
            if not _inside(candidate, real_root):
                raise ToolError(f"{relative!r} leads outside the workspace (or into a loop) through a symbolic link")
        return target.resolve()

    def read(self, relative: str) -> str:
        path = self.resolve(relative)
        if not path.is_file():
            raise ToolError(f"{relative!r} is not a file in the workspace; call list_files to see what exists")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ToolError(f"{relative!r} has {size} bytes; read_file reads files up to {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{relative!r} is not UTF-8 text ({exc.reason}); read_file reads text only") from exc
        if "\0" in text:
            raise ToolError(f"{relative!r} holds NUL bytes, so it is binary; read_file reads text only")
        return text

    def write(self, relative: str, content: str) -> str:
        data = content.encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"content has {len(data)} bytes; write_file writes up to {MAX_FILE_BYTES} bytes")
        path = self.resolve(relative)
        if path.is_dir():
            raise ToolError(f"{relative!r} is a directory; name a file inside it")
        path.parent.mkdir(parents=True, exist_ok=True)  # the workspace itself is created on first write
        # O_NOFOLLOW: a link planted after the check above is refused rather than followed.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        return f"wrote {len(data)} bytes to {Path(relative).as_posix()}"

    def list(self) -> dict[str, Any]:
        files: list[dict[str, Any]] = []
        real_root = self.root.resolve()
        for directory, subdirs, names in os.walk(self.root):  # os.walk does not descend into linked dirs
            subdirs.sort()
            for name in sorted(names):
                path = Path(directory, name)
                if _inside(path, real_root) and path.is_file():
                    files.append({"path": path.relative_to(self.root).as_posix(), "bytes": path.stat().st_size})
        return {"files": files[:MAX_LISTED], "omitted": max(0, len(files) - MAX_LISTED)}


def _inside(path: Path, real_root: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: nowhere it leads can be trusted
        return False
    return resolved == real_root or real_root in resolved.parents


class ReadFileArguments(Arguments):
    path: str = Field(description="file path relative to the workspace")


class WriteFileArguments(Arguments):
    path: str = Field(description="file path relative to the workspace; parent folders are created")
    content: str = Field(max_length=MAX_FILE_BYTES, description="the whole new text of the file")


class ReadFile(Tool):
    name = "read_file"
    description = f"Read a UTF-8 text file (up to {MAX_FILE_BYTES} bytes) from the workspace."
    Arguments = ReadFileArguments

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def run(self, args: BaseModel) -> str:
        return self.workspace.read(args.path)  # type: ignore[attr-defined]


class WriteFile(Tool):
    name = "write_file"
    description = f"Create or overwrite a text file (up to {MAX_FILE_BYTES} bytes) in the workspace."
    Arguments = WriteFileArguments
    risky = True

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def run(self, args: BaseModel) -> str:
        return self.workspace.write(args.path, args.content)  # type: ignore[attr-defined]


class ListFiles(Tool):
    name = "list_files"
    description = f"List the workspace's files: {{files: [{{path, bytes}}], omitted}} (first {MAX_LISTED})."

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def run(self, args: BaseModel) -> dict[str, Any]:
        return self.workspace.list()


def workspace_tools(root: Path) -> list[Tool]:
    """read_file, write_file (risky: needs approval) and list_files over `root`, created on first write."""
    workspace = Workspace(root)
    return [ReadFile(workspace), WriteFile(workspace), ListFiles(workspace)]
