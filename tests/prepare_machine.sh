#!/usr/bin/env bash
# Makes sure what the tests talk to is there: PostgreSQL running (started if down), Debian's
# Chromium for the browser tests and a CJK font for readable screenshots (installed if missing).
# Idempotent.
set -u
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
apt_install() {  # package, why: a fresh machine may need `apt-get update` first
  apt-get install -y -qq "$1" >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq "$1" >/dev/null) \
    || echo "warning: could not install $1; $2" >&2
}
if ! command -v chromium >/dev/null; then
  echo "installing Chromium for the browser tests" >&2
  apt_install chromium "browser tests will fail"
fi
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  echo "installing a CJK font for the browser screenshots" >&2
  apt_install fonts-wqy-microhei "Chinese text in screenshots shows as boxes"
fi
exit 0
