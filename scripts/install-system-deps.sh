#!/usr/bin/env bash
# Install the Debian packages trackwright needs, if any are missing.
#
#   scripts/install-system-deps.sh [--python PYTHON] [EXTRA_PACKAGE ...]
#
# Quick and quiet when everything is already installed (one line: "system packages present").
# Otherwise installs what is missing with apt-get when run as root, with `sudo -n` when sudo works
# without a password, and if neither is possible prints which packages are missing and the one
# command to run as root, and exits 1.
#
#   --python PYTHON   also make sure PYTHON can create virtual environments (Debian ships
#                     `venv`/`ensurepip` separately, as python3.X-venv); the Makefile passes this
#                     only when .venv does not exist yet.
#   EXTRA_PACKAGE     more Debian packages to require.
#
# Environment (for testing): TRACKWRIGHT_SYSDEPS_NO_ROOT=1 behaves as if neither root nor sudo
# were available; TRACKWRIGHT_SYSDEPS_DRY_RUN=1 prints the apt-get commands instead of running them.
set -euo pipefail

# Required: FluidSynth renders MIDI; fluid-soundfont-gm is the General MIDI SoundFont it plays;
# chromium (headless) is the real browser the report tests look through, and fonts-liberation
# gives it fonts to draw text with (only a Recommends of chromium, which --no-install-recommends
# skips; fresh containers have no fonts at all).
REQUIRED_PACKAGES=(fluidsynth fluid-soundfont-gm chromium fonts-liberation)
# Instrument presets (ms-strings, ms-choir…) use MuseScore General; drum layering uses Hydrogen's kits.
REQUIRED_PACKAGES+=(musescore-general-soundfont hydrogen-drumkits)
# Optional: installed when something is being installed anyway (or when we can), never fatal.
# The soundfile wheels bundle their own libsndfile, so this is only a fallback.
OPTIONAL_PACKAGES=(libsndfile1)
# The FMOD Studio script export is tested by running it under node against a stand-in of FMOD's API
# (the test skips without node).
OPTIONAL_PACKAGES+=(nodejs)
# Files that prove a package is usable even if dpkg does not know it (installed another way).
SOUNDFONT=/usr/share/sounds/sf2/FluidR3_GM.sf2

python=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --python) python="${2:?--python needs a value}"; shift 2 ;;
        --python=*) python="${1#--python=}"; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        -*) echo "error: unknown option $1 (see $0 --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
REQUIRED_PACKAGES+=("$@")

dpkg_installed() {
    command -v dpkg-query >/dev/null 2>&1 || return 1
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

present() {
    case "$1" in
        fluidsynth) command -v fluidsynth >/dev/null 2>&1 ;;
        chromium) command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ;;
        fluid-soundfont-gm) [[ -f "$SOUNDFONT" ]] || dpkg_installed "$1" ;;
        hydrogen-drumkits) [[ -d /usr/share/hydrogen/data/drumkits ]] || dpkg_installed "$1" ;;
        *) dpkg_installed "$1" ;;
    esac
}

missing=()
for package in "${REQUIRED_PACKAGES[@]}"; do
    present "$package" || missing+=("$package")
done

# `python -m venv` needs the venv and ensurepip modules; Debian's python3.X-venv provides them.
venv_problem=""
if [[ -n "$python" ]] && ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    real=$(readlink -f "$("$python" -c 'import sys; print(sys.executable)')")
    if command -v dpkg >/dev/null 2>&1 && dpkg -S "$real" >/dev/null 2>&1; then
        missing+=("python${version}-venv")   # a Debian-packaged interpreter
    else
        venv_problem="$python ($real) cannot create virtual environments (no ensurepip module);
install its venv support, or run make with PYTHON=/usr/bin/python3"
    fi
fi

optional_missing=()
for package in "${OPTIONAL_PACKAGES[@]}"; do
    present "$package" || optional_missing+=("$package")
done

fail() {
    echo "error: $*" >&2
    exit 1
}

