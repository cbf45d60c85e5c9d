//! The log tables written by the tracker: visits, actions, the action dictionary, conversions,
//! the request ids of edge batches and the days to re-archive.
//!
//! Every function takes the caller's transaction: the tracker's writer decides the boundaries
//! (one transaction per group of requests, committed before any of them is acknowledged).

use sha2::{Digest, Sha256};

use super::{on_db, Result, Tx};

/// Matomo's `log_action.type` values (core/Tracker/Action.php).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum ActionType {
    PageUrl = 1,
    Outlink = 2,
    Download = 3,
    PageTitle = 4,
    SiteSearch = 8,
    EventCategory = 10,
    EventAction = 11,
    EventName = 12,
    ContentName = 13,
    ContentPiece = 14,
    ContentTarget = 15,
    ContentInteraction = 16,
}

/// `log_action.hash`: the first 8 bytes of SHA-256 of the name (see migrations/README.md).
pub fn action_hash(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The columns of a visit that the visit rules read back when a request arrives.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VisitRow {
    pub idvisit: i64,
    pub idvisitor: Vec<u8>,
    pub user_id: Option<String>,
    pub visit_first_action_time: i64,
    pub visit_last_action_time: i64,
    pub visit_total_actions: i64,
    pub visit_total_interactions: i64,
    pub visit_total_time: i64,
    pub visit_goal_converted: i64,
    pub visit_goal_buyer: i64,
    pub visitor_count_visits: i64,
    pub visitor_seconds_since_first: Option<i64>,
    pub visit_entry_idaction_url: Option<i64>,
    pub visit_exit_idaction_url: Option<i64>,
    pub visit_exit_idaction_name: Option<i64>,
    pub referer_type: Option<i64>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    /// The visit's latest action by (server_time, idlink_va); NULL until a second request of
    /// the visit stores it (then [`last_action`] finds it).
    pub last_idlink_va: Option<i64>,
    pub last_idlink_va_time: Option<i64>,
}

const VISIT_ROW_COLUMNS: &str = "idvisit, idvisitor, user_id, visit_first_action_time, \
    visit_last_action_time, visit_total_actions, visit_total_interactions, visit_total_time, \
    visit_goal_converted, \
    visit_goal_buyer, visitor_count_visits, visitor_seconds_since_first, \
    visit_entry_idaction_url, visit_exit_idaction_url, visit_exit_idaction_name, referer_type, \
    referer_name, referer_keyword, last_idlink_va, last_idlink_va_time";

/// Everything stored when a visit starts (Matomo's `log_visit` columns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewVisit {
    pub idsite: i64,
    pub idvisitor: Vec<u8>,
    pub config_id: Vec<u8>,
    pub location_ip: Option<Vec<u8>>,
    pub user_id: Option<String>,
    pub visit_first_action_time: i64,
    pub visit_last_action_time: i64,
    pub visitor_returning: i64,
    pub visitor_count_visits: i64,
    pub visitor_seconds_since_first: Option<i64>,
    pub visitor_seconds_since_order: Option<i64>,
    pub visitor_seconds_since_last: Option<i64>,
    pub visit_entry_idaction_name: Option<i64>,
    pub visit_entry_idaction_url: Option<i64>,
    pub visit_exit_idaction_name: Option<i64>,
    pub visit_exit_idaction_url: Option<i64>,
    pub visit_total_actions: i64,
    pub visit_total_interactions: i64,
    pub visit_total_searches: i64,
    pub visit_total_events: i64,
    pub visit_total_time: i64,
    pub visitor_localtime: Option<String>,
    pub referer_type: i64,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    pub referer_url: Option<String>,
    pub config_os: String,
    pub config_os_version: String,
    pub config_browser_name: String,
    pub config_browser_version: String,
    pub config_browser_engine: String,
    pub config_client_type: i64,
    pub config_device_type: Option<i64>,
    pub config_device_brand: String,
    pub config_device_model: String,
    pub config_resolution: Option<String>,
    /// fla, java, pdf, qt, realp, wma, ag (silverlight), cookie as 0/1.
    pub config_flags: [i64; 8],
    pub location_browser_lang: Option<String>,
    pub location_country: Option<String>,
    pub location_region: Option<String>,
    pub location_city: Option<String>,
    pub location_latitude: Option<f64>,
    pub location_longitude: Option<f64>,
    pub profilable: i64,
    pub campaign_name: Option<String>,
    pub campaign_keyword: Option<String>,
    pub custom_dimensions: [Option<String>; 5],
}

