"""Give freed big arrays back to the system (glibc).

glibc serves a block of 128 KiB or more with its own mapping, returned on free, but raises that
threshold to the size of each such block freed, up to 32 MiB. Once a window's column (≈ 10 MB
at a million requests) has been copied to a bigger one and freed, every array below that size
comes from the heap instead, and a heap's free space goes back only from its top: the copies
and a full analysis's temporaries stayed in the process (RSS 500–550 MB at the window's million
requests against 330 MB with the threshold fixed, and ≈ 5 MB more a minute while idle, as the
analysis re-ran). A fixed threshold keeps every block of 4 MiB or more in its own mapping.

Why 4 MiB (bench/rss_requests.py, 2026-12-06, two rounds each, alternately: RSS at the end,
process CPU for 240 ticks of 5,850 requests and 120 idle): glibc's default 493 / 486 MB, 42.7
/ 45.3 s; 4 MiB 325 / 328 MB, 45.5 / 45.7 s; 1 MiB 324 / 326 MB, 57.0 / 55.9 s — a fresh
mapping is zeroed page by page, and below 4 MiB that is paid for every tick's temporaries;
8 MiB (one round) left the analysis's 8 MB temporaries in the heap: 380 MB.
"""

from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 4 << 20


def fixed_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's threshold at `size`; False where there is no glibc to ask (or it refused)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, size))
    except (OSError, AttributeError):  # no C library to load, or one without mallopt
        return False
