#!/usr/bin/env bash
# Run the service as in production (`make serve`): migrate, collect static files, then gunicorn
# with WEB_CONCURRENCY workers (default 4) on 127.0.0.1:PORT (default 8000), behind a TLS proxy.
#
# Needs DATABASE_URL (PostgreSQL) and SECRET_KEY (50+ random characters). ALLOWED_HOSTS defaults to
# localhost,127.0.0.1; set it to the public host name(s). Every other setting is read by ecf/settings.py.
# To try it on this machine against a throwaway cluster, without a TLS proxy in front:
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

export ECF_ENV=production
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost,127.0.0.1}"
BIN="${VENV:-.venv}/bin"

"$BIN/python" manage.py migrate --no-input
"$BIN/python" manage.py collectstatic --no-input --verbosity 0
exec "$BIN/gunicorn" ecf.wsgi:application \
  --workers "${WEB_CONCURRENCY:-4}" \
  --bind "127.0.0.1:${PORT:-8000}" \
  --config python:ecf.gunicorn_conf
