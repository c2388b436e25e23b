"""Claim one job and hold it until killed (a live run in another process).

Usage: python claim_worker.py DB_PATH
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.library import Library


def main() -> int:
    with Library.open(sys.argv[1]) as lib:
        (job,) = lib.claim_jobs(1)
        print(f"claimed {job.id}", flush=True)
        while True:
            time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
