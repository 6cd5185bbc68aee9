-- Blob keys of instances indexed while their blob was still being made durable (the archive
-- overlaps the two for a single store). A key is removed once its blob is durable; the keys an
-- interrupted process left are checked against their blobs at the next start.
CREATE TABLE unsettled_blobs (
    blob_key TEXT PRIMARY KEY
) WITHOUT ROWID;
