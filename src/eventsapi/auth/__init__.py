"""Accounts and security (issue 6): the rules, with no HTTP; storage only through a store.

- ``totp``: two-step verification codes (RFC 6238), provisioning URI and QR code.
- ``recovery``: single-use recovery codes, stored hashed.
- ``passwords``: argon2id hashing (OWASP parameters), and equal time for unknown users.
- ``password_policy``: which passwords are accepted (NIST SP 800-63B-4), with feedback.
- ``tokens``: opaque session and API tokens (256 bits, prefixed), stored as SHA-256.
- ``sessions``: idle and absolute timeouts, when to record activity, the session cookie.
- ``throttle``: brute-force resistance: growing waits and a lock per account, per client.
- ``ratelimit``: rate limits (GCRA) in memory or in Redis, and the RateLimit header fields.
- ``ratelimit_local``: the same in-process GCRA at the price one request can pay.
- ``usernames``: one normalized spelling per username.
- ``principal``: who makes a request (user, session or API token) and their scopes.
- ``second_factor``: a TOTP or recovery code checked, then spent by compare-and-set.
- ``ownership``: who may change which event (admins any, members their own).
- ``core``: what the account rules share: the store, ids, the audit log, hashing, a session.
- ``attempts``: a password check counted and throttled, at login and when proven again.
- ``signin``: logging in and out, and who sends a token (sessions and API tokens).
- ``own_account``: a signed-in user's own sessions, password, 2FA, API tokens, audit log.
- ``administration``: accounts created, listed, unlocked, given roles, by an ``Actor``.
- ``service``: ``AccountService``, the three parts over one store.
"""