/// What an action of an existing visit changes on the visit row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitUpdate {
    pub idvisit: i64,
    pub idvisitor: Vec<u8>,
    pub user_id: Option<String>,
    pub visit_last_action_time: i64,
    pub visit_total_time: i64,
    pub add_actions: i64,
    pub add_interactions: i64,
    pub add_searches: i64,
    pub add_events: i64,
    /// The entry URL, taken only while the visit has none (Matomo's `EntryPageUrl::onExistingVisit`;
    /// the entry title is set when the visit starts and never after, `EntryPageTitle`).
    pub entry_idaction_url: Option<i64>,
    /// The new exit page (URL, title), when the action moves it.
    pub exit: Option<(Option<i64>, Option<i64>)>,
    /// A new referrer, when the request's referrer replaces a direct entry.
    pub referrer: Option<StoredReferrer>,
    pub custom_dimensions: [Option<String>; 5],
    /// The visit's new latest action (idlink_va, server_time), when this request recorded one.
    pub last_action: Option<(i64, i64)>,
}

/// The referrer columns of a visit (`referer_type`, `referer_name`, `referer_keyword`, `referer_url`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredReferrer {
    pub kind: i64,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub url: Option<String>,
}

/// One row of `log_link_visit_action`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAction {
    pub idsite: i64,
    pub idvisitor: Vec<u8>,
    pub idvisit: i64,
    pub server_time: i64,
    pub idaction_url: Option<i64>,
    pub idaction_name: Option<i64>,
    pub idaction_url_ref: Option<i64>,
    pub idaction_name_ref: Option<i64>,
    pub idpageview: Option<String>,
    pub pageview_position: Option<i64>,
    pub time_spent_ref_action: Option<i64>,
    pub search_cat: Option<String>,
    pub search_count: Option<i64>,
    pub custom_float: Option<f64>,
    pub idaction_event_category: Option<i64>,
    pub idaction_event_action: Option<i64>,
    pub idaction_content_name: Option<i64>,
    pub idaction_content_piece: Option<i64>,
    pub idaction_content_target: Option<i64>,
    pub idaction_content_interaction: Option<i64>,
    /// network, server, transfer, dom processing, dom completion, on load (ms).
    pub timings: [Option<i64>; 6],
    pub custom_dimensions: [Option<String>; 5],
}

/// The last action of a visit: the one whose `time_spent` the next action sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LastAction {
    pub idlink_va: i64,
    pub server_time: i64,
    pub idaction_url: Option<i64>,
    pub idaction_name: Option<i64>,
}

/// One row of `log_conversion`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewConversion {
    pub idvisit: i64,
    pub idsite: i64,
    pub idvisitor: Vec<u8>,
    pub server_time: i64,
    pub idaction_url: Option<i64>,
    pub idlink_va: Option<i64>,
    pub idgoal: i64,
    pub buster: i64,
    pub url: String,
    pub revenue: Option<f64>,
    pub visitor_returning: i64,
    pub visitor_count_visits: i64,
    pub referer_type: Option<i64>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    pub pageviews_before: i64,
}

/// Looks up the id of an action name, inserting it when new.
pub async fn action_id(
    tx: &mut Tx,
    kind: ActionType,
    name: &str,
    url_prefix: Option<i64>,
) -> Result<i64> {
    let hash = action_hash(name);
    Ok(on_db!(tx, tx => {
        sqlx::query(
            "INSERT INTO log_action (name, hash, type, url_prefix) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (type, hash) DO NOTHING",
        )
        .bind(name)
        .bind(hash)
        .bind(kind as i64)
        .bind(url_prefix)
        .execute(&mut **tx)
        .await?;
        sqlx::query_scalar("SELECT idaction FROM log_action WHERE type = $1 AND hash = $2")
            .bind(kind as i64)
            .bind(hash)
            .fetch_one(&mut **tx)
            .await?
    }))
}

