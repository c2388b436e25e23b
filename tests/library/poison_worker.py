"""Run the job loop with a captioner that kills its own process on one file (a "poison" file
that crashes the decoder), as the crash-limit test needs.

Usage: python poison_worker.py DB_PATH POISON_FILE_NAME BATCH_SIZE
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.library import Library, run_jobs
from tests.library.fakes import FakeCaptioner


class PoisonedCaptioner(FakeCaptioner):
    poison: str = ""

    def caption(self, path):  # type: ignore[no-untyped-def]
        if Path(path).name == self.poison:
            os.kill(os.getpid(), signal.SIGKILL)  # what a segfault in a decoder looks like
        return super().caption(path)


def main() -> int:
    db, poison, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    captioner = PoisonedCaptioner()
    captioner.poison = poison
    with Library.open(db) as lib:
        summary = run_jobs(lib, captioner, batch_size=batch)
    print(f"finished {summary.captioned} {summary.failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
