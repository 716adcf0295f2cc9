"""Modules loaded on first use, so the dashboard draws its first frame before numpy loads.

Importing numpy costs ≈ 0.12–0.19 s here, a third of the 0.4 s first-frame budget; the panels
need it only to draw data, which arrives after the first frame. `importlib.util.LazyLoader`
(the standard library's recipe) executes a module when one of its attributes is first used.
Used for our own numpy modules only: numpy itself is imported normally by them.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
