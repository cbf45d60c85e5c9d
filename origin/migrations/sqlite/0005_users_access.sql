-- Matomo's access model, sqlite flavour (mirrors the other folder's 0005; plugins/UsersManager).
-- Per-site roles live in `access` as view, write or admin; noaccess is the absence of a row; super
-- user access is `user.superuser_access`. Tokens may expire (createAppSpecificTokenAuth's
-- expireDate/expireHours). Global SitesManager settings (excluded IPs, default currency, ...)
-- live in Matomo's `option` table under Matomo's option names.
DELETE FROM access WHERE access NOT IN ('view', 'write', 'admin');
CREATE INDEX access_idsite ON access (idsite);
ALTER TABLE user_token_auth ADD COLUMN date_expired TEXT;
CREATE TABLE "option" (
    option_name TEXT PRIMARY KEY,
    option_value TEXT NOT NULL
);
