//! Kemendagri region codes and the bundled region list (idn-area-data 4.0.1).
//!
//! A code has one to four parts: province `72`, regency or city `72.71`,
//! district `72.71.02`, village `72.71.02.1002`. Every [`RegionCode`] is known to
//! exist in the bundled list; a scope such as `72` covers every code under `72.`.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::report::GeoPoint;

/// The level of a region in the Kemendagri hierarchy, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegionLevel {
    Province,
    Regency,
    District,
    Village,
}

/// A Kemendagri region code that exists in the bundled region list.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

/// In the OpenAPI document: a string in the shape of a Kemendagri code.
impl utoipa::PartialSchema for RegionCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"))
            .description(Some("A Kemendagri region code: province `72`, regency `72.71`, district `72.71.02`, village `72.71.02.1001`"))
            .examples(["72.71"])
            .into()
    }
}

impl utoipa::ToSchema for RegionCode {}

impl RegionCode {
    /// Parses and checks a code against the bundled list.
    pub fn parse(code: &str) -> Result<Self, Error> {
        let code = code.trim();
        check_shape(code)?;
        if regions().get(code).is_none() {
            return Err(Error::UnknownRegion(code.to_owned()));
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> RegionLevel {
        // (bytes: a char pattern's searcher cost a national breakdown 20 ms
        // over the 91,000 regions)
        match self.0.bytes().filter(|b| *b == b'.').count() {
            0 => RegionLevel::Province,
            1 => RegionLevel::Regency,
            2 => RegionLevel::District,
            _ => RegionLevel::Village,
        }
    }

    /// The region one level up, or `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        self.0.rfind('.').map(|i| RegionCode(self.0[..i].to_owned()))
    }

    /// The province this region lies in (itself for a province).
    pub fn province(&self) -> RegionCode {
        RegionCode(self.0.split('.').next().unwrap_or_default().to_owned())
    }

    /// The ancestor at `level` (itself when it is at that level), or `None`
    /// when this code is above `level`.
    pub fn at_level(&self, level: RegionLevel) -> Option<RegionCode> {
        let len = match level {
            RegionLevel::Province => 2,
            RegionLevel::Regency => 5,
            RegionLevel::District => 8,
            RegionLevel::Village => 13,
        };
        (self.0.len() >= len).then(|| RegionCode(self.0[..len].to_owned()))
    }

    /// This code and every ancestor, from the province down to this code.
    pub fn lineage(&self) -> Vec<RegionCode> {
        let mut out: Vec<RegionCode> = std::iter::successors(Some(self.clone()), |c| c.parent()).collect();
        out.reverse();
        out
    }

    /// True when `self` equals `scope` or lies under it (`72.71.02` is within `72`).
    pub fn is_within(&self, scope: &RegionCode) -> bool {
        self.0 == scope.0
            || (self.0.len() > scope.0.len()
                && self.0.starts_with(&scope.0)
                && self.0.as_bytes()[scope.0.len()] == b'.')
    }

    /// Indonesia's time zone for this region: `("WIB", 7)`, `("WITA", 8)` or
    /// `("WIT", 9)`, with the offset from UTC in hours (by province).
    pub fn time_zone(&self) -> (&'static str, i8) {
        match self.province().as_str() {
            // Bali, Nusa Tenggara, South, East and North Kalimantan, Sulawesi
            "51" | "52" | "53" | "63" | "64" | "65" | "71" | "72" | "73" | "74" | "75" | "76" => ("WITA", 8),
            // Maluku and Papua
            "81" | "82" | "91" | "92" | "93" | "94" | "95" | "96" => ("WIT", 9),
            // Sumatra, Java, West and Central Kalimantan
            _ => ("WIB", 7),
        }
    }

    /// The official name, for example `Kota Palu`.
    pub fn name(&self) -> &'static str {
        regions().get(&self.0).map(|r| r.name.as_str()).unwrap_or("")
    }
}

impl TryFrom<String> for RegionCode {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        RegionCode::parse(&value)
    }
}

impl From<RegionCode> for String {
    fn from(value: RegionCode) -> String {
        value.0
    }
}

impl std::str::FromStr for RegionCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        RegionCode::parse(s)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.0)
    }
}

