"""Write a new vector-index generation and stop dead part-way; the killed-writer tests run this.

Usage: python vector_writer.py DB_PATH FOLDER MODEL_ID DIM STAGE
STAGE says where the write stops: ``keys`` (first part written, the rest not), ``graph``
(graph file half written), ``manifest`` (new manifest half written, not yet renamed). At that
point it prints ``paused`` (flushed) and sleeps until the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from desktop.library import Library
from desktop.library.vectors import VectorIndex, VectorIndexConfig, _build, _files


def _pause() -> None:
    print("paused", flush=True)
    time.sleep(600)


def main() -> int:
    db, folder, model_id, dim, stage = sys.argv[1:6]
    real_npy, real_ann = _build.write_npy, _build.write_ann

    def write_npy(path: Path, array: Any) -> None:
        real_npy(path, array)
        if stage == "keys":
            _pause()

    def write_ann(path: Path, graph: Any) -> None:
        real_ann(path, graph)
        if stage == "graph":
            with path.open("r+b") as f:
                f.truncate(path.stat().st_size // 2)
            _pause()

    def write_manifest(folder: Path, manifest: _files.Manifest) -> None:
        if stage == "manifest":
            tmp = folder / f"{_files.model_key(manifest.model_id)}.json.deadbeef.tmp"
            text = manifest.to_json()
            tmp.write_text(text[: len(text) // 2])
            _pause()
        _files.write_manifest(folder, manifest)

    _build.write_npy = write_npy  # type: ignore[assignment]
    _build.write_ann = write_ann  # type: ignore[assignment]
    _build.write_manifest = write_manifest  # type: ignore[assignment]
    config = VectorIndexConfig(exact_below=50, delta_max=0, threads=1)
    with Library.open(db) as lib:
        index = VectorIndex.open(folder, model_id, int(dim), config)
        index.sync(lib.connection)  # delta_max=0: any change is written as a new generation
    print("finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
