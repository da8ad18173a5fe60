"""Bases for the plain record classes of the modules that ``cbdiag lint`` loads.

Those modules write their records as plain classes with an explicit ``__init__`` rather than as
``dataclasses``: generating the methods at import costs more than a one-file lint run spends
linting (``benchmarks/startup.py``). A subclass names its attributes in ``_fields`` (shown by
``repr``) and the ones that make two records equal in ``_key`` (an ``operator.attrgetter``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: ``cbdiag lint`` does not need it
    from collections.abc import Callable
    from typing import Any


class Plain:
    """A record compared by identity, shown with its fields."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__qualname__}({inner})"


class Record(Plain):
    """A record equal to another of the same class with the same ``_key`` values, hashable."""

    __slots__ = ()
    _key: Callable[[Any], Any]  # operator.attrgetter of the compared attributes

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self._key(self) == self._key(other))

    def __hash__(self) -> int:
        return hash(self._key(self))


class MutableRecord(Record):
    """A :class:`Record` whose attributes change, so it is not hashable."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
