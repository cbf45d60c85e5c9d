//! Reading and writing archives (`archive`, `archive_numeric`, `archive_blob`) and consuming the
//! tracker's `archive_invalidation` queue, in portable SQL for both backends.

use std::collections::{BTreeMap, HashMap};

use super::data::{ArchiveData, Table};
use crate::store::{on_db, Result, Store};

/// Matomo's archive status values (`ArchiveWriter::DONE_*`, spec/MATOMO.md 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 1,
    Error = 2,
    Temporary = 3,
    Invalidated = 4,
}

impl Status {
    fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Ok,
            3 => Self::Temporary,
            4 => Self::Invalidated,
            _ => Self::Error,
        }
    }
}

/// The key of an archive: site, period code, first and last day, segment ("" = all visits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub idsite: i64,
    pub period: i64,
    pub date1: String,
    pub date2: String,
    pub segment: String,
}

/// An archive's header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub idarchive: i64,
    pub status: Status,
    pub ts_archived: i64,
}

/// One pending invalidation recorded by the tracker.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Invalidation {
    pub idsite: i64,
    pub date: String,
    pub ts_invalidated: i64,
}

/// The header of an archive, when it exists.
pub async fn header(store: &Store, key: &Key) -> Result<Option<Header>> {
    let row: Option<(i64, i64, i64)> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT idarchive, status, ts_archived FROM archive WHERE idsite = $1 AND period = $2 \
             AND date1 = $3 AND date2 = $4 AND segment = $5",
        )
        .bind(key.idsite)
        .bind(key.period)
        .bind(&key.date1)
        .bind(&key.date2)
        .bind(&key.segment)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(|(idarchive, status, ts_archived)| Header {
        idarchive,
        status: Status::from_code(status),
        ts_archived,
    }))
}

/// The headers of several archives, in one query per site, period kind and segment (a
/// `date=last30` report needs one instead of 30): `result[i]` is the header of `keys[i]`.
pub async fn headers(store: &Store, keys: &[Key]) -> Result<Vec<Option<Header>>> {
    if let [key] = keys {
        return Ok(vec![header(store, key).await?]);
    }
    let mut result: Vec<Option<Header>> = vec![None; keys.len()];
    // (idsite, period, segment) -> the smallest and largest date1 asked, and the keys asked by
    // (date1, date2).
    type Group<'k> = (
        (i64, i64, &'k str),
        (&'k str, &'k str),
        HashMap<(&'k str, &'k str), Vec<usize>>,
    );
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (at, key) in keys.iter().enumerate() {
        let id = (key.idsite, key.period, key.segment.as_str());
        let index = match groups.iter().position(|(group, _, _)| *group == id) {
            Some(index) => index,
            None => {
                groups.push((id, (&key.date1, &key.date1), HashMap::new()));
                groups.len() - 1
            }
        };
        let (_, (from, to), asked) = &mut groups[index];
        *from = (*from).min(key.date1.as_str());
        *to = (*to).max(key.date1.as_str());
        asked
            .entry((key.date1.as_str(), key.date2.as_str()))
            .or_default()
            .push(at);
    }
    for ((idsite, period, segment), (from, to), asked) in groups {
        // One row whatever the number of periods: sqlx's SQLite driver hands every result row
        // over from its worker thread separately, which dominated `date=last30` under load.
        let row = |agg: &str| {
            format!(
                "SELECT {agg}(CAST(date1 AS TEXT) || ',' || CAST(date2 AS TEXT) || ',' || \
                 CAST(idarchive AS TEXT) || ',' || CAST(status AS TEXT) || ',' || \
                 CAST(ts_archived AS TEXT), ';') FROM archive \
                 WHERE idsite = $1 AND period = $2 AND date1 >= $3 AND date1 <= $4 \
                 AND segment = $5"
            )
        };
        let aggregate = match &store.db {
            crate::store::Db::Sqlite(_) => "group_concat",
            crate::store::Db::Postgres(_) => "string_agg",
        };
        let joined: Option<String> = crate::store::on_db!(&store.db, pool => {
            sqlx::query_scalar(&row(aggregate))
                .bind(idsite)
                .bind(period)
                .bind(from)
                .bind(to)
                .bind(segment)
                .fetch_one(pool)
                .await?
        });
        let rows = joined
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter_map(|row| {
                let mut fields = row.split(',');
                let date1 = fields.next()?;
                let date2 = fields.next()?;
                let idarchive = fields.next()?.parse::<i64>().ok()?;
                let status = fields.next()?.parse::<i64>().ok()?;
                let ts_archived = fields.next()?.parse::<i64>().ok()?;
                Some((date1, date2, idarchive, status, ts_archived))
            });
        for (date1, date2, idarchive, status, ts_archived) in rows {
            for &at in asked.get(&(date1, date2)).into_iter().flatten() {
                result[at] = Some(Header {
                    idarchive,
                    status: Status::from_code(status),
                    ts_archived,
                });
            }
        }
    }
    Ok(result)
}