fn check_shape(code: &str) -> Result<(), Error> {
    let parts: Vec<&str> = code.split('.').collect();
    let widths = [2, 2, 2, 4];
    let ok = !parts.is_empty()
        && parts.len() <= 4
        && parts.iter().zip(widths).all(|(p, w)| p.len() == w && p.bytes().all(|b| b.is_ascii_digit()));
    if ok { Ok(()) } else { Err(Error::MalformedRegion(code.to_owned())) }
}

/// One entry of the bundled region list.
#[derive(Debug, Clone)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
}

/// The bundled Kemendagri region list, loaded once on first use.
#[derive(Debug)]
pub struct Regions {
    by_code: HashMap<String, Region>,
    /// The codes of each level (province first), in code order.
    by_level: [Vec<RegionCode>; 4],
}

impl Regions {
    pub fn get(&self, code: &str) -> Option<&Region> {
        self.by_code.get(code)
    }

    /// The regions at `level`, in code order: all of them, or those within
    /// `parent` (none when `parent` is at `level` or below it).
    pub fn at_level(&self, level: RegionLevel, parent: Option<&RegionCode>) -> &[RegionCode] {
        let all = &self.by_level[level as usize];
        let Some(parent) = parent else { return all };
        let prefix = format!("{}.", parent.as_str());
        let start = all.partition_point(|c| c.as_str() < prefix.as_str());
        let len = all[start..].partition_point(|c| c.as_str().starts_with(&prefix));
        &all[start..start + len]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.by_code.values()
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

const FILES: [&str; 4] = [
    include_str!("../data/regions/provinces.csv"),
    include_str!("../data/regions/regencies.csv"),
    include_str!("../data/regions/districts.csv"),
    include_str!("../data/regions/villages.csv"),
];

/// The bundled region list. The first call parses about 91,000 rows.
pub fn regions() -> &'static Regions {
    static REGIONS: OnceLock<Regions> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let mut by_code = HashMap::with_capacity(92_000);
        for file in FILES {
            let mut rdr = csv::Reader::from_reader(file.as_bytes());
            for row in rdr.records() {
                // The files are vendored and checked by the tests below.
                let Ok(row) = row else { continue };
                let (Some(code), Some(name)) = (row.get(0), row.get(row.len().saturating_sub(1))) else {
                    continue;
                };
                let code = code.to_owned();
                let region = Region { code: RegionCode(code.clone()), name: name.to_owned() };
                by_code.insert(code, region);
            }
        }
        let mut by_level: [Vec<RegionCode>; 4] = Default::default();
        for code in by_code.values().map(|r| &r.code) {
            by_level[code.level() as usize].push(code.clone());
        }
        by_level.iter_mut().for_each(|codes| codes.sort());
        Regions { by_code, by_level }
    })
}

/// Common short names of regions (`Sulteng`, `Pangkep`), from
/// `data/regions/aliases.toml`: (name as written, region).
pub fn aliases() -> &'static [(String, RegionCode)] {
    static ALIASES: OnceLock<Vec<(String, RegionCode)>> = OnceLock::new();
    ALIASES.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct File {
            aliases: std::collections::BTreeMap<String, String>,
        }
        let file: File = toml::from_str(include_str!("../data/regions/aliases.toml")).expect("bundled aliases parse");
        file.aliases
            .into_iter()
            .map(|(name, code)| (name, RegionCode::parse(&code).expect("bundled alias names a known region")))
            .collect()
    })
}

/// The region a map pin (a chat bot's location) lies in, as precisely as the
/// bundled data tells: the district whose centroid is nearest to the point
/// when it is within 30 km, else that district's regency when it is within
/// 100 km, else nothing (the open sea). A point within 5 km of an island of
/// the bundled list is placed in that island's regency (the nearest district
/// of that regency, or the regency itself), so a pin on a small island is not
/// given to the mainland district across the strait.
///
/// The bundled data has centroids, not boundaries: the nearest centroid is
/// the right district for most points, but near a border it can be the
/// neighbour's (the regency is wrong less often, the province rarely).
pub fn nearest(lat: f64, lon: f64) -> Option<RegionCode> {
    const DISTRICT_KM: f64 = 30.0;
    const REGENCY_KM: f64 = 100.0;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    let island = nearest_island(lat, lon);
    let (km, district) = centroids()
        .districts
        .iter()
        .filter(|(_, code)| island.as_ref().is_none_or(|i| code.is_within(i)))
        .map(|(p, code)| (haversine_km(lat, lon, p.lat, p.lon), code))
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    if km <= DISTRICT_KM {
        Some(district.clone())
    } else if island.is_some() {
        island
    } else if km <= REGENCY_KM {
        district.parent()
    } else {
        None
    }
}