if [[ ${#missing[@]} -eq 0 && ${#optional_missing[@]} -eq 0 ]]; then
    [[ -z "$venv_problem" ]] || fail "$venv_problem"
    echo "system packages present"
    exit 0
fi

# How to run apt-get as root: directly, through passwordless sudo, or not at all.
as_root=""
if [[ -n "${TRACKWRIGHT_SYSDEPS_NO_ROOT:-}" ]]; then
    as_root=""
elif [[ $EUID -eq 0 ]]; then
    as_root="root"
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root="sudo"
fi
have_apt=""
command -v apt-get >/dev/null 2>&1 && have_apt=1

if [[ ${#missing[@]} -eq 0 && ( -z "$as_root" || -z "$have_apt" ) ]]; then
    # Only optional packages are missing and we cannot install them: fine.
    [[ -z "$venv_problem" ]] || fail "$venv_problem"
    echo "system packages present (optional, not installed: ${optional_missing[*]})"
    exit 0
fi

all_missing=("${missing[@]}" "${optional_missing[@]}")
root_command="apt-get update && apt-get install -y --no-install-recommends ${all_missing[*]}"

if [[ -z "$have_apt" ]]; then
    fail "missing system packages: ${missing[*]}.
This machine has no apt-get (not Debian/Ubuntu): install their equivalents with your package
manager (FluidSynth, a General MIDI SoundFont, Chromium); set TRACKWRIGHT_SOUNDFONT to the .sf2
file if it is not $SOUNDFONT."
fi

if [[ -z "$as_root" ]]; then
    fail "missing system packages: ${missing[*]}.
Installing them needs root, and this is neither root nor allowed to sudo without a password.
Run this as root (or prefix each apt-get with sudo), then run make again:
    $root_command"
fi

run_root() {
    local prefix=()
    [[ "$as_root" == "sudo" ]] && prefix=(sudo -n)
    if [[ -n "${TRACKWRIGHT_SYSDEPS_DRY_RUN:-}" ]]; then
        echo "would run: ${prefix[*]:+${prefix[*]} }DEBIAN_FRONTEND=noninteractive $*"
        return 0
    fi
    "${prefix[@]}" env DEBIAN_FRONTEND=noninteractive "$@"
}

has_candidate() {
    local policy
    policy=$(apt-cache policy "$1" 2>/dev/null || true)
    [[ "$policy" == *"Candidate: "[!\(]* ]]
}

# Refresh the package lists only when needed: none downloaded yet (fresh containers) or a
# required package has no candidate in them.
lists_stale() {
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || return 0
    local package
    for package in "${missing[@]}"; do
        has_candidate "$package" || return 0
    done
    return 1
}

apt_update() {
    run_root apt-get update -qq || fail "apt-get update failed; as root, run: $root_command"
    updated=1
}

updated=""
if lists_stale; then
    apt_update
fi
# Optional packages this release does not have are skipped, not fatal.
to_install=("${missing[@]}")
for package in "${optional_missing[@]}"; do
    has_candidate "$package" && to_install+=("$package")
done
if [[ ${#to_install[@]} -eq 0 ]]; then
    [[ -z "$venv_problem" ]] || fail "$venv_problem"
    echo "system packages present (optional, not available: ${optional_missing[*]})"
    exit 0
fi

via=""
[[ "$as_root" == "sudo" ]] && via=" (with sudo)"
echo "installing system packages${via}: ${to_install[*]}"
apt_install=(apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${to_install[@]}")
if ! run_root "${apt_install[@]}"; then
    # Stale lists can point at .debs the mirror no longer has: refresh once and retry.
    if [[ -n "$updated" ]]; then
        [[ ${#missing[@]} -gt 0 ]] || { echo "warning: could not install ${to_install[*]} (optional)" >&2; exit 0; }
        fail "apt-get install failed; as root, run: $root_command"
    fi
    apt_update
    if ! run_root "${apt_install[@]}"; then
        [[ ${#missing[@]} -gt 0 ]] || { echo "warning: could not install ${to_install[*]} (optional)" >&2; exit 0; }
        fail "apt-get install failed; as root, run: $root_command"
    fi
fi
[[ -z "$venv_problem" ]] || fail "$venv_problem"
