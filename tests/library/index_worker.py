"""Run the index loop with a slow fake indexer; the kill test pulls the plug mid-run.

Usage: python index_worker.py DB_PATH DELAY_SECONDS
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.library import JobEvent, Library, run_index_jobs
from tests.library.fakes import FakeIndexer


def main() -> int:
    db, delay = sys.argv[1], float(sys.argv[2])

    def on_event(event: JobEvent) -> None:
        if event.kind == "indexed":
            print(f"indexed {event.file_id}", flush=True)

    with Library.open(db) as lib:
        summary = run_index_jobs(lib, FakeIndexer(delay=delay), batch_size=4, on_event=on_event)
    print(f"finished {summary.indexed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
