"""Image output: PNG writing that never overwrites unless asked, atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from .errors import OutputError, OutputExistsError


def check_writable(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Fail early (before any work) if ``path`` exists without ``force`` or cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p} is a directory, not a file")
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; pass --force to overwrite it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {p}: directory {parent} is not writable")
    return p


def save_png(image: Image.Image, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``image`` as PNG to ``path`` via a temporary file and an atomic rename."""
    p = check_writable(path, force=force)
    fd, tmp = tempfile.mkstemp(prefix=".cbdiag-", suffix=".png", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format="PNG", optimize=True)
        if p.exists() and not force:  # appeared while we were writing
            raise OutputExistsError(f"{p} exists; pass --force to overwrite it")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
