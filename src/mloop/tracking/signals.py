"""SIGTERM ends open runs cleanly: KILLED, buffered metrics written, exit code 143.

Schedulers (Kubernetes, Slurm, systemd) stop programs with SIGTERM, whose default
kills the process before any cleanup. While a run is open, mloop turns SIGTERM
into :class:`Terminated`, a ``SystemExit``, so ``with`` blocks and exit handlers
run. It does so only in the main thread and only when nobody else has set a
handler; a second SIGTERM kills at once, as usual.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Terminated(SystemExit):
    """Raised in the main thread when SIGTERM arrives while a run is open."""


class _State:
    installed = False
    received = False


def terminated() -> bool:
    """Whether SIGTERM arrived while a run was open."""
    return _State.received


def install() -> None:
    """Take over SIGTERM, if it still has its default handler and we are the main thread."""
    if _State.installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
        _State.installed = True


def uninstall() -> None:
    """Give SIGTERM back its default handler, if ours is still in place."""
    if not _State.installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _State.installed = False


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    _State.received = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    raise Terminated(128 + signum)
