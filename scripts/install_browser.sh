#!/usr/bin/env bash
# Browser tests drive Debian's Chromium with Playwright (browser downloads do not work
# here). Installs `chromium`, and a CJK font so screenshots show Chinese, when missing and
# we are allowed to.
set -uo pipefail
have_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }
if command -v chromium >/dev/null 2>&1 && have_font; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing Debian's chromium and fonts-noto-cjk for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
    && exit 0
fi
echo "[setup] WARNING: chromium is not installed and could not be installed; browser tests will be skipped." >&2
echo "[setup]          install it with: sudo apt-get install chromium" >&2
exit 0
