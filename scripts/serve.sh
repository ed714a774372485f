#!/usr/bin/env bash
# Run the service as in production (`make serve`): migrate, collect static files, then nginx on
# 127.0.0.1:PORT (default 8000) in front of gunicorn with WEB_CONCURRENCY workers (default 4) on a
# Unix socket. nginx buffers every request whole before gunicorn sees it, enforces the body limit and
# the slow-client timeouts (deploy/nginx.conf.template); a TLS proxy or load balancer goes in front.
#
# Needs DATABASE_URL (PostgreSQL) and SECRET_KEY (50+ random characters). ALLOWED_HOSTS defaults to
# localhost,127.0.0.1; set it to the public host name(s). Every other setting is read by ecf/settings.py.
# SERVE_PROXY=none serves gunicorn directly on PORT (no nginx). NGINX names the nginx binary
# (default: nginx on PATH, else /usr/sbin/nginx). To try it on this machine against a throwaway
# cluster, without a TLS proxy in front:
#
#   SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
#     SECURE_SSL_REDIRECT=false scripts/with_postgres.sh make serve
set -euo pipefail
cd "$(dirname "$0")/.."

refuse() {
  echo "make serve: $*" >&2
  exit 2
}

# The scheme only: the URL may carry a password.
case "${DATABASE_URL:-}" in
  "") refuse "DATABASE_URL is not set; point it at PostgreSQL, e.g. postgres://user:password@host:5432/ecf" ;;
  postgres://* | postgresql://* | pgsql://*) ;;
  *) refuse "DATABASE_URL must point at PostgreSQL (postgres://...), not ${DATABASE_URL%%:*}" ;;
esac
if [ -z "${SECRET_KEY:-}" ]; then
  refuse "SECRET_KEY is not set; use a random value of at least 50 characters"
fi
PROXY="${SERVE_PROXY:-nginx}"
case "$PROXY" in
  nginx)
    NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
    [ -x "$NGINX" ] || refuse "nginx is not installed (apt-get install nginx-light), or set SERVE_PROXY=none"
    ;;
  none) ;;
  *) refuse "SERVE_PROXY must be nginx or none, not $PROXY" ;;
esac

export ECF_ENV=production
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost,127.0.0.1}"
BIN="${VENV:-.venv}/bin"
PORT="${PORT:-8000}"

"$BIN/python" manage.py migrate --no-input
"$BIN/python" manage.py collectstatic --no-input --verbosity 0

GUNICORN=("$BIN/gunicorn" ecf.wsgi:application --workers "${WEB_CONCURRENCY:-4}" --config python:ecf.gunicorn_conf)
if [ "$PROXY" = none ]; then
  exec "${GUNICORN[@]}" --bind "127.0.0.1:$PORT"
fi

# nginx's configuration, socket and temporary files live in a private directory, removed at the end.
# nginx's workers run as an unprivileged user when we are root: they may enter it, not list it.
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ecf-serve.XXXXXX")"
chmod 711 "$RUN_DIR"
SOCKET="$RUN_DIR/gunicorn.sock"
# One figure for both: the settings (which validate MAX_REQUEST_BODY_BYTES) give it to nginx.
MAX_BODY_BYTES="$(DJANGO_SETTINGS_MODULE=ecf.settings "$BIN/python" -c \
  'from django.conf import settings; print(settings.MAX_REQUEST_BODY_BYTES)')" \
  || refuse "could not read MAX_REQUEST_BODY_BYTES from the settings"
sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@UPSTREAM@|unix:$SOCKET|g" \
  -e "s|@MAX_BODY_BYTES@|$MAX_BODY_BYTES|g" -e "s|@CLIENT_TIMEOUT@|${CLIENT_BODY_TIMEOUT:-10}|g" \
  -e "s|@MAX_CONNECTIONS_PER_ADDRESS@|${MAX_CONNECTIONS_PER_ADDRESS:-64}|g" \
  deploy/nginx.conf.template >"$RUN_DIR/nginx.conf"
"$NGINX" -t -q -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g "daemon off;" || refuse "nginx rejected $RUN_DIR/nginx.conf"

# This shell becomes gunicorn's master below (exec), so tools that follow PORT and the pid they
# started (the bench, the drill, the tests) see the master and its workers as before. nginx and its
# watcher are started detached from this shell (double fork), so they are not the master's children;
# they stay in its process group, so stopping the group stops them too. The watcher stops nginx and
# removes the directory once the master is gone, however it went.
MASTER=$$
(
  "$NGINX" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
  NGINX_PID=$!
  (
    cleanup() {
      kill -QUIT "$NGINX_PID" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
      rm -rf "$RUN_DIR"
      exit 0
    }
    trap cleanup TERM INT
    while kill -0 "$MASTER" 2>/dev/null && kill -0 "$NGINX_PID" 2>/dev/null; do sleep 1; done
    # nginx gone (it could not listen, or was killed): a server nobody can reach must not keep running.
    kill -0 "$NGINX_PID" 2>/dev/null || { echo "make serve: nginx stopped; stopping gunicorn" >&2; kill -TERM "$MASTER" 2>/dev/null; }
    cleanup
  ) &
) </dev/null

# Only nginx (on the socket, which only this machine can reach) forwards the client's address.
export TRUSTED_PROXIES="${TRUSTED_PROXIES:-unix}"
exec "${GUNICORN[@]}" --bind "unix:$SOCKET"
