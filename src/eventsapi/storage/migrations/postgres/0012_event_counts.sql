-- Every event is served with its registrations' counts and `spots_left` (issue 16;
-- storage/events.py). `capacity` is a copy of the document's member, written with the row
-- (storage/postgres/rows.py) as the other copied columns are, so that a read computes
-- `spots_left` without decoding the document. NULL: no capacity.
--
-- The capacity is read from the document's text, not parsed as JSON: PostgreSQL's json and
-- jsonb refuse the \u0000 a title may hold. The match is exact: `"capacity":` can only be
-- the member's name (a quote inside a JSON string is escaped, and a string followed by `:`
-- is a member name), and msgspec writes the number right after it, or `null`.
ALTER TABLE events ADD COLUMN capacity bigint;
UPDATE events SET capacity = substring(convert_from(doc, 'UTF8') FROM '"capacity":([0-9]+)')::bigint
    WHERE convert_from(doc, 'UTF8') ~ '"capacity":[0-9]';

-- The document's revision, which its ETags name, written with the document
-- (storage/events.py `revision`: `<version>-<64 bits of its SHA-256 in hex>`), so that a
-- read by id does not hash the document on every request: the counts' work on that read
-- is paid for with it.
ALTER TABLE events ADD COLUMN revision text NOT NULL DEFAULT '';
UPDATE events SET revision = version || '-' || substr(encode(sha256(doc), 'hex'), 1, 16);
ALTER TABLE events ALTER COLUMN revision DROP DEFAULT;

-- The trash keeps each event as it was served when it was deleted, counts included (see
-- the SQLite migration).
UPDATE trash SET doc = convert_to(
    left(convert_from(doc, 'UTF8'), -1)
    || ',"registered":' || counted.confirmed
    || ',"waitlisted":' || counted.waiting
    || ',"spots_left":' || CASE WHEN counted.capacity IS NULL THEN 'null'
        ELSE greatest(counted.capacity - counted.confirmed, 0)::text END
    || '}', 'UTF8')
FROM (
    SELECT t.id,
        substring(convert_from(t.doc, 'UTF8') FROM '"capacity":([0-9]+)')::bigint AS capacity,
        (SELECT count(*) FROM registrations AS r
            WHERE r.event_id = t.id AND r.status = 'confirmed') AS confirmed,
        (SELECT count(*) FROM registrations AS r
            WHERE r.event_id = t.id AND r.status = 'waitlisted') AS waiting
    FROM trash AS t
) AS counted
WHERE trash.id = counted.id;
