"""apm-tui: a live Application Performance Monitoring dashboard for the terminal."""

from apm_tui.model import Batch, MetricSample, Span, Table

__version__ = "0.1.0"
__all__ = ["Batch", "MetricSample", "Span", "Table", "__version__"]
