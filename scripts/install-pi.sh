#!/usr/bin/env bash
# Install the gate on a Raspberry Pi running Raspberry Pi OS (Bookworm), as root:
#
#   sudo scripts/install-pi.sh [--dry-run] [--force-config] [--device-id ID] VENUE_TYPE
#
# VENUE_TYPE picks the example configuration firmware_config/VENUE_TYPE.toml: residential,
# public_place, metro, bus_taxi or special_place. Steps: system packages; the service users
# (gate: groups gpio, i2c, video; gate-screen for the screen; gate-setup, group gate, for the
# setup page, whose unit is enabled but serves nothing until [setup] enabled = true); a virtualenv under /opt/gate
# with this project; /etc/gate/gate.toml from the example (an existing one is kept unless
# --force-config; --device-id sets its device.id); I2C and the camera switched on; boot to
# the console (the screen is Chromium in cage on tty1); the device key (scripts/provision.sh);
# the systemd units installed, enabled and started.
#
# --dry-run prints every step ("+ command") without doing any of it, and needs no root.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The venue types are gate.vocabulary's (the one list; it needs nothing but Python to read).
read -r -a venues < <(PYTHONPATH="$src" python3 -c 'from gate.vocabulary import VENUE_TYPES; print(*VENUE_TYPES)') \
  || { echo "install-pi: cannot read the venue types from $src/gate/vocabulary.py with python3" >&2; exit 2; }
packages=(python3-venv python3-pip libzbar0 python3-picamera2 i2c-tools chromium-browser cage
  fonts-wqy-zenhei espeak-ng alsa-utils)
units=(gate-kiosk.service gate-sync.service gate-display.service gate-setup.service)
prefix=/opt/gate
confdir=/etc/gate
unitdir=/etc/systemd/system

dry_run=0
force_config=0
device_id=""
venue=""

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "install-pi: $*" >&2
  exit 2
}

# Print a step, then do it (only print it with --dry-run).
run() {
  printf '+ %s\n' "$*"
  if [ "$dry_run" -eq 0 ]; then
    "$@"
  fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1; shift ;;
    --force-config) force_config=1; shift ;;
    --device-id) [ $# -ge 2 ] || die "--device-id needs an id."; device_id=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1'; see --help." ;;
    *) [ -z "$venue" ] || die "one venue type only, not '$venue' and '$1'."; venue=$1; shift ;;
  esac
done

[ -n "$venue" ] || die "name the venue type: one of ${venues[*]}."
known=0
for v in "${venues[@]}"; do
  [ "$v" = "$venue" ] && known=1
done
[ "$known" -eq 1 ] || die "unknown venue type '$venue'; use one of ${venues[*]}."
example="$src/firmware_config/$venue.toml"
[ -r "$example" ] || die "no example configuration $example in this checkout."
if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo), or with --dry-run to see the steps."
fi

echo "== system packages"
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

echo "== users and groups"
for group in gpio i2c video render input audio; do
  if ! getent group "$group" >/dev/null 2>&1; then
    run groupadd --system "$group"
  fi
done
if id gate >/dev/null 2>&1; then
  run usermod --append --groups gpio,i2c,video,audio gate
else
  run useradd --system --user-group --home-dir /var/lib/gate --no-create-home \
    --shell /usr/sbin/nologin --groups gpio,i2c,video,audio gate
fi
if ! id gate-setup >/dev/null 2>&1; then
  run useradd --system --gid gate --home-dir /var/lib/gate-setup --no-create-home \
    --shell /usr/sbin/nologin gate-setup
fi
if id gate-screen >/dev/null 2>&1; then
  run usermod --append --groups video,render,input gate-screen
else
  run useradd --system --user-group --home-dir /var/lib/gate-screen --no-create-home \
    --shell /usr/sbin/nologin --groups video,render,input gate-screen
fi

echo "== the gate software in $prefix/venv"
# system site packages: picamera2 and libcamera come from Raspberry Pi OS, not from PyPI
run install -d -m 0755 "$prefix"
run python3 -m venv --system-site-packages "$prefix/venv"
run "$prefix/venv/bin/pip" install --quiet --upgrade pip
run "$prefix/venv/bin/pip" install --quiet "$src"
run install -m 0644 "$src/README.md" "$prefix/README.md"

echo "== configuration in $confdir"
# group gate may write $confdir so the setup page can replace gate.toml; the kiosk and sync units
# see /etc read-only (ProtectSystem=strict)
run install -d -m 0770 -o root -g gate "$confdir"
run install -d -m 0750 -o root -g gate "$confdir/keys"
run install -d -m 0750 -o gate -g gate "$confdir/keys/trust"
if [ -e "$confdir/gate.toml" ] && [ "$force_config" -eq 0 ]; then
  echo "keeping the existing $confdir/gate.toml (--force-config replaces it with the $venue example)"
else
  run install -m 0640 -o root -g gate "$example" "$confdir/gate.toml"
fi
if [ -n "$device_id" ]; then
  run "$prefix/venv/bin/gate" config set device.id "$device_id" --config "$confdir/gate.toml"
fi

echo "== I2C, the camera, boot to the console"
if command -v raspi-config >/dev/null 2>&1 || [ "$dry_run" -eq 1 ]; then
  run raspi-config nonint do_i2c 0
  # Bookworm finds the camera by itself (camera_auto_detect=1); older releases need do_camera
  run raspi-config nonint do_camera 0 ||
    echo "raspi-config has no camera switch here: the camera is detected at boot"
  # console, no autologin: the screen is gate-display.service on tty1, not a desktop session
  run raspi-config nonint do_boot_behaviour B1
else
  echo "no raspi-config: switch on I2C and the camera yourself (not Raspberry Pi OS?)"
fi

echo "== the device key"
run "$src/scripts/provision.sh" --config "$confdir/gate.toml" --gate "$prefix/venv/bin/gate"

echo "== systemd units"
for unit in "${units[@]}"; do
  run install -m 0644 "$src/systemd/$unit" "$unitdir/$unit"
done
run systemctl daemon-reload
run systemctl enable --now "${units[@]}"

cat <<EOF
== done. Next:
  edit $confdir/gate.toml (venue.id, collector.url, pins) and check it: $prefix/venv/bin/gate config validate
  after changing device.id, print the collector registration again: $src/scripts/provision.sh
  watch the gate: journalctl -fu gate-kiosk; check it: $prefix/venv/bin/gate doctor
  the setup page: $prefix/venv/bin/gate setup passwd --config $confdir/gate.toml, then
    gate config set setup.enabled true --config $confdir/gate.toml; systemctl restart gate-setup
EOF
