"""The pure analysis core: no I/O, no Textual.

`full.analyse` turns a window into one `Analysis` (the report, the dashboard's periodic full
analysis); `live` computes the cheap per-tick view; `streaming` is the causal anomaly detector.
This package imports nothing heavy itself, so importing one module does not pull in pandas.
"""
