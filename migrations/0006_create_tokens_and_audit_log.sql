-- Access control for plan edits: API tokens (stored only as SHA-256 hashes; the token itself is
-- shown once by `npm run token -- create`), and an append-only audit log of every write.
CREATE TABLE api_tokens (
  id          serial PRIMARY KEY,
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
  token_sha256 text NOT NULL UNIQUE,   -- serves: token look-up on every write
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,          -- token name
  action     text NOT NULL,          -- e.g. plan.create, plan.update, plan.delete
  entity     text NOT NULL,
  entity_id  text,
  before     jsonb,
  after      jsonb,
  request_id text
);
-- Serves: the audit trail of one entity.
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

-- Append-only: the API may insert, never change or remove history.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