/// The visitor's most recent visit by visitor id, not later than `until`.
pub async fn visit_by_visitor(
    tx: &mut Tx,
    idsite: i64,
    idvisitor: &[u8],
    until: i64,
) -> Result<Option<VisitRow>> {
    let sql = format!(
        "SELECT {VISIT_ROW_COLUMNS} FROM log_visit WHERE idsite = $1 AND idvisitor = $2 \
         AND visit_last_action_time <= $3 ORDER BY visit_last_action_time DESC LIMIT 1"
    );
    Ok(on_db!(tx, tx => {
        sqlx::query_as(&sql).bind(idsite).bind(idvisitor).bind(until).fetch_optional(&mut **tx).await?
    }))
}

/// The most recent visit with this fingerprint whose last action is in `[from, until]`; with
/// `user_id`, only visits of no user or of that user (Matomo's rule for a user id login).
pub async fn visit_by_config(
    tx: &mut Tx,
    idsite: i64,
    config_id: &[u8],
    from: i64,
    until: i64,
    user_id: Option<&str>,
) -> Result<Option<VisitRow>> {
    let user_filter = if user_id.is_some() {
        " AND (user_id IS NULL OR user_id = $5)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {VISIT_ROW_COLUMNS} FROM log_visit WHERE idsite = $1 AND config_id = $2 \
         AND visit_last_action_time >= $3 AND visit_last_action_time <= $4{user_filter} \
         ORDER BY visit_last_action_time DESC LIMIT 1"
    );
    Ok(on_db!(tx, tx => {
        let mut query = sqlx::query_as(&sql).bind(idsite).bind(config_id).bind(from).bind(until);
        if let Some(user_id) = user_id {
            query = query.bind(user_id);
        }
        query.fetch_optional(&mut **tx).await?
    }))
}

