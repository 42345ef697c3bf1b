#!/usr/bin/env bash
# Makes sure what the tests talk to is there: PostgreSQL, Redis and RabbitMQ running (each started
# when installed but down), Debian's Chromium for the browser tests and a CJK font for readable
# screenshots (installed if missing). Idempotent.
set -u
wait_for() {  # what, command that succeeds once it is up
  for _ in $(seq 1 60); do eval "$2" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "warning: $1 did not come up" >&2
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  wait_for PostgreSQL "pg_isready -q -h 127.0.0.1 -p 5432"
fi
if command -v redis-server >/dev/null && ! port_open 6379; then
  echo "starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for Redis "port_open 6379"
fi
if command -v rabbitmq-server >/dev/null && ! port_open 5672; then
  echo "starting RabbitMQ" >&2
  rabbitmq-server -detached || true
  wait_for RabbitMQ "port_open 5672"
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
