"""Process-level hooks: flush at interpreter exit and reset after ``fork()``.

Both hooks are registered once, at import, and walk a weak set of live emitters, because
``os.register_at_fork`` callbacks cannot be unregistered and an emitter that the application
dropped must not be kept alive by them.

Exit: the exit hook runs after non-daemon threads were joined and while the emitters' daemon
sender threads still run; it starts closing every emitter at once and waits for them together,
so N emitters cost one ``exit_timeout``, not N.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import Protocol

__all__ = ["register"]


class _Managed(Protocol):
    def _after_fork_in_child(self) -> None: ...
    def _begin_exit(self) -> float | None: ...
    def _finish_exit(self, deadline: float) -> None: ...


_live: weakref.WeakSet[_Managed] = weakref.WeakSet()
_lock = threading.Lock()


def register(emitter: _Managed) -> None:
    with _lock:
        _live.add(emitter)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the parent may have held it while forking
    for emitter in list(_live):
        emitter._after_fork_in_child()


def _at_exit() -> None:
    with _lock:
        emitters = list(_live)
    deadlines = [(e, e._begin_exit()) for e in emitters]
    for emitter, deadline in deadlines:
        if deadline is not None:
            emitter._finish_exit(deadline)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
