"""The one registry idiom of the suite: name -> object, with listing and clear errors.

Models, suites, presets and metrics all use :class:`Registry`.  Registering a
name twice is a programming error; asking for an unknown name is a user error
that lists the valid choices.
"""

from __future__ import annotations

from typing import Callable, Dict, Generic, Iterator, List, Optional, TypeVar

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

    def register(self, name: Optional[str] = None) -> Callable[[T], T]:
        """Decorator form: ``@REG.register()`` uses the function's ``__name__``."""

        def deco(item: T) -> T:
            self.add(name or item.__name__, item)
            return item

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(self.names()) or "(none registered)"
            raise UserError(f"unknown {self.kind} {name!r}; choose one of: {choices}") from None

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
