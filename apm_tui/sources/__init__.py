"""Data sources behind one small interface (see `base.Source`), built from a `--source` spec.

A spec is a built-in name (`synthetic`) or `module:attribute` naming a class or factory of the
user's own that takes no arguments and returns a Source. Built-ins are imported lazily so the
first frame does not pay for sources it does not use.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

from apm_tui.sources.base import Source, SourceError

__all__ = ["BUILTIN", "Source", "SourceError", "load_user_source"]

BUILTIN = ("synthetic",)


def load_user_source(spec: str) -> Source:
    """Import `module:attribute` and call it with no arguments to get a Source."""
    factory = resolve_user_source(spec)
    try:
        source = factory()
    except Exception as exc:  # the user's code: any failure is theirs to read about
        raise SourceError(f"source {spec} failed to start: {exc}") from None
    missing = [
        m for m in ("open", "backfill", "poll", "close") if not callable(getattr(source, m, None))
    ]
    if missing or not isinstance(getattr(source, "name", None), str):
        what = ", ".join(missing) if missing else "a 'name' string"
        raise SourceError(f"source {spec} does not implement the Source interface (missing {what})")
    from apm_tui.sources.checked import Checked

    return Checked(source)  # type: ignore[arg-type]


def resolve_user_source(spec: str) -> Callable[[], object]:
    """The callable `module:attribute` names, imported but not called (the CLI checks specs
    with this before the dashboard starts, so a typo is one line and exit status 2)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SourceError(
            f"unknown source {spec!r}: use one of {', '.join(BUILTIN)} or module:Class"
        )
    # Like uvicorn's app spec: a module in the current folder is found without installing it.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SourceError(f"cannot import source module {module_name!r}: {exc}") from None
    except Exception as exc:  # the module's own code failed as it ran (a SyntaxError too)
        raise SourceError(
            f"source module {module_name!r} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    factory: Callable[[], object] | None = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise SourceError(f"{module_name!r} has no callable {attr!r}")
    return factory
