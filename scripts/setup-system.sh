#!/usr/bin/env bash
# Installs the Debian packages MuSiC Studio needs, only those missing. Safe to run again.
#   libportaudio2            sound output (sounddevice)
#   libxcb-icccm4/keysyms1   Qt's xcb platform plugin on X11
#   xvfb                     a virtual screen for screenshots and for running the studio without a display
#   jackd2                   a JACK dummy backend: a real-time paced sound device for the playback tests
#   libfluidsynth3           SoundFont synthesis for the synthetic corpus
#   fluid-soundfont-gm       the General MIDI SoundFont the corpus renders with
set -euo pipefail
packages=(libportaudio2 libxcb-icccm4 libxcb-keysyms1 xvfb jackd2 libfluidsynth3 fluid-soundfont-gm)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "MuSiC Studio needs these Debian packages: ${missing[*]} (run this script as root)" >&2; exit 1
  fi
else SUDO=""; fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
