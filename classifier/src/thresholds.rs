//! Sliding event-time windows per indicator and region that raise alert levels.
//!
//! Every classified report counts, for each of its indicators, in the series
//! of its region and of every ancestor down to district level (so ten reports
//! spread over a regency's districts still raise the regency). A series keeps
//! the reports whose `reported_at` lies within the indicator's window of the
//! newest one it has seen. When the count reaches a higher level than the
//! series stands at, an alert is raised; when it falls, the level falls with it
//! so that a later rise is raised again.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use model::{Alert, AlertState, ClassifiedReport, Level, RegionCode, RegionLevel, ReportId, ReportRef, Window};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rules::Threshold;

#[derive(Debug, Default)]
struct Series {
    /// `(reported_at, report, score, excerpt)`, oldest first.
    events: VecDeque<(OffsetDateTime, ReportId, f64, Arc<str>)>,
    /// The reports in `events`, to ignore a report seen twice.
    ids: HashSet<ReportId>,
    level: Option<Level>,
}

/// The windows of every series this classifier instance owns.
#[derive(Debug, Default)]
pub struct Windows {
    thresholds: BTreeMap<String, Threshold>,
    series: HashMap<(String, RegionCode), Series>,
}

/// Alert ids are derived from what raised them, so a report seen twice
/// (after a crash, before its commit) raises the same alert, not a second one.
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x6b65_6e74_6f6e_6761_6e2d_616c_6572_7473);

impl Windows {
    pub fn new(thresholds: BTreeMap<String, Threshold>) -> Self {
        Self { thresholds, series: HashMap::new() }
    }

    /// Counts `item` and returns the alerts it raises.
    pub fn observe(&mut self, item: &ClassifiedReport, now: OffsetDateTime) -> Vec<Alert> {
        let report = &item.report;
        let excerpt: Arc<str> = model::excerpt(report.title.as_deref().unwrap_or(&report.text), 160).into();
        let mut alerts = Vec::new();
        for hit in &item.classification.indicators {
            let Some(threshold) = self.thresholds.get(&hit.id) else {
                continue;
            };
            let window = time::Duration::try_from(threshold.window).unwrap_or(time::Duration::DAY);
            let mut regions: Vec<RegionCode> = item
                .classification
                .regions
                .iter()
                .flat_map(RegionCode::lineage)
                .filter(|r| r.level() <= RegionLevel::District)
                .collect();
            regions.sort();
            regions.dedup();
            for region in regions {
                let series = self.series.entry((hit.id.clone(), region.clone())).or_default();
                if !series.ids.insert(report.id) {
                    continue;
                }
                let at = report.reported_at;
                let pos = series.events.partition_point(|(t, _, _, _)| *t <= at);
                series.events.insert(pos, (at, report.id, hit.score, excerpt.clone()));
                let end = series.events.back().map_or(at, |e| e.0);
                let start = end - window;
                while series.events.front().is_some_and(|(t, _, _, _)| *t <= start) {
                    if let Some((_, id, _, _)) = series.events.pop_front() {
                        series.ids.remove(&id);
                    }
                }
                let count = series.events.len() as u64;
                let level = threshold.levels.iter().rev().find(|(_, c)| count >= *c).map(|(l, _)| *l);
                if level > series.level
                    && let Some(level) = level
                {
                    let key = Alert::series_key(&hit.id, &region);
                    let id = Uuid::new_v5(&ALERT_NAMESPACE, format!("{key}/{level}/{}", report.id).as_bytes());
                    alerts.push(Alert {
                        id,
                        key,
                        indicator: hit.id.clone(),
                        region: region.clone(),
                        level,
                        window: Window { start, end },
                        count,
                        score: series.events.iter().map(|e| e.2).sum(),
                        reports: series
                            .events
                            .iter()
                            .map(|e| ReportRef { id: e.1, reported_at: e.0, excerpt: e.3.to_string() })
                            .collect(),
                        state: AlertState::Open,
                        raised_at: now,
                        deliveries: Vec::new(),
                    });
                }
                series.level = level;
            }
        }
        alerts
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use model::{Channel, Classification, IndicatorHit, Report};
    use time::macros::datetime;

    use super::*;

    fn item(region: &str, at: OffsetDateTime, n: u128) -> ClassifiedReport {
        let report = Report {
            id: ReportId(Uuid::from_u128(n)),
            received_at: at,
            reported_at: at,
            channel: Channel::Web,
            source: "t".into(),
            reporter: None,
            region: Some(RegionCode::parse(region).unwrap()),
            title: None,
            text: "x".into(),
            language: None,
            attachments: vec![],
            location: None,
            external_id: None,
        };
        let classification = Classification {
            language: None,
            indicators: vec![IndicatorHit { id: "narkoba".into(), score: 2.0, rules: vec![], matches: vec![] }],
            regions: vec![report.region.clone().unwrap()],
            rules_version: "t".into(),
            classified_at: at,
        };
        ClassifiedReport { report, classification }
    }

    fn windows() -> Windows {
        let t = Threshold { window: Duration::from_secs(3600), levels: vec![(Level::Waspada, 2), (Level::Siaga, 3)] };
        Windows::new(BTreeMap::from([("narkoba".to_owned(), t)]))
    }

    #[test]
    fn raises_each_level_once_at_every_region_level() {
        let mut w = windows();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        assert!(w.observe(&item("72.71.02", t0, 1), t0).is_empty());
        // second report in another district of the same city: the city and
        // province reach waspada, neither district does
        let alerts = w.observe(&item("72.71.01", t0 + time::Duration::minutes(5), 2), t0);
        let raised: Vec<(String, Level)> = alerts.iter().map(|a| (a.region.to_string(), a.level)).collect();
        assert_eq!(raised, [("72".into(), Level::Waspada), ("72.71".into(), Level::Waspada)]);
        assert_eq!(alerts[1].reports.len(), 2);
        // the same report again changes nothing
        assert!(w.observe(&item("72.71.01", t0 + time::Duration::minutes(5), 2), t0).is_empty());
        let alerts = w.observe(&item("72.71.02", t0 + time::Duration::minutes(6), 3), t0);
        let raised: Vec<(String, Level)> = alerts.iter().map(|a| (a.region.to_string(), a.level)).collect();
        assert_eq!(
            raised,
            [("72".into(), Level::Siaga), ("72.71".into(), Level::Siaga), ("72.71.02".into(), Level::Waspada)]
        );
    }

    #[test]
    fn old_reports_slide_out_of_the_window() {
        let mut w = windows();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        w.observe(&item("72.71", t0, 1), t0);
        // two hours later the first report no longer counts
        assert!(w.observe(&item("72.71", t0 + time::Duration::hours(2), 2), t0).is_empty());
        let alerts = w.observe(&item("72.71", t0 + time::Duration::hours(2), 3), t0);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].count, 2);
    }
}
