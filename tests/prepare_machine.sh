#!/usr/bin/env bash
# Makes sure what the tests talk to is there: PostgreSQL running (started if down) and
# Debian's Chromium for the browser tests (installed if missing). Idempotent.
set -u
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! command -v chromium >/dev/null; then
  echo "installing Chromium for the browser tests" >&2
  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
    || echo "warning: could not install chromium; browser tests will fail" >&2
fi
exit 0