/// Inserts a visit; returns its idvisit.
pub async fn insert_visit(tx: &mut Tx, v: &NewVisit) -> Result<i64> {
    let [fla, java, pdf, qt, realp, wma, ag, cookie] = v.config_flags;
    let [d1, d2, d3, d4, d5] = &v.custom_dimensions;
    Ok(on_db!(tx, tx => {
        sqlx::query_scalar(
            "INSERT INTO log_visit (idsite, idvisitor, config_id, location_ip, user_id, \
             visit_first_action_time, visit_last_action_time, visitor_returning, visitor_count_visits, \
             visitor_seconds_since_first, visitor_seconds_since_order, visitor_seconds_since_last, \
             visit_entry_idaction_name, visit_entry_idaction_url, visit_exit_idaction_name, \
             visit_exit_idaction_url, visit_total_actions, visit_total_interactions, \
             visit_total_searches, visit_total_events, visit_total_time, visitor_localtime, \
             referer_type, referer_name, referer_keyword, referer_url, config_os, config_os_version, \
             config_browser_name, config_browser_version, config_browser_engine, config_client_type, \
             config_device_type, config_device_brand, config_device_model, config_resolution, \
             config_flash, config_java, config_pdf, config_quicktime, config_realplayer, \
             config_windowsmedia, config_silverlight, config_cookie, location_browser_lang, \
             location_country, location_region, location_city, location_latitude, location_longitude, \
             profilable, campaign_name, campaign_keyword, custom_dimension_1, custom_dimension_2, \
             custom_dimension_3, custom_dimension_4, custom_dimension_5) VALUES ($1, $2, $3, $4, $5, \
             $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
             $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, \
             $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51, $52, $53, $54, $55, $56, $57, $58) \
             RETURNING idvisit",
        )
        .bind(v.idsite)
        .bind(&v.idvisitor)
        .bind(&v.config_id)
        .bind(&v.location_ip)
        .bind(&v.user_id)
        .bind(v.visit_first_action_time)
        .bind(v.visit_last_action_time)
        .bind(v.visitor_returning)
        .bind(v.visitor_count_visits)
        .bind(v.visitor_seconds_since_first)
        .bind(v.visitor_seconds_since_order)
        .bind(v.visitor_seconds_since_last)
        .bind(v.visit_entry_idaction_name)
        .bind(v.visit_entry_idaction_url)
        .bind(v.visit_exit_idaction_name)
        .bind(v.visit_exit_idaction_url)
        .bind(v.visit_total_actions)
        .bind(v.visit_total_interactions)
        .bind(v.visit_total_searches)
        .bind(v.visit_total_events)
        .bind(v.visit_total_time)
        .bind(&v.visitor_localtime)
        .bind(v.referer_type)
        .bind(&v.referer_name)
        .bind(&v.referer_keyword)
        .bind(&v.referer_url)
        .bind(&v.config_os)
        .bind(&v.config_os_version)
        .bind(&v.config_browser_name)
        .bind(&v.config_browser_version)
        .bind(&v.config_browser_engine)
        .bind(v.config_client_type)
        .bind(v.config_device_type)
        .bind(&v.config_device_brand)
        .bind(&v.config_device_model)
        .bind(&v.config_resolution)
        .bind(fla)
        .bind(java)
        .bind(pdf)
        .bind(qt)
        .bind(realp)
        .bind(wma)
        .bind(ag)
        .bind(cookie)
        .bind(&v.location_browser_lang)
        .bind(&v.location_country)
        .bind(&v.location_region)
        .bind(&v.location_city)
        .bind(v.location_latitude)
        .bind(v.location_longitude)
        .bind(v.profilable)
        .bind(&v.campaign_name)
        .bind(&v.campaign_keyword)
        .bind(d1)
        .bind(d2)
        .bind(d3)
        .bind(d4)
        .bind(d5)
        .fetch_one(&mut **tx)
        .await?
    }))
}

/// Applies an action of an existing visit. The last action time never moves backwards, entry
/// actions are only set when the visit has none, and custom dimensions keep their old value
/// unless the request sets one.
pub async fn update_visit(tx: &mut Tx, u: &VisitUpdate) -> Result<()> {
    let [d1, d2, d3, d4, d5] = &u.custom_dimensions;
    let (ref_type, ref_name, ref_keyword, ref_url) = match &u.referrer {
        Some(r) => (
            Some(r.kind),
            r.name.clone(),
            r.keyword.clone(),
            r.url.clone(),
        ),
        None => (None, None, None, None),
    };
    on_db!(tx, tx => {
        sqlx::query(
            "UPDATE log_visit SET idvisitor = $2, user_id = COALESCE($3, user_id), \
             visit_last_action_time = CASE WHEN visit_last_action_time > $4 THEN visit_last_action_time ELSE $4 END, \
             visit_total_time = $5, visit_total_actions = visit_total_actions + $6, \
             visit_total_interactions = visit_total_interactions + $7, \
             visit_total_searches = visit_total_searches + $8, visit_total_events = visit_total_events + $9, \
             visit_entry_idaction_url = COALESCE(visit_entry_idaction_url, $10), \
             visit_exit_idaction_url = CASE WHEN $22 = 1 THEN $11 ELSE visit_exit_idaction_url END, \
             visit_exit_idaction_name = CASE WHEN $22 = 1 THEN $12 ELSE visit_exit_idaction_name END, \
             referer_type = COALESCE($13, referer_type), referer_name = CASE WHEN $13 IS NULL THEN referer_name ELSE $14 END, \
             referer_keyword = CASE WHEN $13 IS NULL THEN referer_keyword ELSE $15 END, \
             referer_url = CASE WHEN $13 IS NULL THEN referer_url ELSE $16 END, \
             custom_dimension_1 = COALESCE($17, custom_dimension_1), custom_dimension_2 = COALESCE($18, custom_dimension_2), \
             custom_dimension_3 = COALESCE($19, custom_dimension_3), custom_dimension_4 = COALESCE($20, custom_dimension_4), \
             custom_dimension_5 = COALESCE($21, custom_dimension_5), \
             last_idlink_va = COALESCE($23, last_idlink_va), \
             last_idlink_va_time = COALESCE($24, last_idlink_va_time) \
             WHERE idvisit = $1",
        )
        .bind(u.idvisit)
        .bind(&u.idvisitor)
        .bind(&u.user_id)
        .bind(u.visit_last_action_time)
        .bind(u.visit_total_time)
        .bind(u.add_actions)
        .bind(u.add_interactions)
        .bind(u.add_searches)
        .bind(u.add_events)
        .bind(u.entry_idaction_url)
        .bind(u.exit.and_then(|(url, _)| url))
        .bind(u.exit.and_then(|(_, name)| name))
        .bind(ref_type)
        .bind(ref_name)
        .bind(ref_keyword)
        .bind(ref_url)
        .bind(d1)
        .bind(d2)
        .bind(d3)
        .bind(d4)
        .bind(d5)
        .bind(i64::from(u.exit.is_some()))
        .bind(u.last_action.map(|(id, _)| id))
        .bind(u.last_action.map(|(_, at)| at))
        .execute(&mut **tx)
        .await?;
    });
    Ok(())
}

