-- Versions of an instance kept aside under the "keep" duplicate policy: an instance re-sent with
-- the same SOP Instance UID and other content is stored, but not served in place of the first.
CREATE TABLE instance_versions (
    pk                  INTEGER PRIMARY KEY,
    sop_uid             TEXT    NOT NULL,
    transfer_syntax_uid TEXT    NOT NULL,
    blob_key            TEXT    NOT NULL UNIQUE,
    size                INTEGER NOT NULL,
    sha256              BLOB    NOT NULL,
    received_at         INTEGER NOT NULL,
    source_ae           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX instance_versions_sop ON instance_versions (sop_uid);
