-- Every event is served with its registrations' counts and `spots_left` (issue 16;
-- storage/events.py). `capacity` is a copy of the document's member, written with the row
-- (storage/sqlite/rows.py) as the other copied columns are, so that a read computes
-- `spots_left` without decoding the document. NULL: no capacity.
ALTER TABLE events ADD COLUMN capacity INTEGER;
UPDATE events SET capacity = json_extract(CAST(doc AS TEXT), '$.capacity')
    WHERE json_extract(CAST(doc AS TEXT), '$.capacity') IS NOT NULL;

-- The document's revision, which its ETags name, written with the document
-- (storage/events.py `revision`: `<version>-<64 bits of its SHA-256 in hex>`), so that a
-- read by id does not hash the document on every request: the counts' work on that read
-- is paid for with it. `eventsapi_revision` is that function, lent to this script by the
-- runner (storage/sqlite/migrations.py).
ALTER TABLE events ADD COLUMN revision TEXT NOT NULL DEFAULT '';
UPDATE events SET revision = eventsapi_revision(version, doc);

-- The trash keeps each event as it was served when it was deleted, counts included (its
-- registrations cannot change while it is there): the events deleted before this migration
-- get their counts appended, as storage/events.py `served` appends them.
UPDATE trash SET doc = CAST(
    substr(CAST(doc AS TEXT), 1, length(CAST(doc AS TEXT)) - 1)
    || ',"registered":' || confirmed
    || ',"waitlisted":' || waiting
    || ',"spots_left":' || coalesce(max(json_extract(CAST(doc AS TEXT), '$.capacity') - confirmed, 0), 'null')
    || '}' AS BLOB)
FROM (
    SELECT t.id AS trashed,
        (SELECT count(*) FROM registrations AS r
            WHERE r.event_id = t.id AND r.status = 'confirmed') AS confirmed,
        (SELECT count(*) FROM registrations AS r
            WHERE r.event_id = t.id AND r.status = 'waitlisted') AS waiting
    FROM trash AS t
) WHERE trash.id = trashed;
