//! Who filed a template for a period: per filer filed (on time), filed
//! late or not filed, and the counts and rates (expected, filed, on time)
//! rolled up to every region above the filers and to the nation.

use std::collections::BTreeMap;

use model::{RegionCode, RegionLevel};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::book::FilingEntry;
use crate::period::{Period, zone};
use crate::template::Template;

/// How one filer stands for a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FilingStatus)]
pub enum Status {
    /// Filed by the deadline.
    Filed,
    /// Filed after the deadline.
    Late,
    NotFiled,
}

/// One expected filer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ComplianceRow)]
pub struct Row {
    pub region: RegionCode,
    pub name: &'static str,
    pub level: RegionLevel,
    /// `WIB`, `WITA` or `WIT`: the zone its deadline is in.
    pub zone: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    pub status: Status,
    /// Not filed and the deadline has passed.
    pub overdue: bool,
    /// When its first filing was made (its `reported_at`), which decides
    /// whether it was on time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub filed_at: Option<OffsetDateTime>,
    /// The latest filing: the report's id, and the template version it used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// How many filings it made for the period (corrections count).
    pub filings: usize,
}

/// Counts for the filers of one level under one region (or the nation).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ComplianceTotals)]
pub struct Totals {
    /// The region they lie in; none for the whole country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    pub name: &'static str,
    /// The level of the filers counted.
    pub filers: RegionLevel,
    pub expected: usize,
    /// Filed at all, on time or late.
    pub filed: usize,
    pub on_time: usize,
    pub late: usize,
    pub not_filed: usize,
    /// `filed / expected`, from 0 to 1.
    pub filed_rate: f64,
    /// `on_time / expected`, from 0 to 1.
    pub on_time_rate: f64,
}

/// The compliance of a template for a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Compliance {
    pub template: String,
    /// The template's current version.
    pub version: u32,
    pub period: String,
    /// National first, then by region code and filer level.
    pub totals: Vec<Totals>,
    pub rows: Vec<Row>,
    /// The units that must file (when the template's filers include units),
    /// by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitRow>,
}

/// One expected unit: as [`Row`], named by the unit book.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ComplianceUnitRow)]
pub struct UnitRow {
    /// The unit's id, like `kesbangpol-palu`.
    pub unit: String,
    /// Its name, like `Kesbangpol Kota Palu`; its id when the unit book no
    /// longer has it.
    pub name: String,
    /// The unit's first region: its deadline is in that region's zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    pub zone: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    pub status: Status,
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub filed_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    pub filings: usize,
}

/// A unit that must file: its id, its name and its first region (none when
/// the unit book no longer has it).
pub type UnitFiler = (String, String, Option<RegionCode>);

