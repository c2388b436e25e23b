#!/usr/bin/env bash
# Set up everything Earmark needs on a Debian/Ubuntu machine; safe to run again, fast the
# second time. Sourced by run-app.sh and run-tests.sh; may be run on its own.
#   - system libraries (PortAudio for playback, the X/EGL libraries Qt needs, Java for METEOR)
#   - a virtual environment in .venv with Earmark and its dev + eval extras
# Set EARMARK_TORCH_INDEX (e.g. https://download.pytorch.org/whl/cpu) to choose a torch build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV=".venv"
SYSTEM_PACKAGES=(libportaudio2 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
  libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0
  # Metadata tests: independent readers (exiftool, mediainfo) and an encoder for every format.
  libimage-exiftool-perl mediainfo ffmpeg
  # Packaging tests: validators for the .desktop entry and the AppStream metainfo.
  desktop-file-utils appstream)
command -v java >/dev/null 2>&1 || SYSTEM_PACKAGES+=(openjdk-17-jre-headless)

install_system_packages() {
  command -v apt-get >/dev/null 2>&1 || {
    echo "setup: not a Debian/Ubuntu system; install PortAudio and Qt's X libraries yourself" >&2
    return 0
  }
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local stamp="$VENV/.earmark-installed" index_stamp="$VENV/.earmark-torch-index"
  local index="${EARMARK_TORCH_INDEX:-}" want
  # The torch index is part of what was installed: choosing another one reruns the install.
  want="$( { cat pyproject.toml scripts/setup.sh; printf 'torch-index=%s\n' "$index"; } |
    sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "setup: installing Python packages into $VENV (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  local extra=()
  [ -n "$index" ] && extra+=(--extra-index-url "$index")
  # An installed torch satisfies the requirement whatever its build, so pip would keep it:
  # after the index changed (or was first set on an older set-up), reinstall torch from it.
  if [ -f "$stamp" ] && [ "$(cat "$index_stamp" 2>/dev/null)" != "$index" ]; then
    echo "setup: EARMARK_TORCH_INDEX changed; reinstalling torch from ${index:-PyPI}"
    local torch_req
    torch_req="$(grep -o '"torch[^"]*"' pyproject.toml | head -n 1 | tr -d '"')"
    "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "${extra[@]}" "$torch_req"
  fi
  "$VENV/bin/python" -m pip install -q "${extra[@]}" -e ".[dev,eval]"
  printf '%s\n' "$index" >"$index_stamp"
  echo "$want" >"$stamp"
}

install_system_packages
install_python_packages
