"""The workspace cannot be escaped by racing it: links swapped in, parents swapped, hard links, devices."""

import contextlib
import os
import threading

import pytest

from agent.errors import ToolError, UsageError
from agent.tools.workspace import Workspace, workspace_tools

ATTEMPTS = 1500


@pytest.fixture
def places(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET")
    return Workspace(root), root, outside


class Swapper(threading.Thread):
    """Flips `path` between what `plain()` makes and a symbolic link to `target`, as fast as it can."""

    def __init__(self, path, target, plain) -> None:
        super().__init__(daemon=True)
        self.path, self.target, self.plain = path, target, plain
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            for make in (self.plain, lambda: os.symlink(self.target, self.path)):
                try:
                    if self.path.is_symlink() or self.path.is_file():
                        self.path.unlink()
                    elif self.path.is_dir():
                        for child in self.path.iterdir():
                            child.unlink()
                        self.path.rmdir()
                    make()
                except OSError:
                    pass

    def __enter__(self) -> "Swapper":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.halt.set()
        self.join()


def test_a_file_swapped_for_a_link_is_never_followed(places):
    workspace, root, outside = places
    leaked = 0
    with Swapper(root / "note.txt", outside / "secret.txt", lambda: (root / "note.txt").write_text("mine")):
        for _ in range(ATTEMPTS):
            with contextlib.suppress(ToolError):
                leaked += "SECRET" in workspace.read("note.txt")
            with contextlib.suppress(ToolError):
                workspace.write("note.txt", "overwritten")
    assert leaked == 0
    assert (outside / "secret.txt").read_text() == "SECRET"


def test_a_parent_swapped_for_a_link_is_never_followed(places):
    workspace, root, outside = places
    with Swapper(root / "dir", outside, lambda: (root / "dir").mkdir()):
        for i in range(ATTEMPTS):
            with contextlib.suppress(ToolError):
                workspace.write(f"dir/new{i % 7}.txt", "landed")
            with contextlib.suppress(ToolError):
                assert "SECRET" not in workspace.read("dir/secret.txt")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_hard_links_fifos_and_devices_are_refused(places):
    workspace, root, outside = places
    os.link(outside / "secret.txt", root / "hard.txt")
    for act in (lambda: workspace.read("hard.txt"), lambda: workspace.write("hard.txt", "pwned")):
        with pytest.raises(ToolError, match="hard links"):
            act()
    assert (outside / "secret.txt").read_text() == "SECRET"
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        workspace.read("pipe")  # opening it must not block waiting for a writer
    with pytest.raises(ToolError, match="not a regular file"):
        workspace.write("pipe", "x")
    os.symlink("/dev/zero", root / "zero")
    with pytest.raises(ToolError, match="symbolic link"):
        workspace.read("zero")
    assert workspace.list() == {"files": [], "omitted": 0}


def test_reads_are_bounded_even_when_the_size_check_is_raced(places):
    workspace, root, _ = places
    (root / "big.txt").write_text("x" * 200_000)
    with pytest.raises(ToolError, match="up to 100000 bytes"):
        workspace.read("big.txt")


def test_a_workspace_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        workspace_tools(tmp_path / "file")
