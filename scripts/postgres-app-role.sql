-- The least-privilege role the application runs as (award_app). The owner role runs the migrations
-- (`award db upgrade`), `award demo --reset` and `award restore`; the application, connected as
-- award_app, may read and write the other tables but may only INSERT and SELECT the audit trail
-- (audit_event, audit_checkpoint): it cannot UPDATE, DELETE or TRUNCATE a record even if it is
-- compromised. Run as the owner after every `award db upgrade` (new tables need their grants):
--
--   psql "postgresql://award_owner@db.internal/award" -v ON_ERROR_STOP=1 \
--        -v app_password="$AWARD_APP_PASSWORD" -f scripts/postgres-app-role.sql
--
-- Leave app_password empty (-v app_password=) where the server authenticates award_app otherwise
-- (certificates, peer); the role is then created without a password. Safe to run again.

\if :{?app_password}
\else
\set app_password ''
\endif

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'award_app') AS create_role \gset
\if :create_role
CREATE ROLE award_app LOGIN;
\endif
SELECT :'app_password' <> '' AS set_password \gset
\if :set_password
ALTER ROLE award_app WITH LOGIN PASSWORD :'app_password';
\endif

SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO award_app', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO award_app;

-- Everything the application reads and writes, and the sequences behind the ids it inserts.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO award_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO award_app;

-- The audit trail is append-only: insert and read, nothing else.
REVOKE ALL ON audit_event, audit_checkpoint FROM award_app;
GRANT SELECT, INSERT ON audit_event, audit_checkpoint TO award_app;

-- The schema's version is the owner's: the application only reads it.
REVOKE ALL ON alembic_version FROM award_app;
GRANT SELECT ON alembic_version TO award_app;
