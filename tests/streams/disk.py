"""A disk that fills up: ENOSPC for writes under one directory once a byte budget is spent.

Real files on the real file system; only the ``os.write`` / ``os.pwrite`` calls on file
descriptors opened under ``root`` are counted, and once ``budget`` bytes were written the
next write is cut short (what fits) and the one after fails with ENOSPC, as a full ext4 or
tmpfs answers. ``fill(largest=n)`` models a nearly full disk instead: writes of at most ``n``
bytes still find room (a segment header), larger ones (a batch) fail. (Mounting a small tmpfs
would need root in every CI runner.)
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest


class FullDisk:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        self.root = str(root.resolve())
        self.budget: int | None = None  # None: unlimited
        self.largest: int | None = None  # None: any size while the budget lasts
        self.refused = 0
        real_write, real_pwrite = os.write, os.pwrite

        def under_root(fd: int) -> bool:
            try:
                return os.readlink(f"/proc/self/fd/{fd}").startswith(self.root + os.sep)
            except OSError:
                return False

        def allowed(fd: int, size: int) -> int:
            if (self.budget is None and self.largest is None) or not under_root(fd):
                return size
            if self.largest is not None:
                if size > self.largest:
                    self.refused += 1
                    raise OSError(errno.ENOSPC, "No space left on device")
                return size
            assert self.budget is not None
            if self.budget <= 0:
                self.refused += 1
                raise OSError(errno.ENOSPC, "No space left on device")
            granted = min(size, self.budget)
            self.budget -= granted
            return granted

        def write(fd: int, data: Any) -> int:
            granted = allowed(fd, len(data))
            return real_write(fd, memoryview(data)[:granted])

        def pwrite(fd: int, data: Any, offset: int) -> int:
            granted = allowed(fd, len(data))
            return real_pwrite(fd, memoryview(data)[:granted], offset)

        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(os, "pwrite", pwrite)

    def fill(self, room: int = 0, *, largest: int | None = None) -> None:
        """From now on only ``room`` more bytes fit (or only writes up to ``largest`` bytes)."""
        self.budget, self.largest = room, largest

    def free(self) -> None:
        self.budget = self.largest = None
