#!/usr/bin/env bash
# Set up (when needed) and launch the Earmark desktop app. Arguments go to the app.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/python main.py "$@"
