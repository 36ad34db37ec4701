-- Token names need not be unique, so an audit row's actor (the token's name) cannot always say
-- who did what: each row now also records the id of the token that authorised the write.
-- Rows written before this migration keep token_id NULL. api_tokens rows are never deleted (a
-- token is revoked instead), so the foreign key needs no index on this side for its checks; no
-- query looks audit rows up by token yet, so none is added.
ALTER TABLE audit_log ADD COLUMN token_id integer REFERENCES api_tokens (id);
