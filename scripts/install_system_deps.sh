#!/usr/bin/env bash
# Installs the Debian packages facecast needs, only those that are missing. Needs root (or sudo) and apt-get;
# elsewhere it says what to install by hand and carries on.
set -euo pipefail
# ffmpeg: the lip-sync yardstick; espeak-ng, flite, festival and its voices: phoneme timings and the corpus
# nginx: the gRPC proxy in front of daemon replicas (deploy/nginx/facecast.conf, tests/test_daemon_replicas.py);
# installing it starts no service where policy-rc.d forbids it (containers), elsewhere stop it if unwanted
packages=(ffmpeg espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts nginx)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "install these system packages by hand: ${missing[*]}" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
