-- Archives: pre-computed reports per (site, period, date range, segment), SQLite flavour.
-- Mirrors ../postgres/0002_archives.sql. Matomo keeps monthly `archive_numeric_*`/`archive_blob_*`
-- tables keyed by idarchive with a `done` status row (spec/MATOMO.md 5.1); here the status lives on
-- one `archive` row per key, so an upsert of the key replaces the archive in place (idempotent).

-- period: 1 day, 2 week, 3 month, 4 year, 5 range (Matomo's codes). date1/date2: YYYY-MM-DD in the
-- site's time zone. status: 1 ok, 2 error, 3 temporary (contains today, refreshed after a TTL),
-- 4 invalidated.
CREATE TABLE archive (
    idarchive INTEGER PRIMARY KEY AUTOINCREMENT,
    idsite INTEGER NOT NULL,
    period INTEGER NOT NULL,
    date1 TEXT NOT NULL,
    date2 TEXT NOT NULL,
    segment TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL,
    ts_archived INTEGER NOT NULL
);
CREATE UNIQUE INDEX archive_key ON archive (idsite, period, date1, date2, segment);

-- Numeric metrics of an archive (nb_visits, bounce_count...).
CREATE TABLE archive_numeric (
    idarchive INTEGER NOT NULL REFERENCES archive (idarchive) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (idarchive, name)
);

-- Report tables of an archive: deflate-compressed JSON, one per record (Referrers_type...).
CREATE TABLE archive_blob (
    idarchive INTEGER NOT NULL REFERENCES archive (idarchive) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (idarchive, name)
);