/// Adds seconds to a visit's length (Matomo's conversion quirk, see `tracker::visit`).
pub async fn bump_visit_time(tx: &mut Tx, idvisit: i64, seconds: i64) -> Result<()> {
    on_db!(tx, tx => {
        sqlx::query("UPDATE log_visit SET visit_total_time = visit_total_time + $2 WHERE idvisit = $1")
            .bind(idvisit)
            .bind(seconds)
            .execute(&mut **tx)
            .await?;
    });
    Ok(())
}

/// Flags a visit as converted.
pub async fn mark_converted(tx: &mut Tx, idvisit: i64) -> Result<()> {
    on_db!(tx, tx => {
        sqlx::query("UPDATE log_visit SET visit_goal_converted = 1 WHERE idvisit = $1")
            .bind(idvisit)
            .execute(&mut **tx)
            .await?;
    });
    Ok(())
}

/// The latest action of a visit, by time.
pub async fn last_action(tx: &mut Tx, idvisit: i64) -> Result<Option<LastAction>> {
    Ok(on_db!(tx, tx => {
        sqlx::query_as(
            "SELECT idlink_va, server_time, idaction_url, idaction_name FROM log_link_visit_action \
             WHERE idvisit = $1 ORDER BY server_time DESC, idlink_va DESC LIMIT 1",
        )
        .bind(idvisit)
        .fetch_optional(&mut **tx)
        .await?
    }))
}

/// Sets the time spent on an action once the next one arrives.
pub async fn set_time_spent(tx: &mut Tx, idlink_va: i64, seconds: i64) -> Result<()> {
    on_db!(tx, tx => {
        sqlx::query("UPDATE log_link_visit_action SET time_spent = $2 WHERE idlink_va = $1")
            .bind(idlink_va)
            .bind(seconds)
            .execute(&mut **tx)
            .await?;
    });
    Ok(())
}

