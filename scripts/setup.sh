#!/usr/bin/env bash
# Set up KMRecon on a fresh Debian machine: Qt's system libraries (apt), then the package
# and its test tools (pip). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# Shared libraries PySide6 (Qt 6) loads even offscreen; Debian package names.
QT_LIBS="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0"
# ... and what the xcb platform plugin (a real X display) loads: without libxcb-icccm4 and
# libxcb-keysyms1 the app aborts with "Could not load the Qt platform plugin xcb".
# Check: ldd $(python3 -c 'import PySide6,os;print(os.path.dirname(PySide6.__file__))')/Qt/plugins/platforms/libqxcb.so
QT_LIBS="$QT_LIBS libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1
  libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1"
missing=()
for pkg in $QT_LIBS; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing system libraries: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$PYTHON" -m pip install -q --disable-pip-version-check -e ".[test]"
echo "setup: done"
