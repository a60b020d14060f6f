//! `GET /api/v1/search` and `GET /api/v1/stats`.

use archive::stats::{Bucket, By};
use archive::{SearchQuery, SearchResult, Sort, Stats, StatsQuery};
use axum::Json;
use axum::extract::State;
use model::{Channel, RegionCode};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// Words, "phrases", AND, OR, NOT, title:word.
    pub q: Option<String>,
    /// An indicator id.
    pub indicator: Option<String>,
    /// A region code; everything under it.
    pub region: Option<String>,
    #[param(inline)]
    pub channel: Option<Channel>,
    /// Received from then (inclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Received before then (exclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// Where it came from: a feed, an office.
    pub source: Option<String>,
    /// `ind`, `eng` or `jav`.
    pub language: Option<String>,
    /// Only reports whose indicator scores add up to this.
    pub min_score: Option<f64>,
    /// `relevance` (the default with `q`), `newest` (the default without), `oldest`.
    #[param(inline)]
    pub sort: Option<Sort>,
    /// At most 1000, default 20.
    pub limit: Option<usize>,
    /// Skip this many (offset + limit at most 10000).
    pub offset: Option<usize>,
    /// The `next` of the previous page, for pages beyond.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// An indicator id.
    pub indicator: Option<String>,
    /// A region code; everything under it.
    pub region: Option<String>,
    #[param(inline)]
    pub channel: Option<Channel>,
    /// Happened from then (inclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Happened before then (exclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// `day` (the default), `week` or `month`; days in UTC+7.
    #[param(inline)]
    pub bucket: Option<Bucket>,
    /// `province` (the default) or `regency`.
    #[param(inline)]
    pub by: Option<By>,
}

fn region_param(value: Option<&str>) -> Result<Option<RegionCode>, ApiError> {
    value.map(|r| RegionCode::parse(r).map_err(|e| ApiError::invalid("region", e))).transpose()
}

/// `from` and `to` of a query, which must be in that order.
pub fn period(from: Option<OffsetDateTime>, to: Option<OffsetDateTime>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(f), Some(t)) if f >= t => Err(ApiError::invalid("from", "must be before `to`")),
        _ => Ok(()),
    }
}

/// Search the archive within your regions.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(Params), responses(
    (status = 200, body = SearchResult, description = "One page of matches, with counts of all"),
    (status = 422, body = ErrorBody, description = "a value is out of range, or `q` cannot be read"),
))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Json<SearchResult>, ApiError> {
    let index = state.api()?.index.clone();
    period(p.from, p.to)?;
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
        from: p.from,
        to: p.to,
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

/// Report counts by indicator, region and day, week or month, within your regions.
///
/// From ClickHouse when this node has it, else from the search index.
#[utoipa::path(get, path = "/api/v1/stats", tag = "search", params(StatsParams), responses(
    (status = 200, body = Stats, description = "Counts, with totals and region names"),
    (status = 422, body = ErrorBody, description = "a value is out of range"),
))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> Result<Json<Stats>, ApiError> {
    period(p.from, p.to)?;
    let query = StatsQuery {
        indicator: p.indicator,
        region: region_param(p.region.as_deref())?,
        channel: p.channel,
        from: p.from,
        to: p.to,
        bucket: p.bucket.unwrap_or_default(),
        by: p.by.unwrap_or_default(),
    };
    let scope = caller.scope.clone();
    if let Some(analytics) = &state.api()?.analytics {
        return Ok(Json(analytics.stats(&query, &scope).await?));
    }
    let index = state.api()?.index.clone();
    let stats =
        tokio::task::spawn_blocking(move || index.stats(&query, &scope)).await.map_err(ApiError::internal)??;
    Ok(Json(stats))
}