/// Reads an archive's metrics and the named tables (all tables when `tables` is `None`), with the
/// decoded size of those tables (their JSON text). A damaged blob reads as an empty table.
pub async fn read(
    store: &Store,
    idarchive: i64,
    tables: Option<&[&str]>,
) -> Result<(ArchiveData, usize)> {
    let numeric: Vec<(String, f64)> = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT name, value FROM archive_numeric WHERE idarchive = $1")
            .bind(idarchive)
            .fetch_all(pool)
            .await?
    });
    let blobs: Vec<(String, Vec<u8>)> = on_db!(&store.db, pool => {
        sqlx::query_as("SELECT name, value FROM archive_blob WHERE idarchive = $1")
            .bind(idarchive)
            .fetch_all(pool)
            .await?
    });
    let mut bytes = 0;
    let blobs = blobs
        .into_iter()
        .filter(|(name, _)| tables.is_none_or(|wanted| wanted.contains(&name.as_str())))
        .map(|(name, blob)| {
            let (table, size) = Table::from_blob(&blob).unwrap_or_default();
            bytes += size;
            (name, table)
        })
        .collect();
    let data = ArchiveData {
        numeric: numeric.into_iter().collect::<BTreeMap<_, _>>(),
        blobs,
    };
    Ok((data, bytes))
}

/// Writes an archive, replacing any archive with the same key (so archiving twice is idempotent).
pub async fn write(
    store: &Store,
    key: &Key,
    status: Status,
    ts_archived: i64,
    data: &ArchiveData,
) -> Result<i64> {
    let mut tx = store.begin().await?;
    let idarchive: i64 = on_db!(&mut tx, tx => {
        let idarchive: i64 = sqlx::query_scalar(
            "INSERT INTO archive (idsite, period, date1, date2, segment, status, ts_archived) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (idsite, period, date1, date2, segment) \
             DO UPDATE SET status = excluded.status, ts_archived = excluded.ts_archived \
             RETURNING idarchive",
        )
        .bind(key.idsite)
        .bind(key.period)
        .bind(&key.date1)
        .bind(&key.date2)
        .bind(&key.segment)
        .bind(status as i64)
        .bind(ts_archived)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM archive_numeric WHERE idarchive = $1")
            .bind(idarchive)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM archive_blob WHERE idarchive = $1")
            .bind(idarchive)
            .execute(&mut **tx)
            .await?;
        for (name, value) in &data.numeric {
            sqlx::query("INSERT INTO archive_numeric (idarchive, name, value) VALUES ($1, $2, $3)")
                .bind(idarchive)
                .bind(name)
                .bind(*value)
                .execute(&mut **tx)
                .await?;
        }
        for (name, table) in &data.blobs {
            sqlx::query("INSERT INTO archive_blob (idarchive, name, value) VALUES ($1, $2, $3)")
                .bind(idarchive)
                .bind(name)
                .bind(table.to_blob())
                .execute(&mut **tx)
                .await?;
        }
        idarchive
    });
    tx.commit().await?;
    store.archives.forget(key);
    Ok(idarchive)
}

/// Marks invalidated every archive of the site whose period contains `date` (the day itself and
/// every week, month, year and range above it, all segments). Returns how many were marked.
pub async fn invalidate_containing(store: &Store, idsite: i64, date: &str) -> Result<u64> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query(
            "UPDATE archive SET status = $1 WHERE idsite = $2 AND date1 <= $3 AND date2 >= $3 \
             AND status <> $1",
        )
        .bind(Status::Invalidated as i64)
        .bind(idsite)
        .bind(date)
        .execute(pool)
        .await?
        .rows_affected()
    }))
}