/// The centroid of a region, for a map pin: its own when the bundled data has
/// one (provinces, regencies and districts), else its nearest ancestor's (a
/// village is pinned at its district).
pub fn centroid(code: &RegionCode) -> Option<GeoPoint> {
    let by_code = &centroids().by_code;
    std::iter::successors(Some(code.clone()), RegionCode::parent).find_map(|c| by_code.get(c.as_str()).copied())
}

/// The bundled centroids (`data/centroids/centroids.csv`).
struct Centroids {
    by_code: HashMap<String, GeoPoint>,
    /// Every district with its centroid, for [`nearest`].
    districts: Vec<(GeoPoint, RegionCode)>,
}

fn centroids() -> &'static Centroids {
    static CENTROIDS: OnceLock<Centroids> = OnceLock::new();
    CENTROIDS.get_or_init(|| {
        let mut by_code = HashMap::with_capacity(8_000);
        let mut districts = Vec::with_capacity(7_300);
        let mut rdr = csv::Reader::from_reader(include_str!("../data/centroids/centroids.csv").as_bytes());
        // the file is vendored and checked by the tests below
        for row in rdr.records().filter_map(Result::ok) {
            let (Some(code), Some(Ok(lat)), Some(Ok(lon))) =
                (row.get(0), row.get(1).map(str::parse::<f64>), row.get(2).map(str::parse::<f64>))
            else {
                continue;
            };
            let point = GeoPoint { lat, lon };
            let code = RegionCode(code.to_owned());
            if code.level() == RegionLevel::District {
                districts.push((point, code.clone()));
            }
            by_code.insert(code.0, point);
        }
        Centroids { by_code, districts }
    })
}

/// The regency of the island nearest to a point, when that island lies within
/// 5 km of it.
fn nearest_island(lat: f64, lon: f64) -> Option<RegionCode> {
    const MAX_KM: f64 = 5.0;
    let (km, code) = islands()
        .iter()
        .map(|(ilat, ilon, code)| (haversine_km(lat, lon, *ilat, *ilon), code))
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    (km <= MAX_KM).then(|| RegionCode(code.clone()))
}

fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

/// `03°19'03.44" N` → 3.3176
fn dms(value: &str, hemisphere: &str) -> Option<f64> {
    let (deg, rest) = value.split_once('°')?;
    let (min, rest) = rest.split_once('\'')?;
    let sec = rest.trim_end_matches('"');
    let v = deg.parse::<f64>().ok()? + min.parse::<f64>().ok()? / 60.0 + sec.parse::<f64>().ok()? / 3600.0;
    Some(if hemisphere == "S" || hemisphere == "W" { -v } else { v })
}

