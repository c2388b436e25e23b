#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller: dist/Earmark/ (Linux x86-64 tested).
#   dist/Earmark/Earmark               the app (same options as main.py)
#   dist/Earmark/Earmark --cli ARGS    the earmark command (earmark caption, library, ...)
#   dist/Earmark/install-desktop-entry.sh   adds the bundle to the desktop menu
# Needs PyInstaller in the environment (pip install -e ".[bundle]"); takes minutes and ~1 GB.
# Usage: bash scripts/build-bundle.sh [--check]
#   --check  afterwards run packaging/check_bundle.py: a screenshot and one caption with tiny
#            random-weight models, both through the bundle, from outside the source tree;
#            sizes and times go to benchmarks/results/bundle.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -c "import PyInstaller" 2>/dev/null || {
  echo "build-bundle: PyInstaller is missing; run: $PYTHON -m pip install -e '.[bundle]'" >&2
  exit 2
}

start=$(date +%s)
# The source tree first on the path, so the bundle holds this checkout's code even when another
# checkout is installed in the environment (an editable install).
PYTHONPATH="$PWD" nice -n 10 "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/earmark.spec
# Beside the executable, it finds the bundle's icons and desktop files under _internal/.
install -m 755 scripts/install-desktop-entry.sh dist/Earmark/
took=$(( $(date +%s) - start ))
echo "build-bundle: dist/Earmark built in $took s, $(du -sh dist/Earmark | cut -f1) on disk"

if [ "${1:-}" = "--check" ]; then
  "$PYTHON" packaging/check_bundle.py dist/Earmark --build-seconds "$took" \
    --json benchmarks/results/bundle.json
fi
