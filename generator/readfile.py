"""Read a file people named (a spec, a base it extends, the configuration) only when it is a regular file: a FIFO,
socket or device would block or never end, and a symbolic link loop must be a sentence, not a RuntimeError."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class Unreadable(Exception):
    """Why a path cannot be read, in words for a finding: `str(exc)` completes "cannot read the file: ..."."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def why(exc: OSError) -> str:
    """An OSError in words, with what to do where there is something to do."""
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (a link that leads back to itself); point the link at a real file"
    if exc.errno == errno.ENOENT:
        return "it does not exist (a broken symbolic link?)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; make it readable (chmod a+r)"
    return exc.strerror or str(exc)


def _check_kind(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise Unreadable(f"it is {kind}, not a regular file; give a file saved on disk")


def read_regular(path: Path | str) -> bytes:
    """The bytes of a regular file, following symbolic links. Anything else raises Unreadable, without blocking:
    the kind is checked before the open, the open never waits (O_NONBLOCK), and the kind is checked again on
    what was opened, so a file swapped for a FIFO in between is refused too."""
    try:
        _check_kind(os.stat(path).st_mode)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise Unreadable(why(exc)) from exc
    except ValueError as exc:  # a NUL character in the path
        raise Unreadable(f"the path is not valid ({exc})") from exc
    try:
        _check_kind(os.fstat(fd).st_mode)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise Unreadable(why(exc)) from exc
    finally:
        os.close(fd)


def resolved(path: Path) -> Path:
    """`path` with every symbolic link followed (as far as it exists). A loop raises Unreadable: Path.resolve()
    raises RuntimeError for one before Python 3.13 and OSError in strict mode."""
    try:
        return path.resolve()
    except ValueError as exc:  # a NUL character in the path
        raise Unreadable(f"the path is not valid ({exc})") from exc
    except RuntimeError as exc:
        raise Unreadable(why(OSError(errno.ELOOP, os.strerror(errno.ELOOP)))) from exc
    except OSError as exc:  # pragma: no cover - resolve() is not strict here
        raise Unreadable(why(exc)) from exc
