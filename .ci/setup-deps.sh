# Sourced by .ci/run: installs and starts what the tests need on a fresh machine of this kind.
# Every step is idempotent, so it is cheap on a machine that already has everything.

# PostgreSQL runs on every machine of this kind; start it if it is down.
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 1; done
fi

# Debian packages: Chromium for the dashboard's browser tests, Alertmanager for the alert receiver test.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts a system Alertmanager on :9093; tests start their own.
  pkill -f '^/usr/bin/prometheus-alertmanager' >/dev/null 2>&1 || true
fi
