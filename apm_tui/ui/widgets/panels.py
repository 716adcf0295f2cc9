"""The nine panels, in the seed's order. Each takes a `Snapshot` and shows it: a chart (or text)
plus a line with the current values; in compact layouts a few numbers and a block chart, and
maximising one (enter) shows the full chart."""

from __future__ import annotations

from apm_tui.ui.widgets.panel import Line, Panel, TextBlock
from apm_tui.ui.widgets.text_panels import BottlenecksPanel, EndpointsPanel, HealthPanel
from apm_tui.ui.widgets.time_panels import (
    ApdexPanel,
    DistributionPanel,
    ErrorRatePanel,
    ResourcesPanel,
    ResponseTimePanel,
    ThroughputPanel,
)

__all__ = ["PANELS", "EndpointsPanel", "Line", "Panel", "TextBlock"]

PANELS: tuple[type[Panel], ...] = (
    ResponseTimePanel,
    ResourcesPanel,
    ApdexPanel,
    DistributionPanel,
    ThroughputPanel,
    ErrorRatePanel,
    HealthPanel,
    EndpointsPanel,
    BottlenecksPanel,
)
