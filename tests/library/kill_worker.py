"""Run the job loop on a library with a slow fake captioner; the kill test runs this.

Usage: python kill_worker.py DB_PATH DELAY_SECONDS
Prints ``captioned FILE_ID`` after each committed caption (flushed), so the test knows when
to pull the plug.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.library import JobEvent, Library, run_jobs
from tests.library.fakes import FakeCaptioner


def main() -> int:
    db, delay = sys.argv[1], float(sys.argv[2])

    def on_event(event: JobEvent) -> None:
        if event.kind == "captioned":
            print(f"captioned {event.file_id}", flush=True)

    with Library.open(db) as lib:
        summary = run_jobs(lib, FakeCaptioner(delay=delay), on_event=on_event)
    print(f"finished {summary.captioned}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
