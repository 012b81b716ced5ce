#!/bin/sh
# Patroni's post_bootstrap: runs once on the first primary with its superuser connection string as $$1.
set -eu
psql "$$1" -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE ROLE topup LOGIN PASSWORD '${topup_password}';
CREATE DATABASE topup OWNER topup;
CREATE DATABASE pgbench OWNER topup;
SQL
