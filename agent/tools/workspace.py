"""File tools confined to one workspace directory: nothing outside it is read, written or listed."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field

from agent.errors import ToolError, UsageError
from agent.tools.base import Arguments, Tool

MAX_FILE_BYTES = 100_000
MAX_LISTED = 200


class Workspace:
    """Files under `root`. Every path is walked one component at a time from a descriptor of the root, never
    following a link (O_NOFOLLOW, O_DIRECTORY per directory), so a path swapped for a link between a check and
    a use is refused, not followed. Only regular files with a single link are read or written, by bounded I/O."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"workspace {self.root} is not a directory: pass a directory for the file tools")

    def read(self, relative: str) -> str:
        parts = _parts(relative)
        with _Directory(self._open_root(create=False), relative) as parent:
            parent.descend(parts[:-1], create=False)
            fd = parent.open_file(parts[-1], os.O_RDONLY)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows after the check
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"{relative!r} has more than {MAX_FILE_BYTES} bytes; read_file reads files up to "
                            f"{MAX_FILE_BYTES} bytes")
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
        parts = _parts(relative)
        with _Directory(self._open_root(create=True), relative) as parent:
            parent.descend(parts[:-1], create=True)
            fd = parent.open_file(parts[-1], os.O_WRONLY | os.O_CREAT)
        with os.fdopen(fd, "wb") as handle:
            os.ftruncate(fd, 0)  # only now: the checks ran on the open file, before any byte of it changed
            handle.write(data)
        return f"wrote {len(data)} bytes to {'/'.join(parts)}"

    def list(self) -> dict[str, Any]:
        if not self.root.is_dir():
            return {"files": [], "omitted": 0}
        files: list[dict[str, Any]] = []
        # fwalk works on directory descriptors and never follows links, so a swapped directory cannot lead out
        for directory, subdirs, names, dir_fd in os.fwalk(self.root, follow_symlinks=False):
            subdirs.sort()
            for name in sorted(names):
                try:
                    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                    path = Path(directory, name).relative_to(self.root).as_posix()
                    files.append({"path": path, "bytes": info.st_size})
        return {"files": files[:MAX_LISTED], "omitted": max(0, len(files) - MAX_LISTED)}

    def _open_root(self, create: bool) -> int:
        if create:
            self.root.mkdir(parents=True, exist_ok=True)  # the workspace itself is created on first write
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise ToolError("the workspace is empty; call list_files to see what exists") from None
        except OSError as exc:
            raise ToolError(f"the workspace cannot be opened ({exc.strerror})") from None


class _Directory:
    """A directory descriptor walked down component by component; closed on exit."""

    def __init__(self, fd: int, relative: str) -> None:
        self.fd, self.relative = fd, relative

    def __enter__(self) -> _Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def descend(self, names: list[str], create: bool) -> None:
        for name in names:
            if create:
                try:
                    os.mkdir(name, 0o755, dir_fd=self.fd)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise ToolError(f"cannot create folder {name!r} for {self.relative!r}: {exc.strerror}") from None
            try:
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.fd)
            except OSError as exc:
                raise self._refusal(name, exc) from None
            os.close(self.fd)
            self.fd = child

    def open_file(self, name: str, flags: int) -> int:
        """A descriptor of the regular, singly linked file `name`; O_NONBLOCK so a FIFO cannot block the open."""
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644, dir_fd=self.fd)
        except OSError as exc:
            raise self._refusal(name, exc) from None
        info = os.fstat(fd)
        problem = ("is not a regular file" if not stat.S_ISREG(info.st_mode) else
                   "has other hard links, some of which may lie outside the workspace" if info.st_nlink != 1 else "")
        if problem:
            os.close(fd)
            raise ToolError(f"{self.relative!r} {problem}; the file tools use plain files of the workspace only")
        os.set_blocking(fd, True)
        return fd

    def _refusal(self, name: str, exc: OSError) -> ToolError:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or (exc.errno == errno.ENOTDIR and _is_link(name, self.fd)):
            return ToolError(f"{self.relative!r} passes through a symbolic link ({name!r}), which could lead "
                             "outside the workspace; links are not followed")
        if exc.errno == errno.ENOENT:
            return ToolError(f"{self.relative!r} is not a file in the workspace; call list_files to see what exists")
        if exc.errno == errno.EISDIR:
            return ToolError(f"{self.relative!r} is a directory; name a file inside it")
        if exc.errno == errno.ENOTDIR:
            return ToolError(f"{self.relative!r}: {name!r} is not a folder")
        if exc.errno == errno.ENXIO:
            return ToolError(f"{self.relative!r} is not a regular file; the file tools use plain files only")
        return ToolError(f"{self.relative!r} cannot be opened: {exc.strerror}")


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _parts(relative: str) -> list[str]:
    """The path's components; ToolError for an absolute path, `..`, or nothing at all."""
    path = PurePosixPath(relative)
    if not relative.strip() or "\0" in relative or path.is_absolute() or not path.parts:
        raise ToolError(f"{relative!r}: give a path relative to the workspace, e.g. 'notes/todo.txt'")
    if ".." in path.parts:
        raise ToolError(f"{relative!r}: '..' is not allowed; paths stay inside the workspace")
    return list(path.parts)


class ReadFileArguments(Arguments):
    path: str = Field(description="file path relative to the workspace")


class WriteFileArguments(Arguments):
    path: str = Field(description="file path relative to the workspace; parent folders are created")
    content: str = Field(max_length=MAX_FILE_BYTES, description="the whole new text of the file")


class ReadFile(Tool[ReadFileArguments]):
    name = "read_file"
    description = f"Read a UTF-8 text file (up to {MAX_FILE_BYTES} bytes) from the workspace."
    Arguments = ReadFileArguments

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def run(self, args: ReadFileArguments) -> str:
        return self.workspace.read(args.path)


class WriteFile(Tool[WriteFileArguments]):
    name = "write_file"
    description = f"Create or overwrite a text file (up to {MAX_FILE_BYTES} bytes) in the workspace."
    Arguments = WriteFileArguments
    risky = True

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def run(self, args: WriteFileArguments) -> str:
        return self.workspace.write(args.path, args.content)


class ListFiles(Tool[Arguments]):
    name = "list_files"
    description = f"List the workspace's files: {{files: [{{path, bytes}}], omitted}} (first {MAX_LISTED})."

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def run(self, args: Arguments) -> dict[str, Any]:
        return self.workspace.list()


def workspace_tools(root: Path) -> list[Tool[Any]]:
    """read_file, write_file (risky: needs approval) and list_files over `root`, created on first write."""
    workspace = Workspace(root)
    return [ReadFile(workspace), WriteFile(workspace), ListFiles(workspace)]
