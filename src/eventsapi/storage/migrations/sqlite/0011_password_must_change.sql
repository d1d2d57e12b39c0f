-- A password an admin or the operator set (`eventsapi users reset-password`) works for one
-- more login only: that login must choose a new password (issue 19). Existing accounts
-- chose theirs.
ALTER TABLE users ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0
    CHECK (password_must_change IN (0, 1));
