#!/usr/bin/env bash
# Provision a gate: make its device key (Ed25519, signs its uploads) and the setup page's
# certificate (printing its fingerprint), and print what to register
# at the collector. Run once per device, as root on the device, after install-pi.sh.
#
#   scripts/provision.sh [--config FILE] [--id DEVICE_ID] [--out KEYFILE] [--gate BIN] [--force]
#
# The device id and key path default to the configuration's device.id and device.key
# (/etc/gate/gate.toml). An existing key is kept (its registration line printed again) unless
# --force: a new key must be registered at the collector before the gate's uploads are accepted.
set -euo pipefail

config=/etc/gate/gate.toml
device_id=""
key=""
gate_bin=""
force=0

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "provision: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || die "--config needs a file."; config=$2; shift 2 ;;
    --id) [ $# -ge 2 ] || die "--id needs a device id."; device_id=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a key file."; key=$2; shift 2 ;;
    --gate) [ $# -ge 2 ] || die "--gate needs the gate command's path."; gate_bin=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1'; see --help." ;;
  esac
done

if [ -z "$gate_bin" ]; then
  if [ -x /opt/gate/venv/bin/gate ]; then
    gate_bin=/opt/gate/venv/bin/gate
  elif command -v gate >/dev/null 2>&1; then
    gate_bin=$(command -v gate)
  else
    die "no gate command found: run install-pi.sh first, or pass --gate PATH."
  fi
fi

# Read what was not given from the configuration (gate config show --json).
if [ -z "$device_id" ] || [ -z "$key" ]; then
  [ -r "$config" ] || die "cannot read $config: pass --id and --out, or --config FILE."
  settings=$("$gate_bin" config show --json --config "$config") ||
    die "the configuration $config is not valid: check it with gate config validate."
  read_setting() {
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])["device"][sys.argv[2]])' \
      "$settings" "$1"
  }
  [ -n "$device_id" ] || device_id=$(read_setting id)
  [ -n "$key" ] || key=$(read_setting key)
fi

key_name=$(basename "$key")
public="$(dirname "$key")/${key_name%.*}.pem"  # as gate keys new: the key file's name, suffix .pem
if [ -e "$key" ] && [ "$force" -eq 0 ]; then
  echo "provision: keeping the existing device key $key (--force makes a new one)."
else
  [ -e "$key" ] && rm -f "$key" "$public"
  mkdir -p "$(dirname "$key")"
  "$gate_bin" keys new device --out "$key" >/dev/null
  echo "provision: made the device key $key (public key: $public)."
fi
[ -r "$public" ] || die "no public key beside the device key (expected $public)."

# The key is the gate's: readable by the gate service's group, by no one else.
if [ "$(id -u)" -eq 0 ] && getent group gate >/dev/null 2>&1; then
  chgrp gate "$key"
  chmod 0640 "$key"
fi

# The setup page's self-signed certificate, beside the device key (kept if there is one);
# its key belongs to the setup service's user.
"$gate_bin" setup cert --dir "$(dirname "$key")"
if [ "$(id -u)" -eq 0 ] && id gate-setup >/dev/null 2>&1; then
  chown gate-setup:gate "$(dirname "$key")/setup-key.pem"
  chmod 0600 "$(dirname "$key")/setup-key.pem"
fi

spki=$(grep -v -- '-----' "$public" | tr -d '\n')
cat <<EOF

Register this gate at the collector (on the collector's host):

  gate collector add-device $device_id $spki

device id:  $device_id
public key: $public
EOF
