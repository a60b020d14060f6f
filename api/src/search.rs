//! `GET /api/v1/search`, its CSV export, and the statistics: `GET
//! /api/v1/stats` and the trends built on the same counts (a daily series,
//! a region × indicator breakdown, rising regions), from ClickHouse when the
//! node has it and from the search index otherwise.

use std::collections::BTreeMap;

use archive::stats::{Bucket, By, date_of, day_number};
use archive::{SearchQuery, SearchResult, Sort, Stats, StatsQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use model::{Channel, RegionCode, RegionLevel, Scope};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

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
    /// `province` (the default), `regency`, `district` or `village`.
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
    let query = search_query(p, 20)?;
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

/// The query `p` asks for, checked; `limit` when it names none.
fn search_query(p: Params, limit: usize) -> Result<SearchQuery, ApiError> {
    period(p.from, p.to)?;
    if p.min_score.is_some_and(|s| !s.is_finite()) {
        return Err(ApiError::invalid("min_score", "must be a number"));
    }
    Ok(SearchQuery {
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
        limit: p.limit.unwrap_or(limit),
        offset: p.offset.unwrap_or(0),
        after: p.after,
    })
}

/// The most rows one CSV export holds.
pub const EXPORT_ROWS: usize = 50_000;

/// The columns of a CSV export.
const EXPORT_COLUMNS: [&str; 11] = [
    "id",
    "received_at",
    "received_at_local",
    "time_zone",
    "region",
    "region_name",
    "indicators",
    "channel",
    "source",
    "title",
    "text",
];

/// A cell as a spreadsheet must not read it as a formula: one that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}").into() } else { text.into() }
}

/// One report as a row of [`EXPORT_COLUMNS`].
fn export_row(item: &model::ClassifiedReport) -> [String; 11] {
    let (r, c) = (&item.report, &item.classification);
    let region = r.region.as_ref().or(c.regions.first());
    // a report without a region is shown in Western Indonesian Time, as statistics count it
    let (zone, hours) = region.map_or(("WIB", 7), RegionCode::time_zone);
    let offset = time::UtcOffset::from_hms(hours, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let rfc3339 = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let indicators: Vec<String> = c.indicators.iter().map(|i| i.id.to_string()).collect();
    [
        r.id.to_string(),
        rfc3339(r.received_at.to_offset(time::UtcOffset::UTC)),
        rfc3339(r.received_at.to_offset(offset)),
        zone.to_owned(),
        region.map(|c| c.to_string()).unwrap_or_default(),
        cell(region.map_or("", RegionCode::name)).into_owned(),
        cell(&indicators.join(";")).into_owned(),
        r.channel.as_str().to_owned(),
        cell(&r.source).into_owned(),
        cell(r.title.as_deref().unwrap_or_default()).into_owned(),
        cell(&r.text).into_owned(),
    ]
}

/// Export every match of a search as CSV.
///
/// Takes the parameters of `GET /api/v1/search` but for `offset` and
/// `after`: every match from the first, in the search's order, at most
/// 50,000 (`limit`, default and most 50,000). `X-Total-Count` says how many
/// match in all and `X-Export-Rows` how many the file holds; when they
/// differ, the file was cut at the limit: narrow the search (a shorter
/// period, a region) to get the rest. UTF-8, one header row, columns `id`,
/// `received_at` (UTC), `received_at_local` and `time_zone` (the region's:
/// WIB, WITA or WIT), `region`, `region_name`, `indicators` (`;` between),
/// `channel`, `source`, `title`, `text`. A cell that starts with `=`, `+`,
/// `-` or `@` starts with `'` instead, so spreadsheets do not run it.
#[utoipa::path(get, path = "/api/v1/search/export", tag = "search", params(Params), responses(
    (status = 200, description = "The matches, as a CSV file", content_type = "text/csv", body = String,
     headers(
        ("content-disposition" = String, description = "attachment; filename=\"kentongan-YYYYMMDD.csv\""),
        ("x-total-count" = u64, description = "How many match in all"),
        ("x-export-rows" = u64, description = "How many rows the file holds (at most 50,000)"),
     )),
    (status = 422, body = ErrorBody, description = "a value is out of range, or `q` cannot be read"),
))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let index = state.api()?.index.clone();
    if p.offset.is_some() || p.after.is_some() {
        return Err(ApiError::invalid(
            "offset",
            "an export holds every match from the first: leave out `offset` and `after`",
        ));
    }
    let query = search_query(p, EXPORT_ROWS)?;
    if query.limit == 0 || query.limit > EXPORT_ROWS {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {EXPORT_ROWS}")));
    }
    let scope = caller.scope.clone();
    let found = tokio::task::spawn_blocking(move || index.export(&query, &scope, query.limit))
        .await
        .map_err(ApiError::internal)??;
    let (total, rows) = (found.total, found.len());
    // written on a blocking thread in chunks, and sent as they are made
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    tokio::task::spawn_blocking(move || {
        let mut reports = found.reports();
        let mut header = Some(EXPORT_COLUMNS);
        loop {
            let mut out = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
            if let Some(columns) = header.take() {
                let _ = out.write_record(columns);
            }
            let mut more = false;
            for item in reports.by_ref().take(200) {
                match item {
                    Ok(item) => {
                        let _ = out.write_record(export_row(&item));
                        more = true;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "export: a report could not be read; the file ends here");
                        more = false;
                        break;
                    }
                }
            }
            let Ok(chunk) = out.into_inner() else { return };
            // a client that went away ends the export
            if (!chunk.is_empty() && tx.blocking_send(chunk).is_err()) || !more {
                return;
            }
        }
    });
    // fused: the gzip layer polls a body once more after its end, and a bare
    // `unfold` panics then
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
    });
    let body = axum::body::Body::from_stream(futures_util::StreamExt::fuse(chunks));
    let wib = time::UtcOffset::from_hms(archive::stats::DAY_OFFSET_HOURS, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let today = state.clock.now().to_offset(wib).date();
    let filename = format!("kentongan-{:04}{:02}{:02}.csv", today.year(), u8::from(today.month()), today.day());
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        (HeaderName::from_static("x-total-count"), total.to_string()),
        (HeaderName::from_static("x-export-rows"), rows.to_string()),
    ];
    let mut response = body.into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, HeaderValue::from_str(&value).map_err(ApiError::internal)?);
    }
    Ok(response)
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
    Ok(Json(counts(&state, query, caller.scope.clone()).await?))
}

