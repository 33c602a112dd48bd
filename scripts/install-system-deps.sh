#!/usr/bin/env bash
# Install the Debian packages the Python ones need, only those missing: as root directly,
# otherwise through sudo. Called by `make install`; safe to run again.
#   libzbar0     pyzbar's shared library (the second QR decoder)
#   postgresql   a real server for the collector's PostgreSQL tests
#   chromium     headless browser for the pages' tests (driven by Playwright, never its own build)
#   fonts-noto-cjk  Chinese glyphs, so pages are laid out and photographed as on a device
#   shellcheck   checks the install scripts in the tests
#   espeak-ng    makes the spoken prompts (Mandarin voice cmn, English en) as WAV files
#   alsa-utils   aplay, which plays them through the sound card
set -euo pipefail

packages=(libzbar0 postgresql chromium fonts-noto-cjk shellcheck espeak-ng alsa-utils)
if [ "${1:-}" = "--runtime" ]; then
  packages=(libzbar0 espeak-ng alsa-utils)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-system-deps: not a Debian-like system; install ${packages[*]} yourself." >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-system-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
