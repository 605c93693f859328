"""Name -> object registries, one per family (layers, losses, metrics, optimizers, ...).

Names are case-insensitive and ignore ``_``/``-`` so ``FullyConnected``, ``fully_connected`` and
``fullyconnected`` are the same entry. Every family lists its built-ins in one visible table in its
own module; users add theirs with ``register``, or name them as ``"package.module:QualName"``
(what a config written to ``config.yaml`` holds for a class that is not registered).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from petri.errors import UnknownNameError, closest_name

__all__ = ["LazyEntry", "Registry", "import_object", "normalize_name"]

T = TypeVar("T")


def normalize_name(name: str) -> str:
    """The lookup key of a name: lower case without ``_``, ``-`` or spaces."""
    return "".join(ch for ch in str(name).lower() if ch not in "_- ")


def qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"


def import_object(path: str) -> Any:
    """The object a ``"package.module:QualName"`` path names.

    Raises:
        UnknownNameError: the module or the attribute does not exist.
    """
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as error:
        raise UnknownNameError(
            f"Cannot import {path!r} ({type(error).__name__}: {error}); expected "
            "'package.module:QualName' of an importable class or function."
        ) from None
    return obj


class LazyEntry:
    """A table entry imported on first lookup (``LazyEntry("petri.layers.subgraph:SubGraph")``):
    lets a module's class resolve names through a table that lists the class itself."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> Any:
        return import_object(self.path)


class Registry(Generic[T]):
    """A registry of one kind of object.

    Args:
        kind: what the entries are ("layer", "loss", ...), used in error messages.
        entries: the built-in table, name -> object.
        home: where users find this registry (``"petri.layers.LAYERS"``), for error messages.
    """

    def __init__(
        self, kind: str, entries: Mapping[str, T] | None = None, *, home: str = ""
    ) -> None:
        self.kind = kind
        self.home = home
        self._entries: dict[str, tuple[str, T]] = {}
        for name, obj in (entries or {}).items():
            self.add(name, obj)

    def add(self, name: str, obj: T, *, overwrite: bool = False) -> T:
        """Register ``obj`` under ``name``; re-registering a taken name needs ``overwrite``."""
        key = normalize_name(name)
        if key in self._entries and not overwrite and self._entries[key][1] is not obj:
            raise ValueError(
                f"A {self.kind} named {name!r} is already registered "
                f"({self._entries[key][1]!r}); pass overwrite=True to replace it."
            )
        self._entries[key] = (name, obj)
        return obj

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator form of :meth:`add`; the name defaults to the object's ``__name__``."""

        def decorate(obj: T) -> T:
            return self.add(name or obj.__name__, obj)  # type: ignore[attr-defined]

        return decorate

    def get(self, identifier: str | T) -> T:
        """Resolve a name (any case) to its object; non-string objects are returned as given.

        Raises:
            UnknownNameError: the name is not registered; the message lists the closest name and
                the known names, and says how to register a new one.
        """
        if not isinstance(identifier, str):
            return identifier
        key = normalize_name(identifier)
        entry = self._entries.get(key)
        if entry is None:
            if ":" in identifier:
                return import_object(identifier)
            raise UnknownNameError(self.unknown_message(identifier))
        name, obj = entry
        if isinstance(obj, LazyEntry):  # resolved on first use: the table can list its own users
            obj = obj.load()
            self._entries[key] = (name, obj)
        return obj

    def unknown_message(self, identifier: str) -> str:
        """The error text for an unknown name: did-you-mean, known names, how to register."""
        suggestion = self.suggest(identifier)
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        return (
            f"Unknown {self.kind} {identifier!r}.{hint} Known names: "
            f"{', '.join(self.names())}. Register your own with "
            f"{self.home or 'the registry'}.add(name, obj), or pass the object itself."
        )

    def suggest(self, identifier: str) -> str | None:
        """The registered name closest to ``identifier``, or None."""
        names = self.names()
        exact = {normalize_name(n): n for n in names}
        return exact.get(normalize_name(identifier)) or closest_name(identifier, names)

    def name_of(self, obj: Any) -> str | None:
        """The registered name of ``obj``, or None when it is not registered."""
        for name, entry in self._entries.values():
            if entry is obj or (isinstance(entry, LazyEntry) and entry.path == qualified(obj)):
                return name
        return None

    def names(self) -> list[str]:
        """Registered names, as written when registered, sorted."""
        return sorted(name for name, _ in self._entries.values())

    def __contains__(self, identifier: object) -> bool:
        return isinstance(identifier, str) and normalize_name(identifier) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
