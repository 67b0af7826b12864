#!/usr/bin/env bash
# Extract the face models facecast uses from the mediapipe 0.10.21 wheel (Apache-2.0) into
# core/facecast/models/face/. The models are small (2.1 MB) and committed, so a plain `pip install` works
# offline; this script re-creates them (and checks their checksums) when they are missing.
# mediapipe itself is never installed: only its wheel is downloaded and unpacked.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/core/facecast/models/face"
python="${PYTHON:-$root/.venv/bin/python}"
models=(
  mediapipe/modules/face_detection/face_detection_short_range.tflite
  mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite
  mediapipe/modules/face_landmark/face_landmark.tflite
)
mkdir -p "$dest"
if ! (cd "$dest" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$python" -m pip download --quiet --no-deps --only-binary=:all: mediapipe==0.10.21 \
    --platform manylinux_2_28_x86_64 --python-version 3.11 -d "$tmp"
  "$python" - "$tmp" "$dest" "${models[@]}" <<'PY'
import glob, os, sys, zipfile
tmp, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "mediapipe-0.10.21-*.whl"))[0]) as wheel:
    for name in names:
        target = os.path.join(dest, os.path.basename(name))
        with wheel.open(name) as src, open(target + ".part", "wb") as out:
            out.write(src.read())
        os.replace(target + ".part", target)
PY
  (cd "$dest" && sha256sum -c SHA256SUMS)
fi
echo "face models in $dest"
