"""One registry pattern for agents, workloads, time models, predictors and eviction policies.

A *spec* is a string ``name`` or ``name:key=value,key2=value2``. Values are parsed as
``int``, then ``float``, then ``true``/``false``, and otherwise kept as strings. A value may
contain commas: an item that does not start with ``key=`` continues the value before it
(``trace:path=a,b.csv,n=5`` has ``path="a,b.csv"``). The part after the colon may also be a bare
path (``ppo:runs/lr=3e-4/model.zip``): whatever does not start with ``identifier=`` is taken
whole as ``path`` (write ``path=...`` for a path that does). A registry maps names to factories;
a factory is either a callable or a lazy ``"module:attribute"`` string that is imported only when
the name is first used (so ``import agents`` never loads torch).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


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


def suggest(word: str, choices: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:k=v,k2=v2"`` into ``("name", {"k": v, "k2": v2})``.

    The part after the first colon may also be a bare value (``"ppo:models/a.zip"``); it is
    then returned under the key ``"path"``.

    Raises:
        ValueError: if the spec is empty, a key is given twice or a ``key=value`` pair is
            malformed.
    """
    name, params, _ = _split(spec)
    return name, params


def _split(spec: str) -> tuple[str, dict[str, Any], bool]:
    """``parse_spec`` plus whether the parameters were a bare value (taken as ``path``)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name:
        raise ValueError(f"spec {spec!r} has no name before ':'")
    params: dict[str, Any] = {}
    if not rest.strip():
        return name, params, False
    if not _KEY.match(rest):
        return name, {"path": rest.strip()}, True
    raw: dict[str, str] = {}
    last = ""
    for item in rest.split(","):
        match = _KEY.match(item)
        if match is None:
            if not item.strip():
                raise ValueError(f"spec {spec!r}: empty item between commas")
            raw[last] += "," + item
            continue
        last = match.group(1)
        if last in raw:
            raise ValueError(f"spec {spec!r}: parameter {last!r} is given twice")
        raw[last] = item[match.end() :]
    for key, value in raw.items():
        params[key] = parse_value(value.strip())
    return name, params, False


#: How many specs :meth:`Registry.make_shared` keeps built (then it starts afresh).
SHARED_SPECS = 256


class Registry(Generic[T]):
    """Names to factories, with lazy ``"module:attr"`` targets and helpful errors.

    Args:
        kind: what the registry holds, used in error messages (``"agent"``, ``"workload"``).
        plural: the plural of ``kind`` in messages (default ``kind + "s"``).
    """

    def __init__(self, kind: str, plural: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or (kind[:-1] + "ies" if kind.endswith("y") else kind + "s")
        self._entries: dict[str, Callable[..., T] | str] = {}
        self._shared: dict[str, T] = {}

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
                f"unknown {self.kind} {name!r}{suggest(name, self.names())} "
                f"known {self.plural}: {', '.join(self.names())}"
            )
        target = self._entries[name]
        if isinstance(target, str):
            module_name, _, attribute = target.partition(":")
            target = getattr(importlib.import_module(module_name), attribute)
            self._entries[name] = target
        return target

    def make_shared(self, spec: str) -> T:
        """:meth:`make` for a registry of immutable objects: one object per spec, built once.

        For specs resolved again and again (a time model or an eviction policy per
        environment reset); at most :data:`SHARED_SPECS` are kept.

        Raises:
            ValueError: as :meth:`make` (a spec that fails is not kept).
        """
        made = self._shared.get(spec)
        if made is None:
            made = self.make(spec)
            if len(self._shared) >= SHARED_SPECS:
                self._shared.clear()
            self._shared[spec] = made
        return made

    def make(self, spec: str, **overrides: Any) -> T:
        """Build the object a spec names: ``factory(**spec_params, **overrides)``.

        Raises:
            ValueError: for an unknown name (listing the known ones), parameters the factory
                does not accept (listing those it does, with a suggestion), or a bad value.
        """
        name, params, bare = _split(spec)
        factory = self.factory(name)
        if bare and "path" not in inspect.signature(factory).parameters:
            value = params["path"]
            raise ValueError(
                f"{self.kind} {spec!r}: expected key=value after ':', got {value!r} "
                f"(for example {name}:{value}=VALUE)"
            )
        params.update(overrides)
        check_parameters(f"{self.kind} {spec!r}", factory, params)
        try:
            return factory(**params)
        except (TypeError, OverflowError, ArithmeticError) as error:
            raise ValueError(f"{self.kind} {spec!r}: bad parameter value ({error})") from error


@functools.lru_cache(maxsize=256)
def _signature(factory: Callable[..., Any]) -> inspect.Signature:
    """``inspect.signature`` of a factory, computed once (environments resolve specs per reset)."""
    return inspect.signature(factory)


def check_parameters(owner: str, factory: Callable[..., Any], params: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless ``factory(**params)`` binds, naming what it accepts.

    Args:
        owner: what the parameters are for, used in the message (``"agent 'mcsf:x=1'"``).
        factory: the callable the parameters are for.
        params: keyword arguments.
    """
    try:
        signature = _signature(factory)
    except TypeError:  # an unhashable callable
        signature = inspect.signature(factory)
    accepted = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    if not takes_any:
        unknown = [key for key in params if key not in accepted]
        if unknown:
            listed = ", ".join(accepted) if accepted else "none"
            raise ValueError(
                f"{owner}: unknown parameter {unknown[0]!r}{suggest(unknown[0], accepted)} "
                f"accepted parameters: {listed}"
            )
    try:
        signature.bind(**params)
    except TypeError as error:
        raise ValueError(f"{owner}: bad parameters ({error})") from error
