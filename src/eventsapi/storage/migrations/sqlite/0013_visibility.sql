-- Who may see an event (issue 16): `visibility` ('public', 'members' or 'private') and
-- `owner` (the account that created it; NULL: none), copies of the document's members
-- that every read filters on (storage/visibility.py). No row needs a backfill: every event
-- stored before this migration is public (the document had no such member), and a public
-- event is seen by everyone whoever owns it; a write that makes it otherwise writes both.
ALTER TABLE events ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
    CHECK (visibility IN ('public', 'members', 'private'));
ALTER TABLE events ADD COLUMN owner TEXT;

-- Is this account registered for this event: for every private event a reader meets.
CREATE INDEX registrations_of_account_event ON registrations (account, event_id)
    WHERE account IS NOT NULL;

-- Who may be told of each change (domain/visibility.py): the event's visibility after it
-- (for a delete or a purge, the deleted event's), the visibility before it when the change
-- altered that (else NULL), and the owner. Records made before this migration are about
-- public events.
ALTER TABLE changes ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE changes ADD COLUMN previous_visibility TEXT;
ALTER TABLE changes ADD COLUMN owner TEXT;
