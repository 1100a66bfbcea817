#!/usr/bin/env bash
# Install the Debian packages trackwright needs, if any are missing.
#
#   scripts/install-system-deps.sh [EXTRA_PACKAGE ...]
#
# Uses apt-get directly when run as root, `sudo -n` otherwise; if neither is possible it prints
# the one command to run and exits 1. Quick and silent when everything is already installed.
set -euo pipefail

# FluidSynth renders MIDI; fluid-soundfont-gm is the General MIDI SoundFont it plays.
PACKAGES=(fluidsynth fluid-soundfont-gm "$@")
PYTHON="${PYTHON:-python3}"

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
# `python3 -m venv` needs ensurepip, which Debian ships separately (python3.X-venv).
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    missing+=("python${version}-venv")
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system packages present: ${PACKAGES[*]}"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages (${missing[*]}) and no apt-get here; install them with your package manager" >&2
    exit 1
fi

if [[ $(id -u) -eq 0 && -z "${TRACKWRIGHT_FORCE_NO_ROOT:-}" ]]; then
    as_root=()
elif [[ -z "${TRACKWRIGHT_FORCE_NO_ROOT:-}" ]] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "error: missing system packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
