//! The All websites numbers (Matomo's MultiSites): visits and actions per site for a period and
//! their change against the previous period, read through the Reporting API's own functions
//! (`VisitsSummary.get` per site), so the page and the API cannot disagree.
//!
//! Revenue needs `Goals.get`, which the report catalogue does not have yet: the page leaves the
//! column out rather than show a number it cannot compute.

use serde::Serialize;
use serde_json::Value;

use crate::{
    api::{self, dates, ApiError, ApiParams, ApiResult, Caller, Dates, Output},
    http::AppState,
    reports::PeriodKind,
    store::now_unix,
};

/// One row of the page.
#[derive(Debug, Serialize)]
pub(super) struct SiteRow {
    idsite: i64,
    name: String,
    pub(super) visits: i64,
    pub(super) actions: i64,
    visits_change: String,
    actions_change: String,
}

/// The sites the caller may view, with their numbers for `period`/`date` (one period: `day`,
/// `week`, `month` or `year`).
pub(super) async fn all_websites(
    state: &AppState,
    caller: &Caller,
    period: &str,
    date: &str,
) -> ApiResult<Vec<SiteRow>> {
    let kind = dates::parse_kind(period).map_err(ApiError::Message)?;
    if kind == PeriodKind::Range {
        return Err(ApiError::Message(
            "The All websites page shows one day, week, month or year; period=range is not supported here."
                .to_owned(),
        ));
    }
    let mut rows = Vec::new();
    for idsite in state.store.sites_with_view_access(&caller.owner).await? {
        let info = api::site_info(state, idsite).await?;
        let today = info.tz.local_date(now_unix());
        let Dates::Single(current) = dates::parse(kind, date, today).map_err(ApiError::Message)?
        else {
            return Err(ApiError::Message(
                "The All websites page shows one period: give one date, not lastN or a list."
                    .to_owned(),
            ));
        };
        let previous_day = current.start.pred_opt().unwrap_or(current.start);
        let previous = dates::containing(kind, previous_day);
        let now = visits_summary(state, caller, idsite, period, &current.start.to_string()).await?;
        let before =
            visits_summary(state, caller, idsite, period, &previous.start.to_string()).await?;
        rows.push(SiteRow {
            idsite,
            name: info.site.name.clone(),
            visits: now.0,
            actions: now.1,
            visits_change: evolution(now.0, before.0),
            actions_change: evolution(now.1, before.1),
        });
    }
    Ok(rows)
}

/// `(nb_visits, nb_actions)` of `VisitsSummary.get` for one site and period.
async fn visits_summary(
    state: &AppState,
    caller: &Caller,
    idsite: i64,
    period: &str,
    date: &str,
) -> ApiResult<(i64, i64)> {
    let query = format!("method=VisitsSummary.get&idSite={idsite}&period={period}&date={date}");
    let params = ApiParams::parse(query.as_bytes());
    let metric = |map: &serde_json::Map<String, Value>, name: &str| {
        map.get(name).and_then(Value::as_i64).unwrap_or(0)
    };
    match api::run(state, &params, caller).await? {
        Output::Simple(map) => Ok((metric(&map, "nb_visits"), metric(&map, "nb_actions"))),
        other => Err(ApiError::Internal(format!(
            "VisitsSummary.get answered an unexpected shape: {other:?}"
        ))),
    }
}

/// The change from `past` to `current` as Matomo's MultiSites shows it: a percentage with at most
/// one decimal and a sign, `+100%` from nothing, `0%` from nothing to nothing
/// (`core/DataTable/Filter/CalculateEvolutionFilter.php`, `getPercentageValue`).
fn evolution(current: i64, past: i64) -> String {
    let ratio = match (current, past) {
        (0, 0) => 0.0,
        (_, 0) => 1.0,
        _ => (current - past) as f64 / past as f64,
    };
    let percent = (ratio * 1000.0).round() / 10.0;
    let sign = if percent > 0.0 { "+" } else { "" };
    format!("{sign}{percent}%")
}

#[cfg(test)]
mod tests {
    use super::evolution;

    #[test]
    fn evolution_is_a_signed_percentage_with_one_decimal() {
        assert_eq!(evolution(15, 10), "+50%");
        assert_eq!(evolution(10, 15), "-33.3%");
        assert_eq!(evolution(3, 0), "+100%");
        assert_eq!(evolution(0, 0), "0%");
        assert_eq!(evolution(0, 4), "-100%");
    }
}
