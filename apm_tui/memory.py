"""Give freed big arrays back to the system (glibc).

glibc serves a block of 128 KiB or more with its own mapping, returned on free, but raises that
threshold to the size of each such block freed, up to 32 MiB. Once a window's column (≈ 10 MB
at a million requests) has been copied to a bigger one and freed, every array below that size
comes from the heap instead, and a heap's free space goes back only from its top: the copies
and a full analysis's temporaries stayed in the process (RSS 500–550 MB at the window's million
requests against 330 MB with the threshold fixed, and ≈ 5 MB more a minute while idle, as the
analysis re-ran). A fixed threshold keeps every block of 1 MiB or more in its own mapping.
"""

from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 1 << 20


def fixed_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's threshold at `size`; False where there is no glibc to ask (or it refused)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, size))
    except (OSError, AttributeError):  # no C library to load, or one without mallopt
        return False