/// Counts from ClickHouse when this node has it, else from the search index.
async fn counts(state: &AppState, query: StatsQuery, scope: Scope) -> Result<Stats, ApiError> {
    if let Some(analytics) = &state.api()?.analytics {
        analytics.migrate().await?;
        return Ok(analytics.stats(&query, &scope).await?);
    }
    let index = state.api()?.index.clone();
    Ok(tokio::task::spawn_blocking(move || index.stats(&query, &scope)).await.map_err(ApiError::internal)??)
}

/// The longest period a series, a breakdown or a rise is counted over, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// A time the counts can be asked about: ClickHouse keeps times from 1970 to 2105.
fn in_range(field: &str, t: OffsetDateTime) -> Result<OffsetDateTime, ApiError> {
    if (1970..=2105).contains(&t.year()) {
        Ok(t)
    } else {
        Err(ApiError::invalid(field, "must be a time between 1970 and 2105"))
    }
}

/// `[from, to)` of a count: `to` defaults to now and `from` to 30 days
/// before it; at most [`MAX_PERIOD_DAYS`] apart.
fn count_period(
    state: &AppState,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
) -> Result<(OffsetDateTime, OffsetDateTime), ApiError> {
    if let Some(from) = from {
        in_range("from", from)?;
    }
    let to = in_range("to", to.unwrap_or_else(|| state.clock.now()))?;
    let from = in_range("from", from.unwrap_or(to - Duration::days(30)))?;
    if from >= to {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(ApiError::invalid(
            "from",
            format!(
                "the period may span at most {MAX_PERIOD_DAYS} days; for longer ones ask /api/v1/stats for weeks or months"
            ),
        ));
    }
    Ok((from, to))
}

/// The region of a trend question, which must lie within the caller's regions.
fn region_in_scope(caller: &Caller, value: Option<&str>) -> Result<Option<RegionCode>, ApiError> {
    let region = region_param(value)?;
    match (&region, &caller.scope) {
        (Some(r), Scope::Regions(own)) if !caller.scope.covers(Some(r)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "region: {r} ({}) is outside your regions ({}); choose one within them",
                r.name(),
                own.iter().map(RegionCode::as_str).collect::<Vec<_>>().join(", ")
            ),
        )),
        _ => Ok(region),
    }
}

