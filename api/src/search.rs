//! `GET /api/v1/search` and `GET /api/v1/stats`.

use archive::stats::{Bucket, By};
use archive::{SearchQuery, SearchResult, Sort, Stats, StatsQuery};
use axum::Json;
use axum::extract::State;
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
    pub source: Option<String>,
    pub language: Option<String>,
    pub min_score: Option<f64>,
    pub sort: Option<Sort>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    pub indicator: Option<String>,
    pub region: Option<String>,
    pub channel: Option<Channel>,
    /// RFC 3339, on `reported_at`; inclusive.
    pub from: Option<String>,
    /// RFC 3339; exclusive.
    pub to: Option<String>,
    pub bucket: Option<Bucket>,
    pub by: Option<By>,
}

fn region_param(value: Option<&str>) -> Result<Option<RegionCode>, ApiError> {
    value.map(|r| RegionCode::parse(r).map_err(|e| ApiError::invalid("region", e))).transpose()
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                let shown: String = v.chars().take(40).collect();
                ApiError::invalid(name, format!("`{shown}` is not an RFC 3339 time like 2026-11-29T00:00:00Z"))
            })
        })
        .transpose()
}

/// `from` and `to` of a query, which must be in that order.
fn period(from: Option<&str>, to: Option<&str>) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), ApiError> {
    let (from, to) = (time_param("from", from)?, time_param("to", to)?);
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    Ok((from, to))
}

/// Searches the archive within the caller's scope.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Json<SearchResult>, ApiError> {
    let index = state.index.clone().ok_or_else(|| ApiError::not_found("this node keeps no archive;"))?;
    let (from, to) = period(p.from.as_deref(), p.to.as_deref())?;
    if p.min_score.is_some_and(|s| !s.is_finite()) {
        return Err(ApiError::invalid("min_score", "must be a number"));
    }
    let query = SearchQuery {
        q: p.q,
        indicator: p.indicator,
        region: region_param(p.region.as_deref())?,
        channel: p.channel,
        source: p.source,
        language: p.language,
        from,
        to,
        min_score: p.min_score,
        sort: p.sort.unwrap_or_default(),
        limit: p.limit.unwrap_or(20),
        offset: p.offset.unwrap_or(0),
        after: p.after,
    };
    if query.after.is_some() && query.offset > 0 {
        return Err(ApiError::invalid("after", "use either `after` or `offset`, not both"));
    }
    if query.limit > 1000 {
        return Err(ApiError::invalid("limit", "must be at most 1000"));
    }
    if query.offset.saturating_add(query.limit) > 10_000 {
        return Err(ApiError::invalid(
            "offset",
            "offset + limit must be at most 10000: page on with `after` (the `next` of each page)",
        ));
    }
    let scope = caller.scope.clone();
    let result =
        tokio::task::spawn_blocking(move || index.search(&query, &scope)).await.map_err(ApiError::internal)??;
    Ok(Json(result))
}

/// Counts by indicator, region and time bucket within the caller's scope:
/// from ClickHouse when this node has it, else from the search index.
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> Result<Json<Stats>, ApiError> {
    let (from, to) = period(p.from.as_deref(), p.to.as_deref())?;
    let query = StatsQuery {
        indicator: p.indicator,
        region: region_param(p.region.as_deref())?,
        channel: p.channel,
        from,
        to,
        bucket: p.bucket.unwrap_or_default(),
        by: p.by.unwrap_or_default(),
    };
    let scope = caller.scope.clone();
    if let Some(analytics) = &state.analytics {
        return Ok(Json(analytics.stats(&query, &scope).await?));
    }
    let index = state.index.clone().ok_or_else(|| ApiError::not_found("this node keeps no archive;"))?;
    let stats =
        tokio::task::spawn_blocking(move || index.stats(&query, &scope)).await.map_err(ApiError::internal)??;
    Ok(Json(stats))
}
