#!/usr/bin/env bash
# Make the demo trust anchor, demo issuers and a signed demo trust folder under keys/demo/.
# Demo keys only: they are committed so `make demo` works offline; never trust them on a gate.
set -euo pipefail
cd "$(dirname "$0")/.."
gate=${GATE:-.venv/bin/gate}
out=keys/demo
rm -rf "$out"
mkdir -p "$out/trust/anchors"
"$gate" keys new anchor --out "$out/anchor.demo.key" >/dev/null
"$gate" keys new issuer --out "$out/issuer-cn-jx.demo.key" >/dev/null
"$gate" keys new issuer --alg ES256 --out "$out/issuer-cn-zj-sx.demo.key" >/dev/null
cp "$out/anchor.demo.pem" "$out/trust/anchors/demo-anchor.pem"
issued=$(date +%s)
"$gate" keys trustlist --anchor "$out/anchor.demo.key" --out "$out/trust/trustlist.json" --version 1 \
  --issued-at "$issued" --valid-days 3650 --key-years 20 \
  --issuer "CN-JX=$out/issuer-cn-jx.demo.pem" --issuer "CN-ZJ-SX=$out/issuer-cn-zj-sx.demo.pem"
"$gate" keys statuslist --anchor "$out/anchor.demo.key" --out "$out/trust/statuslist.json" --version 1 \
  --issued-at "$issued"
# the other credentials (issue 22): a demo DSC, a demo SHC issuer, the salt; re-signs the trust list
GATE="$gate" "$(dirname "$gate")/python" scripts/make-demo-credentials.py
