-- Plans get a version so a stale client cannot silently overwrite a newer edit: GET answers it as
-- the ETag, PATCH and DELETE with If-Match compare it (412 on mismatch), and every update adds 1.
-- No index: the version is read and compared on the row already found by its primary key.
ALTER TABLE plans ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
