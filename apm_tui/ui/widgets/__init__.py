"""One widget per panel, and the chart widget they share."""
