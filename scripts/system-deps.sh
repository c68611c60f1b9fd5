#!/usr/bin/env bash
# Install the Debian packages twin_app needs, only those that are missing.
#   scripts/system-deps.sh run    X/GL libraries Qt's xcb platform and VTK need
#   scripts/system-deps.sh test   the same plus xvfb, xauth and the mosquitto MQTT broker
set -euo pipefail
mode="${1:-run}"
pkgs=(libgl1 libegl1 libglx-mesa0 libgl1-mesa-dri libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
      libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
      libxcb-xkb1 libxrender1 libxi6 libfontconfig1 libdbus-1-3 libxt6)
if [ "$mode" = "test" ]; then
  pkgs+=(xvfb xauth mosquitto)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
if ! command -v apt-get >/dev/null; then
  echo "twin: error: apt-get not found; install these packages yourself: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
