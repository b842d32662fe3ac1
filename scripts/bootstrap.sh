#!/usr/bin/env bash
# Install what the project needs on a Debian 12 (or Ubuntu) machine, only
# what is missing: the Debian packages, then the project's virtualenv with the
# pinned Python dependencies. Safe to run again; `make` calls it.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Prints those of the Debian packages given that are not installed (none where
# dpkg is not there: not a Debian machine).
missing_packages() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
  done
}

# Installs the Debian packages given, quietly.
apt_install() {
  $SUDO apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Debian packages: venv support for the controller. The application's and the
# booted test hosts' tools come further down.
APT_PACKAGES=(python3-venv python3-dev gcc)

mapfile -t missing < <(missing_packages "${APT_PACKAGES[@]}")
# A Python built outside Debian (pyenv, python.org) brings venv and headers itself.
if [ "${#missing[@]}" -gt 0 ] && ! "$PYTHON" -c 'import ensurepip, venv, sysconfig, os; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' 2>/dev/null; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

# The application's tests and benchmark (tests/app, make app-bench) run their own
# Redis, MariaDB and nginx on free ports, so these are installed but must not run
# as system services: a policy-rc.d keeps apt from starting them, and on a
# systemd machine the units just installed are disabled. `redis-server` brings
# redis-tools, mariadb-server the client; openssl makes the tests' certificates.
APP_PACKAGES=(redis-server mariadb-server nginx wrk openssl)
mapfile -t app_missing < <(missing_packages "${APP_PACKAGES[@]}")
if [ "${#app_missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages for the application's tests: ${app_missing[*]}"
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/bootstrap.sh: no service starts while it installs packages.\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=true
  fi
  status=0
  apt_install "${app_missing[@]}" || status=$?
  [ "$own_policy" = true ] && $SUDO rm -f "$policy"
  [ "$status" -eq 0 ] || exit "$status"
  if [ -d /run/systemd/system ]; then
    for unit in redis-server mariadb nginx; do
      $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
fi

# The booted test hosts (scripts/hostlab.py, make hosts-test): debootstrap builds
# their root file system, systemd-container brings systemd-nspawn, iproute2 the
# bridge and the network namespaces, zstd the cached tarball, openssh-client
# reaches them.
HOST_PACKAGES=(debootstrap systemd-container iproute2 zstd openssh-client)
mapfile -t host_missing < <(missing_packages "${HOST_PACKAGES[@]}")
if [ "${#host_missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages for the booted test hosts: ${host_missing[*]}"
  apt_install "${host_missing[@]}"
fi

# The architecture document (make docs, docs/ARCHITECTURE-DOC.md): graphviz brings dot, which
# renders the diagrams; fonts-dejavu-core the fonts of the diagrams and the PDF; poppler-utils
# pdftotext and pdftoppm, with which tests/docs read the PDF back.
DOC_PACKAGES=(graphviz fonts-dejavu-core poppler-utils)
mapfile -t doc_missing < <(missing_packages "${DOC_PACKAGES[@]}")
if [ "${#doc_missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages for the architecture document: ${doc_missing[*]}"
  apt_install "${doc_missing[@]}"
fi

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'

# The controller's and the tests' requirements, then the application (app/): its pinned
# dependencies and the package itself, editable, so that its console script is on the venv's PATH.
stamp="$VENV/.requirements.sha256"
wanted="$(cat requirements.txt app/requirements.txt app/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: creating $VENV with requirements.txt and app/requirements.txt"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r requirements.txt -r app/requirements.txt
  "$VENV/bin/pip" install --quiet --no-deps --editable ./app
  echo "$wanted" > "$stamp"
fi
