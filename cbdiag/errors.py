"""Errors that cbdiag reports to users.

Every expected failure (bad option, bad layer spec, unreadable file, impossible size) raises a
subclass of :class:`CbdiagError`. The command-line layer maps it to one line on stderr,
``error: <message>``, and exit code 2. Messages are single lines that say what was wrong and,
where possible, what would be accepted.
"""

from __future__ import annotations


class CbdiagError(Exception):
    """Base class of all errors cbdiag reports to users (exit code 2 on the command line)."""

    exit_code = 2

    def __str__(self) -> str:
        # Keep messages to one line whatever the caller passed.
        return " ".join(super().__str__().split())


class UsageError(CbdiagError):
    """Options that contradict each other or cannot be parsed."""


class LayerSpecError(CbdiagError):
    """A layer description (``--layers``, ``--kernel``, a preset) is invalid."""


class SizeError(CbdiagError):
    """A size that is impossible (shrinks to nothing) or absurdly large."""


class OutputExistsError(CbdiagError):
    """An output file exists and ``--force`` was not given."""


class OutputError(CbdiagError):
    """An output file cannot be written."""


class CheckpointError(CbdiagError):
    """A checkpoint (or the source it is read with) that cannot be read safely."""


class MissingDependencyError(CbdiagError):
    """An optional extra a command needs is not installed (the message gives the pip line)."""
