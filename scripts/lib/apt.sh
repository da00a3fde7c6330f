# shellcheck shell=bash
# Sourced by scripts/*.sh. Installs Debian packages only when missing.
#
#   apt_ensure PKG...   install the PKGs that are not installed yet; runs
#                       `apt-get update` at most once per shell, and only when
#                       something has to be installed.

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=${APT_UPDATED:-}

apt_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep "install ok installed" >/dev/null
}

apt_ensure() {
    local missing=() pkg sudo=()
    for pkg in "$@"; do
        apt_installed "$pkg" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "apt: installing ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then
        "${sudo[@]}" apt-get update -qq
        APT_UPDATED=1
    fi
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}