/// The indicators of the rules in force, for rows that had no report.
fn indicators_in_force(state: &AppState) -> Result<Vec<String>, ApiError> {
    let classifier = state.api()?.rules.classifier();
    let mut out: Vec<String> = classifier.rules().rules.iter().map(|r| r.indicator.to_string()).collect();
    out.sort();
    out.dedup();
    Ok(out)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendParams {
    /// A region within your regions; default: all of yours. The series
    /// counts in it; the breakdown has a row for each region one level
    /// below it (without one: provinces for a national caller, regencies for
    /// a province's, districts for a city's).
    pub region: Option<String>,
    /// Only this indicator.
    pub indicator: Option<String>,
    #[param(inline)]
    pub channel: Option<Channel>,
    /// Happened from then (inclusive); default: 30 days before `to`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Happened before then (exclusive); default: now. At most 366 days after `from`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
}

/// Daily report counts per indicator for one region.
#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    /// The region asked for; absent for all your regions.
    pub region: Option<RegionCode>,
    /// Its name; `Indonesia` for a national caller without a region.
    pub name: String,
    /// Every day of the period in UTC+7, oldest first: `2026-11-23`.
    pub days: Vec<String>,
    /// Per indicator, the count of each day of `days` (zeros included).
    pub indicators: BTreeMap<String, Vec<u64>>,
    /// Where the numbers come from: `clickhouse` or `index`.
    pub source: String,
}

/// Daily counts per indicator for one region, zeros included: a time series.
///
/// Days are counted in UTC+7, as in `/api/v1/stats`; a report counts on the
/// day it happened, under its main region, once per indicator. Only reports
/// within your regions are counted.
#[utoipa::path(get, path = "/api/v1/stats/series", tag = "search", params(TrendParams), responses(
    (status = 200, body = Series, description = "One count per day and indicator"),
    (status = 403, body = ErrorBody, description = "the region is outside your regions"),
    (status = 422, body = ErrorBody, description = "a value is out of range"),
))]
pub async fn series(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<TrendParams>,
) -> Result<Json<Series>, ApiError> {
    let region = region_in_scope(&caller, p.region.as_deref())?;
    let (from, to) = count_period(&state, p.from, p.to)?;
    let first = day_number(from);
    let last = day_number(to - Duration::nanoseconds(1));
    let days: Vec<String> = (first..=last).map(|d| date_of(d).to_string()).collect();
    let mut indicators: BTreeMap<String, Vec<u64>> = match &p.indicator {
        Some(one) => [one.clone()].into_iter().collect::<Vec<_>>(),
        None => indicators_in_force(&state)?,
    }
    .into_iter()
    .map(|i| (i, vec![0; days.len()]))
    .collect();
    let query = StatsQuery {
        indicator: p.indicator,
        region: region.clone(),
        channel: p.channel,
        from: Some(from),
        to: Some(to),
        bucket: Bucket::Day,
        by: By::Province,
    };
    let stats = counts(&state, query, caller.scope.clone()).await?;
    for row in &stats.rows {
        let Ok(date) = time::Date::parse(&row.start, &time::macros::format_description!("[year]-[month]-[day]")) else {
            continue;
        };
        let day = i64::from(date.to_julian_day() - date_of(0).to_julian_day());
        if let Some(slot) = usize::try_from(day - first).ok().filter(|i| *i < days.len()) {
            indicators.entry(row.indicator.clone()).or_insert_with(|| vec![0; days.len()])[slot] += row.count;
        }
    }
    let name = match (&region, &caller.scope) {
        (Some(r), _) => r.name().to_owned(),
        (None, Scope::All) => "Indonesia".to_owned(),
        (None, Scope::Regions(own)) => own.iter().map(RegionCode::name).collect::<Vec<_>>().join(", "),
    };
    Ok(Json(Series { region, name, days, indicators, source: stats.source }))
}

/// The regions one level below `region`, or below the caller's regions
/// without one (provinces for a national caller), and their level.
fn level_below(caller: &Caller, region: Option<&RegionCode>) -> Result<(By, Vec<RegionCode>), ApiError> {
    let parents: Vec<RegionCode> = match (region, &caller.scope) {
        (Some(r), _) => vec![r.clone()],
        (None, Scope::All) => Vec::new(),
        (None, Scope::Regions(own)) => own.clone(),
    };
    let level = match parents.iter().map(RegionCode::level).min() {
        None => RegionLevel::Province,
        Some(RegionLevel::Province) => RegionLevel::Regency,
        Some(RegionLevel::Regency) => RegionLevel::District,
        Some(RegionLevel::District) => RegionLevel::Village,
        Some(RegionLevel::Village) => {
            return Err(ApiError::invalid("region", "a village has no regions below it; choose a district or above"));
        }
    };
    let all = model::regions();
    let mut rows: Vec<RegionCode> = if parents.is_empty() {
        all.at_level(level, None).to_vec()
    } else {
        parents.iter().flat_map(|p| all.at_level(level, Some(p))).cloned().collect()
    };
    // a region of the caller's that lies below the level shows as the one above it
    rows.extend(parents.iter().filter(|p| p.level() >= level).filter_map(|p| p.at_level(level)));
    rows.sort();
    rows.dedup();
    Ok((By::of(level), rows))
}

