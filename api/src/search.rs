//! `GET /api/v1/search`.

use axum::Json;
use axum::extract::State;
use indexer::{SearchQuery, SearchResult};
use model::{Channel, RegionCode};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub q: Option<String>,
    pub indicator: Option<String>,
    pub region: Option<String>,
    pub channel: Option<Channel>,
    /// RFC 3339; inclusive.
    pub from: Option<String>,
    /// RFC 3339; exclusive.
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                ApiError::invalid(name, format!("`{v}` is not an RFC 3339 time like 2026-11-29T00:00:00Z"))
            })
        })
        .transpose()
}

/// Searches the archive within the caller's scope.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Json<SearchResult>, ApiError> {
    let index = state.index.clone().ok_or_else(|| ApiError::not_found("this node keeps no archive;"))?;
    let region =
        p.region.as_deref().map(|r| RegionCode::parse(r).map_err(|e| ApiError::invalid("region", e))).transpose()?;
    let query = SearchQuery {
        q: p.q,
        indicator: p.indicator,
        region,
        channel: p.channel,
        from: time_param("from", p.from.as_deref())?,
        to: time_param("to", p.to.as_deref())?,
        limit: p.limit.unwrap_or(20),
        offset: p.offset.unwrap_or(0),
    };
    if query.limit > 1000 {
        return Err(ApiError::invalid("limit", "must be at most 1000"));
    }
    if query.offset.saturating_add(query.limit) > 10_000 {
        return Err(ApiError::invalid(
            "offset",
            "offset + limit must be at most 10000: narrow the search with filters",
        ));
    }
    let scope = caller.scope.clone();
    let result =
        tokio::task::spawn_blocking(move || index.search(&query, &scope)).await.map_err(ApiError::internal)??;
    Ok(Json(result))
}
