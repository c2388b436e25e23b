"""Scan a library slowly, printing each file; the kill tests pull the plug mid-scan.

Usage: python scan_worker.py DB_PATH DELAY_SECONDS
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.library import Library, ScanProgress


def main() -> int:
    db, delay = sys.argv[1], float(sys.argv[2])

    def progress(p: ScanProgress) -> None:
        print(f"seen {p.seen}", flush=True)
        time.sleep(delay)  # a slow disk (kill tests only), not a timing wait

    with Library.open(db) as lib:
        report = lib.scan(progress=progress)
    print(f"finished moved={report.moved} missing={report.missing}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
