//! `segment=` at the API (the parser and catalogue are `crate::segment`), and
//! `API.getSegmentsMetadata`.
//!
//! Every report request with a non-empty `segment=` is parsed once its sites' access is checked
//! (where Matomo's archive builds its `Segment`): a bad definition answers Matomo's error, a
//! segment the anonymous user may not use answers 401 as Matomo's `NoAccessException`, and a
//! valid one answers [`segment::NOT_SUPPORTED_YET`] until segmented archives exist. Never the
//! all-visits numbers.

use serde_json::{Map, Value};

use super::{
    params::ApiParams, render::Output, require_some, require_view, ApiError, ApiResult, Caller,
};
use crate::{
    http::AppState,
    segment::{self, catalogue},
    store::{Access, ANONYMOUS},
};

fn is_anonymous(caller: &Caller) -> bool {
    caller.owner.login == ANONYMOUS
}

/// Refuses any non-empty `segment=`: with Matomo's error when it is not valid, else because
/// segmented reports are not built yet.
pub(super) fn check(params: &ApiParams, caller: &Caller) -> ApiResult<()> {
    let Some(definition) = params.non_empty("segment") else {
        return Ok(());
    };
    let parsed = segment::parse(definition).map_err(|err| ApiError::Message(err.to_string()))?;
    if parsed.is_empty() {
        return Ok(());
    }
    if is_anonymous(caller) {
        if let Some(condition) = parsed
            .terms()
            .iter()
            .flatten()
            .find(|condition| !condition.dimension.anonymous)
        {
            return Err(ApiError::NoAccess(format!(
                "You do not have enough permission to access the segment {}",
                condition.dimension.segment
            )));
        }
    }
    Err(ApiError::Message(segment::NOT_SUPPORTED_YET.to_owned()))
}

/// `API.getSegmentsMetadata(idSites)`: `plugins/API/SegmentMetadata.php` with the default
/// `_hideImplementationData=1` (the SQL columns are not shown; `_hideImplementationData=0`
/// is refused rather than answered without them).
pub(super) async fn metadata(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
) -> ApiResult<Output> {
    if params
        .get("_hideImplementationData")
        .is_some_and(|v| v == "0" || v == "false")
    {
        return Err(ApiError::Message(
            "_hideImplementationData=0 is not supported: Edgemeter does not expose its SQL columns."
                .to_owned(),
        ));
    }
    match params.non_empty("idSites").map(str::trim) {
        None | Some("all") => require_some(state, caller, Access::View).await?,
        Some(list) => {
            for piece in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let idsite = piece.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                    ApiError::Message(format!(
                        "An unexpected website was found in the request: website id was set to '{piece}' ."
                    ))
                })?;
                require_view(state, caller, idsite).await?;
            }
        }
    }
    let registered = !is_anonymous(caller);
    let rows = catalogue::metadata_order()
        .into_iter()
        .map(|dimension| {
            let mut row = Map::new();
            row.insert("type".into(), dimension.kind.as_str().into());
            row.insert("category".into(), dimension.category.name().into());
            row.insert("name".into(), dimension.name.into());
            row.insert("segment".into(), dimension.segment.into());
            if let Some(accepted) = dimension.accepted {
                row.insert("acceptedValues".into(), accepted.into());
            }
            if !dimension.anonymous {
                row.insert("permission".into(), Value::Bool(registered));
            }
            Value::Object(row)
        })
        .collect();
    Ok(Output::Array(Value::Array(rows)))
}
