#!/usr/bin/env bash
# Set up everything unclip needs on a fresh machine: Debian packages (when run as root), a
# virtual environment in .venv, torch, unclip with its test extra, and the example plugins.
# Safe to run again: a finished set-up is detected and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.unclip-setup-done"

if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ]; then
  exit 0
fi

if [ -f .ci/apt-packages.txt ]; then
  if [ "$(id -u)" = 0 ]; then
    packages=$(grep -v '^\s*#' .ci/apt-packages.txt | xargs)
    if ! dpkg -s $packages >/dev/null 2>&1; then
      echo "installing Debian packages: $packages"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
    fi
  else
    echo "not root: skipping Debian packages ($(xargs <.ci/apt-packages.txt)); tests that need them are skipped"
  fi
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first, pinned: these builds are the ones pip finds locally, beside a matching torchvision.
"$VENV/bin/python" -m pip install -q torch==2.14.1 torchvision==0.29.1
"$VENV/bin/python" -m pip install -q -e ".[test,serve]" -e examples/unclip-heun -e examples/unclip-colorfulness
touch "$STAMP"
echo "unclip is installed in $VENV"
