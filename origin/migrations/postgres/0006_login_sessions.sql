-- Password login sessions of the web pages, postgres flavour (mirrors the other folder's 0006).
-- The cookie carries a random id; only its SHA-256 digest is stored, as for API tokens, so a leaked
-- database holds no usable session. `csrf_token` is the session's form token. Times are UNIX
-- seconds: a session ends `web.session_lifetime_secs` after `created_at` or
-- `web.session_idle_secs` after `last_seen`.
CREATE TABLE login_session (
    id_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL REFERENCES "user" (login) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX login_session_login ON login_session (login);
