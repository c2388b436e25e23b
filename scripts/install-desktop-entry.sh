#!/usr/bin/env bash
# Add Earmark to the desktop menu of the current user: the .desktop entry, the icons (hicolor
# theme) and the AppStream metainfo, under ${XDG_DATA_HOME:-~/.local/share}. Run again to update;
# remove with --uninstall.
#   bash scripts/install-desktop-entry.sh            from a checkout: starts .venv/bin/earmark-gui
#   dist/Earmark/install-desktop-entry.sh            from the bundle: starts dist/Earmark/Earmark
#   ... --exec COMMAND                               start COMMAND instead
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
APP_ID="io.github.earmark.Earmark"
data="${XDG_DATA_HOME:-$HOME/.local/share}"

if [ -d "$here/_internal/desktop/resources" ]; then  # inside the one-folder bundle
  res="$here/_internal/desktop/resources" exec_cmd="$here/Earmark"
else  # scripts/ of a checkout
  res="$here/../desktop/resources" exec_cmd="$(cd "$here/.." && pwd)/.venv/bin/earmark-gui"
fi
case "${1:-}" in
  --exec) exec_cmd="${2:?--exec needs a command}" ;;
  --uninstall)
    rm -f "$data/applications/$APP_ID.desktop" "$data/metainfo/$APP_ID.metainfo.xml" \
      "$data/icons/hicolor/scalable/apps/$APP_ID.svg" "$data"/icons/hicolor/*/apps/"$APP_ID.png"
    echo "install-desktop-entry: removed Earmark's menu entry and icons from $data"
    exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--exec COMMAND | --uninstall]" >&2; exit 2 ;;
esac

# The desktop entry spec's Exec quoting: a path with spaces goes in double quotes, % doubles;
# the characters that would need escaping twice are refused rather than half-escaped.
case "$exec_cmd" in *[\"\`\$\\]*)
  echo "install-desktop-entry: cannot write $exec_cmd into a .desktop entry (it holds \\, \", \$" \
    "or a backquote); move Earmark or use --exec" >&2
  exit 2 ;;
esac
quoted="${exec_cmd//%/%%}"
case "$exec_cmd" in *[[:space:]]*) quoted="\"$quoted\"" ;; esac

install -Dm644 "$res/$APP_ID.svg" "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
for png in "$res"/icons/*/"$APP_ID.png"; do
  size="$(basename "$(dirname "$png")")"
  install -Dm644 "$png" "$data/icons/hicolor/$size/apps/$APP_ID.png"
done
install -Dm644 "$res/$APP_ID.metainfo.xml" "$data/metainfo/$APP_ID.metainfo.xml"
mkdir -p "$data/applications"
while IFS= read -r line; do
  case "$line" in
    Exec=*) printf 'Exec=%s\n' "$quoted" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$res/$APP_ID.desktop" >"$data/applications/$APP_ID.desktop"
echo "install-desktop-entry: Earmark is in the menu (starts $exec_cmd)"
