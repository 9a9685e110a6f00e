#!/usr/bin/env bash
# Debian packages the tests need besides Python's: nginx, the load balancer of the
# scale-out test (tests/reliability/test_scale_out.py: two Rasa servers and two action
# servers behind nginx). Installs what is missing, when we are root on a Debian-like
# system; does nothing when everything is there. Never fails the build: without nginx the
# scale-out test is skipped, and this says why.
set -uo pipefail
PACKAGES=(nginx)
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
for package in "${PACKAGES[@]}"; do
  have "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing Debian's ${missing[*]} for the scale-out test"
  # Only the binary is needed: the test runs its own nginx with a generated config, so the
  # distribution's service is neither started nor enabled (no policy-rc.d games needed when
  # there is no init system; where there is one, stop it so port 80 stays free).
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       "${missing[@]}" >/dev/null; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
    exit 0
  fi
  echo "[setup] WARNING: apt-get could not install ${missing[*]}." >&2
else
  echo "[setup] WARNING: ${missing[*]} not installed, and installing needs root and apt-get." >&2
fi
echo "[setup]          the scale-out test will be skipped; install with: sudo apt-get install ${missing[*]}" >&2
exit 0