/// `(lat, lon, regency code)` of every island in the bundled list.
fn islands() -> &'static [(f64, f64, String)] {
    static ISLANDS: OnceLock<Vec<(f64, f64, String)>> = OnceLock::new();
    ISLANDS.get_or_init(|| {
        let mut rdr = csv::Reader::from_reader(include_str!("../data/regions/islands.csv").as_bytes());
        rdr.records()
            .filter_map(Result::ok)
            .filter_map(|row| {
                let parts: Vec<&str> = row.get(2)?.split_whitespace().collect();
                let [lat, ns, lon, ew] = parts.as_slice() else {
                    return None;
                };
                Some((dms(lat, ns)?, dms(lon, ew)?, row.get(1)?.to_owned()))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_levels_regions_within_a_parent_are_those_below_it() {
        let all = regions();
        for parent in ["72", "72.71", "72.71.02", "11", "81.71", "32.73.01.1001"] {
            let parent = RegionCode::parse(parent).unwrap();
            for level in [RegionLevel::Province, RegionLevel::Regency, RegionLevel::District, RegionLevel::Village] {
                let mut want: Vec<&RegionCode> =
                    all.iter().map(|r| &r.code).filter(|c| c.level() == level && c.is_within(&parent)).collect();
                want.sort();
                // (a region is within itself, but not among those below it)
                want.retain(|c| **c != parent);
                let got: Vec<&RegionCode> = all.at_level(level, Some(&parent)).iter().collect();
                assert_eq!(got, want, "{parent} {level:?}");
            }
        }
        assert_eq!(all.at_level(RegionLevel::Province, None).len(), 38);
        assert_eq!(all.at_level(RegionLevel::Village, None).len(), 83_762);
    }

    #[test]
    fn bundled_list_is_whole() {
        // every short name names a region of the list
        assert!(aliases().iter().any(|(name, code)| name == "sulteng" && code.as_str() == "72"), "{:?}", aliases());
        assert!(aliases().iter().all(|(_, code)| regions().get(code.as_str()).is_some()));
        let levels = |l: RegionLevel| regions().iter().filter(|r| r.code.level() == l).count();
        assert_eq!(levels(RegionLevel::Province), 38);
        assert_eq!(levels(RegionLevel::Regency), 514);
        assert_eq!(levels(RegionLevel::District), 7_285);
        assert_eq!(levels(RegionLevel::Village), 83_762);
        // every region's parent exists
        for r in regions().iter() {
            if let Some(p) = r.code.parent() {
                assert!(regions().get(p.as_str()).is_some(), "{} has no parent", r.code);
            }
        }
    }

    #[test]
    fn well_known_codes() {
        assert_eq!(RegionCode::parse("72.71").unwrap().name(), "Kota Palu");
        assert_eq!(RegionCode::parse("72").unwrap().name(), "Sulawesi Tengah");
        assert_eq!(RegionCode::parse("72.71.02").unwrap().name(), "Palu Barat");
        let v = RegionCode::parse("72.71.02.1002").unwrap();
        assert_eq!(v.level(), RegionLevel::Village);
        assert_eq!(v.province().as_str(), "72");
        assert_eq!(v.at_level(RegionLevel::Regency).unwrap().as_str(), "72.71");
        assert_eq!(RegionCode::parse("72").unwrap().at_level(RegionLevel::Regency), None);
        let lineage: Vec<String> = v.lineage().into_iter().map(String::from).collect();
        assert_eq!(lineage, ["72", "72.71", "72.71.02", "72.71.02.1002"]);
        assert_eq!(v.time_zone(), ("WITA", 8));
        assert_eq!(RegionCode::parse("31.71").unwrap().time_zone(), ("WIB", 7));
        assert_eq!(RegionCode::parse("91").unwrap().time_zone(), ("WIT", 9));
    }

    #[test]
    fn every_province_has_its_time_zone() {
        let wita = [
            "Bali",
            "Nusa Tenggara Barat",
            "Nusa Tenggara Timur",
            "Kalimantan Selatan",
            "Kalimantan Timur",
            "Kalimantan Utara",
            "Sulawesi Utara",
            "Sulawesi Tengah",
            "Sulawesi Selatan",
            "Sulawesi Tenggara",
            "Gorontalo",
            "Sulawesi Barat",
        ];
        let mut provinces: Vec<&Region> =
            regions().iter().filter(|r| r.code.level() == RegionLevel::Province).collect();
        provinces.sort_by(|a, b| a.code.cmp(&b.code));
        assert_eq!(provinces.len(), 38);
        for p in provinces {
            let expected = match p.name.as_str() {
                n if n.starts_with("Papua") || n.starts_with("Maluku") => ("WIT", 9),
                n if wita.contains(&n) => ("WITA", 8),
                // Sumatra and its islands, Java, West and Central Kalimantan
                _ => ("WIB", 7),
            };
            assert_eq!(p.code.time_zone(), expected, "{} {}", p.code, p.name);
            // everything in a province keeps its zone
            let district =
                regions().iter().find(|r| r.code.level() == RegionLevel::District && r.code.is_within(&p.code));
            assert_eq!(district.map(|d| d.code.time_zone()), Some(expected), "{}", p.name);
        }
        let named = |code: &str| RegionCode::parse(code).unwrap().time_zone().0;
        assert_eq!(
            [named("61"), named("62"), named("63"), named("64"), named("65")],
            ["WIB", "WIB", "WITA", "WITA", "WITA"]
        );
        assert_eq!([named("11"), named("31"), named("36"), named("21")], ["WIB"; 4]);
    }

    #[test]
    fn rejects_bad_codes() {
        assert!(matches!(RegionCode::parse("7"), Err(Error::MalformedRegion(_))));
        assert!(matches!(RegionCode::parse("72.7"), Err(Error::MalformedRegion(_))));
        assert!(matches!(RegionCode::parse("72..71"), Err(Error::MalformedRegion(_))));
        assert!(matches!(RegionCode::parse("99"), Err(Error::UnknownRegion(_))));
        assert!(matches!(RegionCode::parse("72.99"), Err(Error::UnknownRegion(_))));
        assert!(serde_json::from_str::<RegionCode>("\"99.01\"").is_err());
        assert!(serde_json::from_str::<RegionCode>("\"72.71\"").is_ok());
    }

    #[test]
    fn map_pins_resolve_to_districts() {
        let at = |lat, lon| nearest(lat, lon).map(String::from);
        assert_eq!(islands().len(), 17_373);
        // Pulau Batukapal, Aceh Selatan: 03°19'03.44" N 097°07'41.73" E, in
        // the sea off the coast: a district of the island's regency
        assert!(at(3.3176, 97.1283).is_some_and(|c| c.starts_with("11.01.")), "{:?}", at(3.3176, 97.1283));
        // Palu: the old town west of the river (Palu Barat), the market east
        // of it (Palu Timur), the south-west (Tatanga)
        assert_eq!(at(-0.8975, 119.8530).as_deref(), Some("72.71.02"));
        assert_eq!(at(-0.8950, 119.8760).as_deref(), Some("72.71.01"));
        assert_eq!(at(-0.9230, 119.8470).as_deref(), Some("72.71.06"));
        // far inland, where no island is near: Puncak Jaya, Papua Tengah,
        // and the heart of Kalimantan Tengah
        assert!(at(-3.9, 137.2).is_some_and(|c| c.starts_with("94.")), "{:?}", at(-3.9, 137.2));
        assert!(at(-1.2, 113.3).is_some_and(|c| c.starts_with("62.")), "{:?}", at(-1.2, 113.3));
        // the middle of the Banda Sea is near no island and no district
        assert_eq!(nearest(-6.0, 127.0), None);
        assert_eq!(nearest(200.0, 0.0), None);
    }

    #[test]
    fn every_region_down_to_districts_has_a_centroid() {
        let mut districts = 0;
        for r in regions().iter().filter(|r| r.code.level() <= RegionLevel::District) {
            let p = centroids().by_code.get(r.code.as_str());
            let p = p.unwrap_or_else(|| panic!("{} {} has no centroid", r.code, r.name));
            // within Indonesia's bounding box
            assert!((-11.5..=6.5).contains(&p.lat) && (94.5..=141.5).contains(&p.lon), "{} {p:?}", r.code);
            districts += usize::from(r.code.level() == RegionLevel::District);
        }
        assert_eq!(centroids().districts.len(), districts);
        let c = |s| RegionCode::parse(s).unwrap();
        let palu = centroid(&c("72.71")).unwrap();
        assert!((palu.lat + 0.84).abs() < 0.1 && (palu.lon - 119.91).abs() < 0.1, "{palu:?}");
        // a district lies near its regency's centroid; a village is pinned at its district
        let tatanga = centroid(&c("72.71.06")).unwrap();
        assert!(haversine_km(palu.lat, palu.lon, tatanga.lat, tatanga.lon) < 20.0);
        assert_eq!(centroid(&c("72.71.02.1002")), centroid(&c("72.71.02")));
        assert_ne!(centroid(&c("72.71.02")), centroid(&c("72.71")));
    }

    #[test]
    fn scope() {
        let c = |s| RegionCode::parse(s).unwrap();
        assert!(c("72.71.02").is_within(&c("72")));
        assert!(c("72").is_within(&c("72")));
        assert!(!c("72").is_within(&c("72.71")));
        assert!(!c("73.71").is_within(&c("72")));
        // `72.7` is not a prefix of `72.71` in the code sense; shape check forbids it anyway
        assert!(!c("72.71").is_within(&c("73")));
    }
}
