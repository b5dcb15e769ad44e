"""The one registry idiom of the suite: name -> object, with listing and clear errors.

Models, suites, presets and metrics all use :class:`Registry`.  Registering a
name twice is a programming error; asking for an unknown name is a user error
that lists the valid choices.
"""

from __future__ import annotations

import contextlib
import difflib
from typing import Dict, Generic, Iterator, List, TypeVar

from benchmark.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of ``T`` (callables or frozen configs)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: Dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    @contextlib.contextmanager
    def temporary(self, name: str, item: T) -> Iterator[T]:
        """``item`` registered as ``name`` for the duration of a ``with`` block (plug-ins in tests)."""
        self.add(name, item)
        try:
            yield item
        finally:
            del self._items[name]

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(self.names()) or "(none registered)"
            close = difflib.get_close_matches(str(name), self.names(), n=3, cutoff=0.6)
            hint = f"did you mean {_either(close)}? " if close else ""
            raise UserError(f"unknown {self.kind} {name!r}; {hint}choose one of: {choices}") from None

    def names(self) -> List[str]:
        return sorted(self._items)

    def values(self) -> List[T]:
        """The items in registration order."""
        return list(self._items.values())

    def items(self) -> List[tuple]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def _either(names: List[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
