#!/usr/bin/env bash
# Opt-in faithfulness check of the Spleeter port against TensorFlow (not part of the default test run).
#
# Creates a separate virtual environment with TensorFlow and tf-keras from PyPI (VENV, default
# /tmp/spleeter-tf-venv), builds Spleeter's graph with random weights at full size (STEMS, default 5; set
# SIXTEEN_KHZ=1 for F=1536), saves a real TensorFlow checkpoint, then converts it with the project's code
# and prints the max abs error of masks and stems (ratio masks, and the multichannel Wiener filter).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-/tmp/spleeter-tf-venv}
STEMS=${STEMS:-5}
WORK=${WORK:-$(mktemp -d)}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  nice -n 10 "$VENV/bin/pip" install -q tensorflow-cpu tf-keras norbert
fi
F=1024
[ -n "${SIXTEEN_KHZ:-}" ] && F=1536
mkdir -p "$WORK/${STEMS}stems"
nice -n 10 "$VENV/bin/python" tests/faithfulness/spleeter_tf_graph.py "$WORK/${STEMS}stems" --stems "$STEMS" --F "$F" --meta --mwf
nice -n 10 .venv/bin/python tests/faithfulness/spleeter_tf_check.py "$WORK/${STEMS}stems" --F "$F"
