"""One registry pattern for agents, workloads, time models, predictors and eviction policies.

A *spec* is a string ``name`` or ``name:key=value,key2=value2``. Values are parsed as
``int``, then ``float``, then ``true``/``false``, and otherwise kept as strings. A registry maps
names to factories; a factory is either a callable or a lazy ``"module:attribute"`` string that
is imported only when the name is first used (so ``import agents`` never loads torch).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def parse_value(text: str) -> Any:
    """Parse one spec value: ``int``, then ``float``, then a boolean, else the raw string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:k=v,k2=v2"`` into ``("name", {"k": v, "k2": v2})``.

    The part after the first colon may also be a bare value (``"ppo:models/a.zip"``); it is
    then returned under the key ``"path"``.

    Raises:
        ValueError: if the spec is empty or a ``key=value`` pair is malformed.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name:
        raise ValueError(f"spec {spec!r} has no name before ':'")
    params: dict[str, Any] = {}
    if not rest:
        return name, params
    if "=" not in rest:
        return name, {"path": rest}
    for item in rest.split(","):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"spec {spec!r}: expected key=value, got {item!r}")
        params[key.strip()] = parse_value(value.strip())
    return name, params


class Registry(Generic[T]):
    """Names to factories, with lazy ``"module:attr"`` targets and helpful errors.

    Args:
        kind: what the registry holds, used in error messages (``"agent"``, ``"workload"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T] | str] = {}

    def register(self, name: str, factory: Callable[..., T] | str) -> None:
        """Register ``factory`` under ``name``; a duplicate name is a ``ValueError``."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = factory

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def factory(self, name: str) -> Callable[..., T]:
        """The factory registered under ``name``, importing a lazy target on first use."""
        if name not in self._entries:
            raise ValueError(
                f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}"
            )
        target = self._entries[name]
        if isinstance(target, str):
            module_name, _, attribute = target.partition(":")
            target = getattr(importlib.import_module(module_name), attribute)
            self._entries[name] = target
        return target

    def make(self, spec: str, **overrides: Any) -> T:
        """Build the object a spec names: ``factory(**spec_params, **overrides)``.

        Raises:
            ValueError: for an unknown name (listing the known ones) or parameters the
                factory does not accept.
        """
        name, params = parse_spec(spec)
        params.update(overrides)
        factory = self.factory(name)
        try:
            inspect.signature(factory).bind(**params)
        except TypeError as error:
            raise ValueError(f"{self.kind} {spec!r}: bad parameters ({error})") from error
        return factory(**params)