/// Inserts an action; returns its idlink_va.
pub async fn insert_action(tx: &mut Tx, a: &NewAction) -> Result<i64> {
    let [net, srv, tfr, dm1, dm2, onl] = a.timings;
    let [d1, d2, d3, d4, d5] = &a.custom_dimensions;
    Ok(on_db!(tx, tx => {
        sqlx::query_scalar(
            "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, idaction_url, \
             idaction_name, idaction_url_ref, idaction_name_ref, idpageview, pageview_position, \
             time_spent_ref_action, search_cat, search_count, custom_float, idaction_event_category, \
             idaction_event_action, idaction_content_name, idaction_content_piece, \
             idaction_content_target, idaction_content_interaction, time_network, time_server, \
             time_transfer, time_dom_processing, time_dom_completion, time_on_load, custom_dimension_1, \
             custom_dimension_2, custom_dimension_3, custom_dimension_4, custom_dimension_5) VALUES ($1, \
             $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26, $27, $28, $29, $30, $31) RETURNING idlink_va",
        )
        .bind(a.idsite)
        .bind(&a.idvisitor)
        .bind(a.idvisit)
        .bind(a.server_time)
        .bind(a.idaction_url)
        .bind(a.idaction_name)
        .bind(a.idaction_url_ref)
        .bind(a.idaction_name_ref)
        .bind(&a.idpageview)
        .bind(a.pageview_position)
        .bind(a.time_spent_ref_action)
        .bind(&a.search_cat)
        .bind(a.search_count)
        .bind(a.custom_float)
        .bind(a.idaction_event_category)
        .bind(a.idaction_event_action)
        .bind(a.idaction_content_name)
        .bind(a.idaction_content_piece)
        .bind(a.idaction_content_target)
        .bind(a.idaction_content_interaction)
        .bind(net)
        .bind(srv)
        .bind(tfr)
        .bind(dm1)
        .bind(dm2)
        .bind(onl)
        .bind(d1)
        .bind(d2)
        .bind(d3)
        .bind(d4)
        .bind(d5)
        .fetch_one(&mut **tx)
        .await?
    }))
}

/// Whether the visit already converted this goal (for goals that allow one conversion per visit).
pub async fn has_conversion(tx: &mut Tx, idvisit: i64, idgoal: i64) -> Result<bool> {
    let count: i64 = on_db!(tx, tx => {
        sqlx::query_scalar("SELECT COUNT(*) FROM log_conversion WHERE idvisit = $1 AND idgoal = $2")
            .bind(idvisit)
            .bind(idgoal)
            .fetch_one(&mut **tx)
            .await?
    });
    Ok(count > 0)
}

/// Inserts a conversion; a duplicate (same visit, goal and buster) is ignored.
pub async fn insert_conversion(tx: &mut Tx, c: &NewConversion) -> Result<bool> {
    let inserted = on_db!(tx, tx => {
        sqlx::query(
            "INSERT INTO log_conversion (idvisit, idsite, idvisitor, server_time, idaction_url, \
             idlink_va, idgoal, buster, url, revenue, visitor_returning, visitor_count_visits, \
             referer_type, referer_name, referer_keyword, pageviews_before) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING",
        )
        .bind(c.idvisit)
        .bind(c.idsite)
        .bind(&c.idvisitor)
        .bind(c.server_time)
        .bind(c.idaction_url)
        .bind(c.idlink_va)
        .bind(c.idgoal)
        .bind(c.buster)
        .bind(&c.url)
        .bind(c.revenue)
        .bind(c.visitor_returning)
        .bind(c.visitor_count_visits)
        .bind(c.referer_type)
        .bind(&c.referer_name)
        .bind(&c.referer_keyword)
        .bind(c.pageviews_before)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    });
    Ok(inserted > 0)
}

/// Records an edge request id; `false` when it was already stored (a retried batch).
pub async fn claim_request_id(tx: &mut Tx, request_id: &[u8], received_at: i64) -> Result<bool> {
    let inserted = on_db!(tx, tx => {
        sqlx::query(
            "INSERT INTO ingested_request (request_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(request_id)
        .bind(received_at)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    });
    Ok(inserted > 0)
}

/// Marks a past day of a site for re-archiving (Matomo's `report_to_invalidate_*`, spec 5.4).
pub async fn invalidate_day(tx: &mut Tx, idsite: i64, date: &str, now: i64) -> Result<()> {
    on_db!(tx, tx => {
        sqlx::query(
            "INSERT INTO archive_invalidation (idsite, date, ts_invalidated) VALUES ($1, $2, $3) \
             ON CONFLICT (idsite, date) DO UPDATE SET ts_invalidated = excluded.ts_invalidated",
        )
        .bind(idsite)
        .bind(date)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    });
    Ok(())
}
