#!/usr/bin/env bash
# Runs every check: ruff, the import-layer contracts, then pytest with real (virtual) devices.
#
# Sound: PortAudio reads its devices when sounddevice is imported, so the devices exist before pytest starts:
#   - an ALSA null sink as the default device (XDG_CONFIG_HOME/alsa/asoundrc; no daemon, not paced in real time);
#   - a JACK server with the dummy backend (paced in real time) for playback timing tests, when jackd is present.
# Qt runs offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if [ -z "${SKIP_LINT:-}" ]; then
  $BIN/ruff check musicsim_gui tests bench scripts
  $BIN/lint-imports
fi

scratch=$(mktemp -d)
mkdir -p "$scratch/xdg/alsa"
cat > "$scratch/xdg/alsa/asoundrc" <<ALSA
pcm.!default { type plug slave.pcm "nullsink" hint.description "Default (null sink)" }
pcm.nullsink { type null hint.description "Null sink" }
ALSA
export XDG_CONFIG_HOME="$scratch/xdg"
export QT_QPA_PLATFORM=offscreen
export MUSICSIM_DATA_DIR="$scratch/data"
export PYTHONFAULTHANDLER=1

jack_pid=""
cleanup() {
  [ -n "$jack_pid" ] && kill "$jack_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
if command -v jackd >/dev/null 2>&1; then
  export JACK_NO_AUDIO_RESERVATION=1
  export JACK_DEFAULT_SERVER="musicsim-test-$$"  # a private server: concurrent runs must not share one
  jack_mode=--no-realtime
  if chrt -f 1 true 2>/dev/null; then  # real-time scheduling allowed: pace like a studio machine does
    jack_mode=--realtime
    export MUSICSIM_TEST_JACK_RT=1
  fi
  # -t: client timeout (ms); a long one keeps a busy machine from timing out PortAudio's client at exit,
  # which pa_jack answers with an assertion failure
  jackd -n "$JACK_DEFAULT_SERVER" "$jack_mode" -t 2000 -d dummy -r 48000 -p 256 >"$scratch/jackd.log" 2>&1 &
  jack_pid=$!
  for _ in $(seq 50); do
    if jack_lsp >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  export MUSICSIM_TEST_JACK=1
fi

$BIN/python -m pytest "$@"
