"""Reading the files users name: regular files only, bounded reads, and names shown safely.

Every reader of user input goes through :func:`open_regular` (or :func:`read_bytes`): a FIFO,
a device or a socket is refused before a byte is read (a named pipe would block, ``/dev/zero``
never ends), and operating-system failures become one-line :class:`InputError` messages that
name the file. :func:`display` renders a path or a name from a file for a terminal: control
characters (ANSI escapes included) and bytes that are not UTF-8 are written as escapes, so a
file name cannot move the cursor, colour the terminal, or break the encoder.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections.abc import Callable

from .errors import CbdiagError, OutputError, OutputExistsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO


class InputError(CbdiagError):
    """An input file that cannot be read: missing, not a regular file, unreadable, too large."""


_REASONS = {
    errno.ENOENT: "no such file or directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a component of the path is not a directory",
    errno.ENAMETOOLONG: "file name too long",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EIO: "input/output error",
    errno.ENOSPC: "no space left on device",
    errno.EROFS: "read-only file system",
    errno.EDQUOT: "disk quota exceeded",
}


def reason(exc: OSError) -> str:
    """A short lower-case reason for an operating-system error."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    return (exc.strerror or type(exc).__name__).lower()


def pure(path: str | os.PathLike[str], *, slashes: bool = False) -> str:
    """``str(pathlib.PurePath(path))`` (``as_posix()`` with ``slashes``): repeated separators
    and ``.`` parts dropped, ``..`` kept. On POSIX without importing :mod:`pathlib`, which
    ``cbdiag lint`` does not otherwise need.

    Examples
    --------
    >>> pure("./models//up.py"), pure("a/../b/"), pure(""), pure("//srv/x")
    ('models/up.py', 'a/../b', '.', '//srv/x')
    """
    s = os.fspath(path)
    if os.name != "posix":  # pragma: no cover - POSIX in CI
        from pathlib import PurePath

        p = PurePath(s)
        return p.as_posix() if slashes else str(p)
    root = "//" if s.startswith("//") and not s.startswith("///") else "/" * s.startswith("/")
    return root + "/".join(part for part in s.split("/") if part not in ("", ".")) or "."


def display(name: object, limit: int = 300) -> str:
    """``name`` as it can be printed: control and format characters as ``\\xNN`` / ``\\uNNNN``
    escapes, undecodable bytes of a file name (surrogate escapes) as ``\\xNN``, and names longer
    than ``limit`` characters shortened in the middle.

    Examples
    --------
    >>> display("ok.png")
    'ok.png'
    >>> display("\\x1b[31mred.png")
    '\\\\x1b[31mred.png'
    >>> display(os.fsdecode(b"\\xff.py"))
    '\\\\xff.py'
    """
    s = os.fspath(name) if isinstance(name, os.PathLike) else name
    if isinstance(s, bytes):
        s = os.fsdecode(s)
    s = str(s)
    if s.isprintable() and s.isascii():
        out = s
    else:
        parts = []
        for ch in s:
            o = ord(ch)
            if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's escape)
                parts.append(f"\\x{o - 0xDC00:02x}")
            elif ch == " " or (ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Cs")):
                parts.append(ch)
            elif o < 0x100:
                parts.append(f"\\x{o:02x}")
            elif o < 0x10000:
                parts.append(f"\\u{o:04x}")
            else:
                parts.append(f"\\U{o:08x}")
        out = "".join(parts)
    if len(out) > limit:
        keep = (limit - 3) // 2
        out = out[:keep] + "..." + out[-keep:]
    return out


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, for a message ("a named pipe", ...)."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def is_regular(path: str | os.PathLike[str]) -> bool:
    """True for a regular file (symbolic links followed); False for anything else or an error."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _regular_fd(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """A descriptor open for reading on ``path`` and its status, refusing anything but a
    regular file (opened non-blocking, so that a named pipe with no writer does not block the
    open; its type checked on the open descriptor, then switched back to blocking reads)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"{display(path)}: {reason(exc)}") from exc
    except ValueError as exc:  # an embedded NUL
        raise InputError(f"{display(path)}: not a valid path ({exc})") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{display(path)}: {kind(st.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    The file is opened non-blocking (a named pipe with no writer does not block the open), its
    type checked on the open descriptor, then switched back to blocking reads.
    """
    fd, _ = _regular_fd(path)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (else :class:`InputError`)."""
    fd, st = _regular_fd(path)
    try:
        size = st.st_size
        if size > limit:
            raise InputError(
                f"{display(path)}: {what} of {size:,} bytes is larger than the limit of "
                f"{limit:,} bytes"
            )
        # (as many bytes as the file holds, and one more, read from the descriptor with no
        # buffered file object around it; a file that grew since is read on, to the limit)
        parts = []
        got = 0
        want = size + 1
        while got <= limit:
            chunk = os.read(fd, min(want, limit + 1 - got))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
            want = 1 << 20
    except OSError as exc:
        raise InputError(f"{display(path)}: {reason(exc)}") from exc
    finally:
        os.close(fd)
    if got > limit:
        raise InputError(f"{display(path)}: {what} is larger than the limit of {limit:,} bytes")
    return parts[0] if len(parts) == 1 else b"".join(parts)


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def check_writable(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Fail early (before any work) if ``path`` exists without ``force``, is not a regular file
    (cbdiag writes regular files only: a device or a pipe named as an output is refused, never
    replaced), or cannot be written."""
    from pathlib import Path  # here: ``cbdiag lint`` loads this module, and rarely writes

    p = Path(path)
    shown = display(p)
    try:
        mode: int | None = os.stat(p).st_mode
    except FileNotFoundError:
        mode = None
    except ValueError as exc:
        raise OutputError(f"cannot write {shown}: not a valid path ({exc})") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {reason(exc)}") from exc
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputError(f"{shown} is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise OutputError(f"cannot write {shown}: {kind(mode)}; outputs are regular files")
        if not force:
            raise OutputExistsError(f"{shown} exists; pass --force to overwrite it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {shown}: directory {display(parent)} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {shown}: directory {display(parent)} is not writable")
    return p


def usual_permissions(path: str | os.PathLike[str]) -> None:
    """Give a file made by :func:`tempfile.mkstemp` (mode 0600) the permissions of any new
    file: 0666 less the umask, as ``open()`` creates them."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_atomic(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *, force: bool = False
) -> Path:
    """Write a regular file through a temporary file in the same directory and an atomic rename:
    a failed write (a full disk, an error in ``write``) leaves neither a partial file nor the
    temporary one, and the old file, if any, as it was."""
    p = check_writable(path, force=force)
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".cbdiag-", suffix=p.suffix or ".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        if p.exists() and not force:  # appeared while we were writing
            raise OutputExistsError(f"{display(p)} exists; pass --force to overwrite it")
        check_writable(p, force=force)  # still not a device, a pipe or a directory
        usual_permissions(tmp)
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(f"cannot write {display(p)}: {reason(exc)}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
