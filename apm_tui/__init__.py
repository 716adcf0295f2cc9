"""apm-tui: a live Application Performance Monitoring dashboard for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Batch", "MetricSample", "Span", "Table", "__version__"]

if TYPE_CHECKING:
    from apm_tui.model import Batch, MetricSample, Span, Table


def __getattr__(name: str) -> Any:
    # Lazily: importing the package (the CLI, the dashboard's first frame) must not pay for
    # numpy, which the data model needs.
    if name in __all__:
        from apm_tui import model

        return getattr(model, name)
    raise AttributeError(f"module 'apm_tui' has no attribute {name!r}")