/// One region of a breakdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownRow {
    pub region: RegionCode,
    pub name: String,
    /// Reports per indicator (every indicator of `indicators`, zeros included).
    pub counts: BTreeMap<String, u64>,
    /// The sum of `counts`.
    pub total: u64,
}

/// A region × indicator table for a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Breakdown {
    /// The level of the rows.
    pub level: RegionLevel,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// The columns.
    pub indicators: Vec<String>,
    /// Every region at `level` below the one asked for, zeros included, by code.
    pub rows: Vec<BreakdownRow>,
    /// Per indicator, the sum of the rows.
    pub totals: BTreeMap<String, u64>,
    /// Per indicator, reports whose main region is not known down to `level`.
    pub unplaced: BTreeMap<String, u64>,
    /// Where the numbers come from: `clickhouse` or `index`.
    pub source: String,
}

/// Report counts per region one level below yours and per indicator, for a period.
///
/// Provinces for a national caller, regencies for a province's, districts
/// for a city's; or the regions below `region`. Every region of that level
/// is a row, with zeros. Reports count under their main region, once per
/// indicator; only reports within your regions are counted.
#[utoipa::path(get, path = "/api/v1/stats/breakdown", tag = "search", params(TrendParams), responses(
    (status = 200, body = Breakdown, description = "One row per region, one count per indicator"),
    (status = 403, body = ErrorBody, description = "the region is outside your regions"),
    (status = 422, body = ErrorBody, description = "a value is out of range"),
))]
pub async fn breakdown(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<TrendParams>,
) -> Result<Json<Breakdown>, ApiError> {
    let region = region_in_scope(&caller, p.region.as_deref())?;
    let (from, to) = count_period(&state, p.from, p.to)?;
    let (by, regions) = level_below(&caller, region.as_ref())?;
    let indicators = match &p.indicator {
        Some(one) => vec![one.clone()],
        None => indicators_in_force(&state)?,
    };
    let query = StatsQuery {
        indicator: p.indicator,
        region,
        channel: p.channel,
        from: Some(from),
        to: Some(to),
        bucket: Bucket::Month,
        by,
    };
    let stats = counts(&state, query, caller.scope.clone()).await?;
    let zeros: BTreeMap<String, u64> = indicators.iter().map(|i| (i.clone(), 0)).collect();
    let mut rows: BTreeMap<String, BreakdownRow> = regions
        .into_iter()
        .map(|r| {
            let row = BreakdownRow { name: r.name().to_owned(), region: r.clone(), counts: zeros.clone(), total: 0 };
            (r.to_string(), row)
        })
        .collect();
    let (mut totals, mut unplaced) = (zeros.clone(), BTreeMap::new());
    for row in &stats.rows {
        match rows.get_mut(&row.region) {
            Some(r) => {
                *r.counts.entry(row.indicator.clone()).or_default() += row.count;
                r.total += row.count;
                *totals.entry(row.indicator.clone()).or_default() += row.count;
            }
            None => *unplaced.entry(row.indicator.clone()).or_default() += row.count,
        }
    }
    let mut indicators = indicators;
    indicators.extend(totals.keys().filter(|k| !zeros.contains_key(*k)).cloned());
    indicators.sort();
    for row in rows.values_mut() {
        for i in &indicators {
            row.counts.entry(i.clone()).or_default();
        }
    }
    Ok(Json(Breakdown {
        level: by.level(),
        from,
        to,
        indicators,
        rows: rows.into_values().collect(),
        totals,
        unplaced,
        source: stats.source,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RisingParams {
    /// Compare the regions below this one (within your regions); default:
    /// the level below your regions, as in the breakdown.
    pub region: Option<String>,
    /// Only this indicator.
    pub indicator: Option<String>,
    #[param(inline)]
    pub channel: Option<Channel>,
    /// The end of the recent window (exclusive); default: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// The recent window, in days: 1 to 31, default 7.
    pub days: Option<i64>,
    /// The baseline just before it, in days: at least `days`, at most 335, default 28.
    pub baseline_days: Option<i64>,
    /// At most this many rows: 1 to 200, default 20.
    pub limit: Option<usize>,
}

/// A region and indicator whose count rose against its baseline.
#[derive(Debug, Serialize, ToSchema)]
pub struct RisingRow {
    pub region: RegionCode,
    pub name: String,
    pub indicator: String,
    /// Reports in the recent window.
    pub recent: u64,
    /// Reports in the baseline period.
    pub baseline: u64,
    /// The baseline scaled to the recent window's length: what a steady count would give.
    pub expected: f64,
    /// `(recent + 1) / (expected + 1)`: how far above its usual the region is; what rows are ranked by.
    pub ratio: f64,
}

/// Regions whose recent counts rose above their baseline, ranked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rising {
    pub level: RegionLevel,
    /// The recent window `[recent_from, to)` and the baseline `[baseline_from, recent_from)`.
    #[serde(with = "time::serde::rfc3339")]
    pub baseline_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recent_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// Highest ratio first; only rows whose recent count is above the expected one.
    pub rows: Vec<RisingRow>,
    /// Where the numbers come from: `clickhouse` or `index`.
    pub source: String,
}

/// Top rising regions: the recent count of each region and indicator against its baseline.
///
/// Regions one level below yours (or below `region`), as in the breakdown.
/// The recent window (default the last 7 days) is compared with the
/// baseline just before it (default 28 days), scaled to the window's
/// length; rows are ranked by `(recent + 1) / (expected + 1)`. Only
/// reports within your regions are counted.
#[utoipa::path(get, path = "/api/v1/stats/rising", tag = "search", params(RisingParams), responses(
    (status = 200, body = Rising, description = "Rising regions and indicators, highest first"),
    (status = 403, body = ErrorBody, description = "the region is outside your regions"),
    (status = 422, body = ErrorBody, description = "a value is out of range"),
))]
pub async fn rising(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<RisingParams>,
) -> Result<Json<Rising>, ApiError> {
    let region = region_in_scope(&caller, p.region.as_deref())?;
    let days = p.days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(ApiError::invalid("days", "must be between 1 and 31"));
    }
    let baseline_days = p.baseline_days.unwrap_or(28);
    if baseline_days < days || days + baseline_days > MAX_PERIOD_DAYS {
        return Err(ApiError::invalid(
            "baseline_days",
            format!("must be at least `days` ({days}) and at most {}", MAX_PERIOD_DAYS - days),
        ));
    }
    let limit = p.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let to = in_range("to", p.to.unwrap_or_else(|| state.clock.now()))?;
    let recent_from = to - Duration::days(days);
    let baseline_from = in_range("to", recent_from - Duration::days(baseline_days))?;
    let (by, regions) = level_below(&caller, region.as_ref())?;
    let query = |from, to| StatsQuery {
        indicator: p.indicator.clone(),
        region: region.clone(),
        channel: p.channel,
        from: Some(from),
        to: Some(to),
        bucket: Bucket::Month,
        by,
    };
    // both windows asked at once
    let (recent, before) = futures_util::future::try_join(
        counts(&state, query(recent_from, to), caller.scope.clone()),
        counts(&state, query(baseline_from, recent_from), caller.scope.clone()),
    )
    .await?;
    let shown: std::collections::HashSet<&str> = regions.iter().map(RegionCode::as_str).collect();
    let mut pairs: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for (stats, recent) in [(&recent, true), (&before, false)] {
        for row in stats.rows.iter().filter(|r| shown.contains(r.region.as_str())) {
            let pair = pairs.entry((row.region.clone(), row.indicator.clone())).or_default();
            if recent { pair.0 += row.count } else { pair.1 += row.count }
        }
    }
    let scale = days as f64 / baseline_days as f64;
    let mut rows: Vec<RisingRow> = pairs
        .into_iter()
        .filter_map(|((region, indicator), (recent, baseline))| {
            let expected = baseline as f64 * scale;
            let region = RegionCode::parse(&region).ok()?;
            (recent as f64 > expected).then(|| RisingRow {
                name: region.name().to_owned(),
                region,
                indicator,
                recent,
                baseline,
                expected,
                ratio: (recent as f64 + 1.0) / (expected + 1.0),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.ratio.total_cmp(&a.ratio).then(b.recent.cmp(&a.recent)).then(a.region.cmp(&b.region)));
    rows.truncate(limit);
    Ok(Json(Rising { level: by.level(), baseline_from, recent_from, to, rows, source: recent.source }))
}
