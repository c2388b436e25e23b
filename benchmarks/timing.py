"""What every benchmark records, torch-free: the machine it ran on and latency percentiles.

``machine_info`` gives one set of keys for every result file (the torch-based scripts add the
device, torch and transformers fields on top, in ``benchmarks.common``), so results from
different scripts and machines compare field by field.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_average", "machine_info", "percentiles"]


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (other work sharing the CPUs), when known."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python, SQLite and numpy versions, load at the start."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "numpy": np.__version__,
        "load_average_at_start": load_average(),
    }
    with contextlib.suppress(OSError, ValueError, AttributeError):
        info["ram_gib"] = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    return info


def percentiles(samples_ms: list[float], digits: int = 3) -> dict[str, float]:
    """Median, 95th percentile and maximum of latencies in milliseconds, and their count."""
    ms = np.asarray(samples_ms, dtype=np.float64)
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), digits),
        "p95_ms": round(float(np.percentile(ms, 95)), digits),
        "max_ms": round(float(ms.max()), digits),
        "count": int(ms.size),
    }