/// Marks invalidated the archives of one period kind whose first and last day are within
/// `[from, to]` (`invalidate-report-data --cascade` invalidates lower periods this way).
pub async fn invalidate_within(
    store: &Store,
    idsite: i64,
    period: i64,
    from: &str,
    to: &str,
) -> Result<u64> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query(
            "UPDATE archive SET status = $1 WHERE idsite = $2 AND period = $3 AND date1 >= $4 \
             AND date2 <= $5 AND status <> $1",
        )
        .bind(Status::Invalidated as i64)
        .bind(idsite)
        .bind(period)
        .bind(from)
        .bind(to)
        .execute(pool)
        .await?
        .rows_affected()
    }))
}

/// The pending invalidations, oldest first.
pub async fn pending_invalidations(store: &Store) -> Result<Vec<Invalidation>> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT idsite, date, ts_invalidated FROM archive_invalidation \
             ORDER BY ts_invalidated, idsite, date",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Removes a consumed invalidation, unless the tracker recorded a newer one meanwhile.
pub async fn remove_invalidation(store: &Store, inv: &Invalidation) -> Result<()> {
    on_db!(&store.db, pool => {
        sqlx::query(
            "DELETE FROM archive_invalidation WHERE idsite = $1 AND date = $2 AND ts_invalidated <= $3",
        )
        .bind(inv.idsite)
        .bind(&inv.date)
        .bind(inv.ts_invalidated)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The day archives of a site between two dates: `(date, status)`.
pub async fn day_statuses(
    store: &Store,
    idsite: i64,
    from: &str,
    to: &str,
) -> Result<Vec<(String, Status)>> {
    let rows: Vec<(String, i64)> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT date1, status FROM archive WHERE idsite = $1 AND period = 1 AND segment = '' \
             AND date1 >= $2 AND date1 <= $3",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(date, status)| (date, Status::from_code(status)))
        .collect())
}

/// The first and last visit time of a site (UNIX seconds), when it has visits.
pub async fn visit_time_span(store: &Store, idsite: i64) -> Result<Option<(i64, i64)>> {
    let row: (Option<i64>, Option<i64>) = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT MIN(visit_last_action_time), MAX(visit_last_action_time) FROM log_visit \
             WHERE idsite = $1",
        )
        .bind(idsite)
        .fetch_one(pool)
        .await?
    });
    Ok(row.0.zip(row.1))
}

/// Whether the site has a visit whose last action is in `[from, to)`.
pub async fn has_visits(store: &Store, idsite: i64, from: i64, to: i64) -> Result<bool> {
    let found: Option<i64> = on_db!(&store.db, pool => {
        sqlx::query_scalar(
            "SELECT idvisit FROM log_visit WHERE idsite = $1 AND visit_last_action_time >= $2 \
             AND visit_last_action_time < $3 LIMIT 1",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_optional(pool)
        .await?
    });
    Ok(found.is_some())
}

/// Distinct visitors and distinct users of the visits in `[from, to)`: Matomo recomputes these
/// from the logs for days, weeks and months (spec/MATOMO.md 4.5).
pub async fn unique_counts(store: &Store, idsite: i64, from: i64, to: i64) -> Result<(i64, i64)> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT COUNT(DISTINCT idvisitor), COUNT(DISTINCT user_id) FROM log_visit \
             WHERE idsite = $1 AND visit_last_action_time >= $2 AND visit_last_action_time < $3",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await?
    }))
}

/// The ids of every site.
pub async fn site_ids(store: &Store) -> Result<Vec<i64>> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT idsite FROM site ORDER BY idsite")
            .fetch_all(pool)
            .await?
    }))
}

/// Marks invalidated the archive with exactly this period and every archive of a higher period
/// (week, month, year, range) overlapping `[from, to]`.
pub async fn invalidate_overlapping(
    store: &Store,
    idsite: i64,
    period: i64,
    from: &str,
    to: &str,
) -> Result<u64> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query(
            "UPDATE archive SET status = $1 WHERE idsite = $2 AND status <> $1 AND \
             ((period = $3 AND date1 = $4 AND date2 = $5) \
              OR (period > $3 AND date1 <= $5 AND date2 >= $4))",
        )
        .bind(Status::Invalidated as i64)
        .bind(idsite)
        .bind(period)
        .bind(from)
        .bind(to)
        .execute(pool)
        .await?
        .rows_affected()
    }))
}
