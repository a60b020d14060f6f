//! `GET /api/v1/regions`: the bundled Kemendagri region list down to
//! districts, for region pickers, maps and times in the region's zone.
//!
//! Public: the list is open data (idn-area-data) that ships with the binary
//! and says nothing about reports, and the report form and the sign-in page
//! need it before anyone signs in (an installed app caches it for offline
//! use). The answer changes only with a new binary, so it carries an ETag
//! and may be cached for a day.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::{RegionCode, RegionLevel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiQuery};

/// The levels listed: villages (83,762 of them) are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListedLevel {
    Province,
    Regency,
    District,
}

impl From<ListedLevel> for RegionLevel {
    fn from(level: ListedLevel) -> Self {
        match level {
            ListedLevel::Province => RegionLevel::Province,
            ListedLevel::Regency => RegionLevel::Regency,
            ListedLevel::District => RegionLevel::District,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegionsQuery {
    /// A region code: only that region and the regions under it (`72.71`: Kota Palu and its districts).
    pub prefix: Option<String>,
    /// Only regions of this level.
    #[param(inline)]
    pub level: Option<ListedLevel>,
}

/// One region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Region {
    pub code: RegionCode,
    /// As people write it: `Sulawesi Tengah`, `Kota Palu`, `Kabupaten Poso`, `Palu Barat`.
    pub name: String,
    pub level: RegionLevel,
    /// The region one level up; absent for a province.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<RegionCode>,
    /// The centroid (degrees, to 4 decimals), for a map pin.
    pub lat: f64,
    pub lon: f64,
    /// The time zone of its province: `WIB` (UTC+7), `WITA` (UTC+8) or `WIT` (UTC+9).
    pub zone: &'static str,
}

/// Regions, by code.
#[derive(Debug, Serialize, ToSchema)]
pub struct Regions {
    pub regions: Vec<Region>,
}

/// Every province, regency or city and district, by code.
fn all() -> &'static [Region] {
    static ALL: OnceLock<Vec<Region>> = OnceLock::new();
    ALL.get_or_init(|| {
        let round = |x: f64| (x * 1e4).round() / 1e4;
        let mut out: Vec<Region> = model::regions()
            .iter()
            .filter(|r| r.code.level() <= RegionLevel::District)
            .filter_map(|r| {
                // every region down to districts has one (a test of model says so)
                let at = model::region::centroid(&r.code)?;
                Some(Region {
                    code: r.code.clone(),
                    name: r.name.clone(),
                    level: r.code.level(),
                    parent: r.code.parent(),
                    lat: round(at.lat),
                    lon: round(at.lon),
                    zone: r.code.time_zone().0,
                })
            })
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    })
}

/// Every province, regency or city and district, with its name, parent, centroid and time zone.
///
/// No sign-in needed. Cache it: it changes only with a new release (`ETag`,
/// `Cache-Control: public, max-age=86400`); send `If-None-Match` to get 304.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions", params(RegionsQuery), responses(
    (status = 200, body = Regions),
    (status = 304, description = "unchanged since the ETag sent in If-None-Match"),
))]
pub async fn list(headers: HeaderMap, ApiQuery(q): ApiQuery<RegionsQuery>) -> Result<Response, ApiError> {
    let prefix = q
        .prefix
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", format!("prefix: {e}")))?;
    let level = q.level.map(RegionLevel::from);
    let regions: Vec<Region> = all()
        .iter()
        .filter(|r| prefix.as_ref().is_none_or(|p| r.code.is_within(p)))
        .filter(|r| level.is_none_or(|l| r.level == l))
        .cloned()
        .collect();
    let body = serde_json::to_vec(&Regions { regions }).map_err(ApiError::internal)?;
    // the same list from the same binary has the same tag on every node
    let mut hasher = std::hash::DefaultHasher::new();
    body.hash(&mut hasher);
    let etag = format!("\"{:016x}\"", hasher.finish());
    let cache = [
        (header::ETAG, HeaderValue::from_str(&etag).map_err(ApiError::internal)?),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
    ];
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((cache, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_every_level_down_to_districts_in_its_zone() {
        let regions = all();
        assert_eq!(regions.len(), 38 + 514 + 7_285);
        let by = |code: &str| regions.iter().find(|r| r.code.as_str() == code).unwrap();
        let palu = by("72.71");
        assert_eq!((palu.name.as_str(), palu.level, palu.zone), ("Kota Palu", RegionLevel::Regency, "WITA"));
        assert_eq!(palu.parent.as_ref().map(RegionCode::as_str), Some("72"));
        assert!((palu.lat + 0.84).abs() < 0.1 && (palu.lon - 119.91).abs() < 0.1);
        assert_eq!(by("72.02").name, "Kabupaten Poso");
        assert_eq!((by("72").name.as_str(), by("72").parent.is_none()), ("Sulawesi Tengah", true));
        assert_eq!((by("91").zone, by("31.71").zone), ("WIT", "WIB"));
        let json = serde_json::to_string(&Regions { regions: regions.to_vec() }).unwrap();
        // compact: about 110 bytes a region
        assert!(json.len() < 1_000_000, "{}", json.len());
    }
}