/// How a filer with `entries` stands against `deadline` at `now`: status,
/// overdue, first filing time and the latest filing.
fn standing(
    entries: &[FilingEntry],
    deadline: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> (Status, bool, Option<OffsetDateTime>, Option<&FilingEntry>) {
    let first = entries.iter().map(|e| e.reported_at).min();
    let latest = entries.iter().max_by_key(|e| (e.received_at, e.report));
    let status = match (first, deadline) {
        (None, _) => Status::NotFiled,
        (Some(at), Some(d)) if at > d => Status::Late,
        (Some(_), _) => Status::Filed,
    };
    (status, status == Status::NotFiled && deadline.is_some_and(|d| now > d), first, latest)
}

/// The compliance of the units `units` for `period`, from their `filings`
/// by unit id, sorted by name.
pub fn units(
    template: &Template,
    period: &Period,
    units: &[UnitFiler],
    filings: &BTreeMap<String, Vec<FilingEntry>>,
    now: OffsetDateTime,
) -> Vec<UnitRow> {
    let mut rows: Vec<UnitRow> = units
        .iter()
        .map(|(id, name, region)| {
            let deadline = region.as_ref().and_then(|r| period.deadline(&template.definition.schedule, r));
            let entries = filings.get(id).map(Vec::as_slice).unwrap_or_default();
            let (status, overdue, filed_at, latest) = standing(entries, deadline, now);
            UnitRow {
                unit: id.clone(),
                name: name.clone(),
                zone: region.as_ref().map_or("WIB", |r| zone(r).0),
                region: region.clone(),
                deadline,
                status,
                overdue,
                filed_at,
                report: latest.map(|e| e.report.to_string()),
                filings: entries.len(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.unit.cmp(&b.unit)));
    rows
}

/// Compliance of `template` for `period` over the filers `expected`, from
/// `filings` by region, at `now`. A filer's first filing decides whether it
/// was on time (a correction after the deadline does not make it late).
pub fn compliance(
    template: &Template,
    period: &Period,
    expected: &[RegionCode],
    filings: &BTreeMap<RegionCode, Vec<FilingEntry>>,
    now: OffsetDateTime,
) -> Compliance {
    let schedule = &template.definition.schedule;
    let rows: Vec<Row> = expected
        .iter()
        .map(|region| {
            let deadline = period.deadline(schedule, region);
            let entries = filings.get(region).map(Vec::as_slice).unwrap_or_default();
            let (status, overdue, first, latest) = standing(entries, deadline, now);
            Row {
                region: region.clone(),
                name: region.name(),
                level: region.level(),
                zone: zone(region).0,
                deadline,
                status,
                overdue,
                filed_at: first,
                report: latest.map(|e| e.report.to_string()),
                version: latest.map(|e| e.version),
                filings: entries.len(),
            }
        })
        .collect();
    Compliance {
        template: template.id.clone(),
        version: template.version,
        period: period.to_string(),
        totals: totals(&rows),
        rows,
        units: Vec::new(),
    }
}

/// The counts of `rows` under every region above each filer and nationally,
/// per filer level.
fn totals(rows: &[Row]) -> Vec<Totals> {
    let mut groups: BTreeMap<(Option<RegionCode>, RegionLevel), [usize; 3]> = BTreeMap::new();
    for row in rows {
        let above = row.region.lineage().into_iter().filter(|r| *r != row.region).map(Some);
        for group in std::iter::once(None).chain(above) {
            let counts = groups.entry((group, row.level)).or_default();
            counts[0] += 1;
            match row.status {
                Status::Filed => counts[1] += 1,
                Status::Late => counts[2] += 1,
                Status::NotFiled => {}
            }
        }
    }
    let rate = |n: usize, of: usize| if of == 0 { 0.0 } else { (n as f64 / of as f64 * 10_000.0).round() / 10_000.0 };
    groups
        .into_iter()
        .map(|((region, filers), [expected, on_time, late])| Totals {
            name: region.as_ref().map_or("Indonesia", RegionCode::name),
            region,
            filers,
            expected,
            filed: on_time + late,
            on_time,
            late,
            not_filed: expected - on_time - late,
            filed_rate: rate(on_time + late, expected),
            on_time_rate: rate(on_time, expected),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use model::ReportId;
    use time::macros::datetime;

    use super::*;
    use crate::template::builtins;

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    fn entry(at: OffsetDateTime) -> FilingEntry {
        FilingEntry {
            report: ReportId::new_at(at),
            version: 1,
            account: None,
            reported_at: at,
            received_at: at,
            indicators: Vec::new(),
            choices: BTreeMap::new(),
            documents: Vec::new(),
            from: None,
        }
    }

    #[test]
    fn counts_and_rates_per_regency_province_and_nation() {
        let t = builtins().remove(0);
        let period = Period::parse(&t.definition.schedule, "2026-11-30").unwrap();
        let expected: Vec<RegionCode> = ["72", "72.71", "72.02", "72.03", "91.71"].iter().map(|c| code(c)).collect();
        let mut filings = BTreeMap::new();
        // Palu at 23:30 WITA: on time; Banggai at 00:30 WITA the next day: late
        filings.insert(code("72.71"), vec![entry(datetime!(2026-11-30 23:30 +08:00))]);
        filings.insert(code("72.02"), vec![entry(datetime!(2026-12-01 00:30 +08:00))]);
        // Jayapura at 22:00 WIT: on time; its correction at 23:30 WITA (00:30 WIT) does not make it late
        filings.insert(
            code("91.71"),
            vec![entry(datetime!(2026-11-30 23:30 +08:00)), entry(datetime!(2026-11-30 22:00 +09:00))],
        );
        // the province on time
        filings.insert(code("72"), vec![entry(datetime!(2026-11-30 20:00 +08:00))]);
        let now = datetime!(2026-12-01 09:00 +08:00);
        let c = compliance(&t, &period, &expected, &filings, now);
        let status: Vec<(&str, Status)> = c.rows.iter().map(|r| (r.region.as_str(), r.status)).collect();
        assert_eq!(
            status,
            [
                ("72", Status::Filed),
                ("72.71", Status::Filed),
                ("72.02", Status::Late),
                ("72.03", Status::NotFiled),
                ("91.71", Status::Filed)
            ]
        );
        let jayapura = &c.rows[4];
        assert_eq!((jayapura.filed_at, jayapura.filings), (Some(datetime!(2026-11-30 22:00 +09:00)), 2));
        assert!(c.rows[3].overdue);
        let find = |region: Option<&str>, level: RegionLevel| {
            c.totals.iter().find(|t| t.region.as_ref().map(RegionCode::as_str) == region && t.filers == level).unwrap()
        };
        let sulteng = find(Some("72"), RegionLevel::Regency);
        assert_eq!(
            (sulteng.expected, sulteng.filed, sulteng.on_time, sulteng.late, sulteng.not_filed),
            (3, 2, 1, 1, 1)
        );
        assert_eq!((sulteng.filed_rate, sulteng.on_time_rate), (0.6667, 0.3333));
        let national = find(None, RegionLevel::Regency);
        assert_eq!((national.expected, national.filed, national.on_time), (4, 3, 2));
        assert_eq!(national.name, "Indonesia");
        let provinces = find(None, RegionLevel::Province);
        assert_eq!((provinces.expected, provinces.on_time, provinces.filed_rate), (1, 1, 1.0));
        assert_eq!(c.totals[0].region, None, "national first");
        // before the deadline, a missing filing is not overdue
        let early = compliance(&t, &period, &expected, &BTreeMap::new(), datetime!(2026-11-30 12:00 +08:00));
        assert!(early.rows.iter().all(|r| r.status == Status::NotFiled && !r.overdue));
        assert_eq!(early.totals[0].filed_rate, 0.0);
    }

    #[test]
    fn units_are_listed_by_name_with_the_deadline_of_their_first_region() {
        let t = builtins().remove(0);
        let period = Period::parse(&t.definition.schedule, "2026-11-30").unwrap();
        let units: Vec<UnitFiler> = vec![
            ("polres-palu".into(), "Polresta Palu".into(), Some(code("72.71"))),
            ("kesbang-jayapura".into(), "Kesbangpol Kota Jayapura".into(), Some(code("91.71"))),
            ("hilang".into(), "hilang".into(), None),
        ];
        // 23:30 WITA is 00:30 WIT: on time in Palu, late in Jayapura
        let at = datetime!(2026-11-30 23:30 +08:00);
        let filings: BTreeMap<String, Vec<FilingEntry>> =
            [("polres-palu".to_owned(), vec![entry(at)]), ("kesbang-jayapura".to_owned(), vec![entry(at)])]
                .into_iter()
                .collect();
        let rows = super::units(&t, &period, &units, &filings, datetime!(2026-12-01 09:00 +08:00));
        let seen: Vec<(&str, &str, Status)> = rows.iter().map(|r| (r.name.as_str(), r.zone, r.status)).collect();
        assert_eq!(
            seen,
            [
                ("Kesbangpol Kota Jayapura", "WIT", Status::Late),
                ("Polresta Palu", "WITA", Status::Filed),
                ("hilang", "WIB", Status::NotFiled)
            ]
        );
        assert!(!rows[2].overdue, "no deadline without a region");
    }
}
