//! Sliding event-time windows per indicator and region that raise alert
//! levels.
//!
//! Every classified report counts, for each of its indicators, in the series
//! of its region and of every ancestor down to district level, in event time
//! (`reported_at`). Two triggers, configured per indicator:
//! - **absolute**: the count (or score sum) in a sliding window reaches a
//!   level, for example 3 reports in 24 h;
//! - **rise**: today's count (in the region's own time zone) is a multiple of
//!   its daily average over the previous days, and at least a minimum.
//!
//! A report later than `lateness` behind the newest one of its series is not
//! counted; one within it counts in its own window too. When a series reaches
//! a level above the one it stands at, an alert is raised; when it falls, the
//! level falls with it, so a later rise is raised again.
//!
//! State is counts per minute and per day, plus the last reports for the
//! alert text. It is saved per province ([`Windows::snapshot`]) at each
//! checkpoint, so a restart resumes exactly where the last commit left off:
//! nothing is forgotten and nothing re-fires (alert ids are derived from what
//! raised them).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use model::{Alert, AlertState, ClassifiedReport, Level, RegionCode, RegionLevel, ReportId, ReportRef, Window};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rules::{Measure, Threshold};

/// Reports kept per series for the alert text.
const RECENT: usize = 50;

/// The state of one indicator in one region.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Series {
    /// Minute (Unix seconds / 60) → (count, score sum).
    minutes: BTreeMap<i64, (u64, f64)>,
    /// Local day number → count.
    days: BTreeMap<i64, u64>,
    /// The newest reports, oldest first: (event time in Unix seconds, id, excerpt).
    recent: VecDeque<(i64, ReportId, String)>,
    /// The newest event time seen, Unix seconds.
    watermark: i64,
    level: Option<Level>,
}

/// The windows of every series this classifier instance owns.
#[derive(Debug, Default)]
pub struct Windows {
    thresholds: BTreeMap<String, Threshold>,
    series: HashMap<(String, RegionCode), Series>,
    /// Provinces changed since the last snapshot.
    dirty: BTreeSet<String>,
    /// Reports too late to count, since start.
    pub late: u64,
}

/// One province's saved state: the value of the `windows` topic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub province: String,
    pub series: Vec<(String, RegionCode, Series)>,
}

/// Alert ids are derived from what raised them, so a report processed again
/// after a crash raises the same alert, not a second one.
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x6b65_6e74_6f6e_6761_6e2d_616c_6572_7473);

fn local_day(t: i64, region: &RegionCode) -> i64 {
    let (_, hours) = region.time_zone();
    (t + i64::from(hours) * 3600).div_euclid(86_400)
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Series {
    /// Count and score in the window ending at `end` (inclusive), of `width` seconds.
    fn amount(&self, end: i64, width: i64) -> (u64, f64) {
        let from = end.saturating_sub(width).div_euclid(60) + 1;
        let to = end.div_euclid(60);
        if from > to {
            return (0, 0.0);
        }
        self.minutes.range(from..=to).fold((0, 0.0), |(c, s), (_, (c2, s2))| (c + c2, s + s2))
    }
}

fn level_for(levels: &[(Level, f64)], value: f64) -> Option<Level> {
    levels.iter().rev().find(|(_, amount)| value >= *amount).map(|(l, _)| *l)
}

impl Windows {
    pub fn new(thresholds: BTreeMap<String, Threshold>) -> Self {
        Self { thresholds, ..Self::default() }
    }

    /// Uses new thresholds from now on, keeping the counts.
    pub fn set_thresholds(&mut self, thresholds: BTreeMap<String, Threshold>) {
        self.thresholds = thresholds;
    }

    /// Counts `item` and returns the alerts it raises.
    pub fn observe(&mut self, item: &ClassifiedReport, now: OffsetDateTime) -> Vec<Alert> {
        let report = &item.report;
        let t = report.reported_at.unix_timestamp();
        let excerpt = model::excerpt(report.title.as_deref().unwrap_or(&report.text), 160);
        let mut regions: Vec<RegionCode> = item
            .classification
            .regions
            .iter()
            .flat_map(RegionCode::lineage)
            .filter(|r| r.level() <= RegionLevel::District)
            .collect();
        regions.sort();
        regions.dedup();
        let mut alerts = Vec::new();
        for hit in &item.classification.indicators {
            let Some(threshold) = self.thresholds.get(&*hit.id) else { continue };
            // the rule checker keeps these within days; no value may wrap
            let window = i64::try_from(threshold.window.as_secs()).unwrap_or(i64::MAX / 4);
            let lateness = i64::try_from(threshold.lateness.as_secs()).unwrap_or(i64::MAX / 4);
            for region in &regions {
                let series = self.series.entry((hit.id.to_string(), region.clone())).or_default();
                if series.watermark > 0 && t < series.watermark.saturating_sub(lateness) {
                    self.late += 1;
                    continue;
                }
                self.dirty.insert(region.province().to_string());
                series.watermark = series.watermark.max(t);
                let m = series.minutes.entry(t.div_euclid(60)).or_insert((0, 0.0));
                m.0 += 1;
                m.1 += hit.score;
                *series.days.entry(local_day(t, region)).or_insert(0) += 1;
                let pos = series.recent.partition_point(|(at, _, _)| *at <= t);
                series.recent.insert(pos, (t, report.id, excerpt.clone()));
                if series.recent.len() > RECENT {
                    series.recent.pop_front();
                }
                // forget what no window can reach any more
                let keep_from = series.watermark.saturating_sub(window).saturating_sub(lateness).div_euclid(60);
                series.minutes = series.minutes.split_off(&keep_from);
                let today = local_day(series.watermark, region);
                let days_kept = threshold.rise.as_ref().map_or(1, |r| i64::from(r.days) + 1);
                series.days = series.days.split_off(&(today - days_kept));

                // absolute: this report's own window and the newest one
                let pick = |(c, s): (u64, f64)| if threshold.measure == Measure::Score { s } else { c as f64 };
                let own = series.amount(t, window);
                let newest = series.amount(series.watermark, window);
                let (end, (count, score)) =
                    if pick(own) > pick(newest) { (t, own) } else { (series.watermark, newest) };
                let mut level = level_for(&threshold.levels, pick((count, score)));
                // rise: today against the daily average of the days before
                if let Some(rise) = &threshold.rise {
                    let today_count = series.days.get(&today).copied().unwrap_or(0);
                    let before: u64 = (1..=i64::from(rise.days.min(crate::rules::limits::RISE_DAYS)))
                        .map(|d| series.days.get(&(today - d)).copied().unwrap_or(0))
                        .sum();
                    let average = before as f64 / f64::from(rise.days);
                    if today_count >= rise.min_count {
                        let factor = if average > 0.0 { today_count as f64 / average } else { f64::INFINITY };
                        level = level.max(level_for(&rise.levels, factor));
                    }
                }
                if level > series.level
                    && let Some(level) = level
                {
                    let key = Alert::series_key(&hit.id, region);
                    let id = Uuid::new_v5(&ALERT_NAMESPACE, format!("{key}/{level}/{}", report.id).as_bytes());
                    let start = end.saturating_sub(window);
                    let reports: Vec<ReportRef> = series
                        .recent
                        .iter()
                        .filter(|(at, _, _)| *at > start && *at <= end)
                        .map(|(at_s, id, ex)| ReportRef { id: *id, reported_at: at(*at_s), excerpt: ex.clone() })
                        .collect();
                    alerts.push(Alert {
                        id,
                        key,
                        indicator: hit.id.to_string(),
                        region: region.clone(),
                        level,
                        window: Window { start: at(start), end: at(end) },
                        count,
                        score,
                        reports,
                        state: AlertState::Open,
                        raised_at: now,
                        deliveries: Vec::new(),
                        history: Vec::new(),
                        escalations: Vec::new(),
                        children: Vec::new(),
                    });
                }
                series.level = level;
            }
        }
        alerts
    }

    /// The state of every province changed since the last call.
    pub fn snapshot(&mut self) -> Vec<Snapshot> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .map(|province| Snapshot {
                series: self
                    .series
                    .iter()
                    .filter(|((_, r), _)| r.province().as_str() == province)
                    .map(|((i, r), s)| (i.clone(), r.clone(), s.clone()))
                    .collect(),
                province,
            })
            .collect()
    }

    /// Puts back a province's saved state.
    pub fn restore(&mut self, snapshot: Snapshot) {
        self.series.retain(|(_, r), _| r.province().as_str() != snapshot.province);
        for (indicator, region, series) in snapshot.series {
            self.series.insert((indicator, region), series);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use model::{Channel, Classification, IndicatorHit, Report};
    use time::macros::datetime;

    use super::*;
    use crate::rules::Rise;

    fn item(region: &str, at: OffsetDateTime, n: u128) -> ClassifiedReport {
        let report = Report {
            id: ReportId(Uuid::from_u128(n)),
            region: Some(RegionCode::parse(region).unwrap()),
            ..Report::new(Channel::Web, "t", format!("laporan {n}"), at)
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

    fn absolute() -> Windows {
        let t = Threshold {
            window: Duration::from_secs(3600),
            lateness: Duration::from_secs(1800),
            measure: Measure::Count,
            levels: vec![(Level::Waspada, 2.0), (Level::Siaga, 3.0)],
            rise: None,
        };
        Windows::new(BTreeMap::from([("narkoba".to_owned(), t)]))
    }

    fn raised(alerts: &[Alert]) -> Vec<(String, Level)> {
        alerts.iter().map(|a| (a.region.to_string(), a.level)).collect()
    }

    const T0: OffsetDateTime = datetime!(2026-11-29 10:00 UTC);
    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    #[test]
    fn windows_no_checker_would_pass_still_do_not_panic() {
        // the rule checker refuses these; the windows must not trust it alone
        for window in [Duration::from_nanos(1), Duration::from_secs(59), Duration::from_secs(u64::MAX)] {
            let t = Threshold {
                window,
                lateness: window,
                measure: Measure::Count,
                levels: vec![(Level::Waspada, 1.0)],
                rise: Some(Rise { days: u32::MAX, min_count: 1, levels: vec![(Level::Siaga, 2.0)] }),
            };
            let mut w = Windows::new(BTreeMap::from([("narkoba".to_owned(), t)]));
            for n in 0..3 {
                w.observe(&item("72.71.02", T0 + time::Duration::seconds(n * 61), n as u128), NOW);
            }
        }
    }

    #[test]
    fn raises_each_level_once_at_every_region_level() {
        let mut w = absolute();
        assert!(w.observe(&item("72.71.02", T0, 1), NOW).is_empty());
        // a second report in another district of the same city: the city and
        // the province reach waspada, neither district does
        let alerts = w.observe(&item("72.71.01", T0 + time::Duration::minutes(5), 2), NOW);
        assert_eq!(raised(&alerts), [("72".into(), Level::Waspada), ("72.71".into(), Level::Waspada)]);
        assert_eq!(alerts[1].reports.len(), 2);
        assert_eq!(alerts[1].count, 2);
        let alerts = w.observe(&item("72.71.02", T0 + time::Duration::minutes(6), 3), NOW);
        assert_eq!(
            raised(&alerts),
            [("72".into(), Level::Siaga), ("72.71".into(), Level::Siaga), ("72.71.02".into(), Level::Waspada)]
        );
        // staying at siaga raises nothing more
        assert!(
            raised(&w.observe(&item("72.71.01", T0 + time::Duration::minutes(7), 4), NOW))
                .iter()
                .all(|(r, _)| r == "72.71.01")
        );
    }

    #[test]
    fn old_reports_slide_out_and_a_later_rise_fires_again() {
        let mut w = absolute();
        w.observe(&item("72.71", T0, 1), NOW);
        assert_eq!(w.observe(&item("72.71", T0 + time::Duration::minutes(1), 2), NOW).len(), 2);
        // two hours on, the window is empty again: one report is no alert…
        assert!(w.observe(&item("72.71", T0 + time::Duration::hours(2), 3), NOW).is_empty());
        // …two are, and waspada fires again for the new episode
        let again = w.observe(&item("72.71", T0 + time::Duration::hours(2) + time::Duration::minutes(1), 4), NOW);
        assert_eq!(raised(&again), [("72".into(), Level::Waspada), ("72.71".into(), Level::Waspada)]);
    }

    #[test]
    fn late_reports_count_in_their_own_window_within_the_lateness() {
        let mut w = absolute();
        w.observe(&item("72.71", T0 + time::Duration::hours(3), 1), NOW);
        // 20 minutes late: within lateness, so counted: the newest window holds both
        assert!(w.observe(&item("72.71", T0 + time::Duration::minutes(160), 2), NOW).len() == 2);
        // two hours late: beyond lateness, not counted
        assert!(w.observe(&item("72.71", T0 + time::Duration::minutes(60), 3), NOW).is_empty());
        assert_eq!(w.late, 2);
        // a late pair in its own window raises, even though the newest window is quiet
        let mut w = absolute();
        w.observe(&item("73.71", T0 + time::Duration::minutes(90), 10), NOW);
        w.observe(&item("73.71", T0 + time::Duration::minutes(61), 11), NOW);
        let a = w.observe(&item("73.71", T0 + time::Duration::minutes(62), 12), NOW);
        assert!(a.iter().any(|a| a.level == Level::Siaga), "{a:?}");
    }

    #[test]
    fn rise_over_the_regions_own_baseline() {
        let t = Threshold {
            window: Duration::from_secs(3600),
            lateness: Duration::from_secs(86_400 * 20),
            measure: Measure::Count,
            levels: vec![(Level::Awas, 1000.0)],
            rise: Some(Rise { days: 14, min_count: 3, levels: vec![(Level::Waspada, 2.0), (Level::Siaga, 5.0)] }),
        };
        let mut w = Windows::new(BTreeMap::from([("narkoba".to_owned(), t)]));
        // a steady one report a day for 14 days: no alert
        let mut n = 0;
        for d in 0..14 {
            n += 1;
            assert!(w.observe(&item("72.71", T0 + time::Duration::days(d), n), NOW).is_empty(), "day {d}");
        }
        let today = T0 + time::Duration::days(14);
        // today: two reports are not enough (min_count 3)…
        for i in 0..2 {
            n += 1;
            assert!(w.observe(&item("72.71", today + time::Duration::hours(i), n), NOW).is_empty());
        }
        // …the third is 3× the average: waspada; the fifth is 5×: siaga
        n += 1;
        assert_eq!(raised(&w.observe(&item("72.71", today + time::Duration::hours(2), n), NOW)).len(), 2);
        n += 1;
        assert!(w.observe(&item("72.71", today + time::Duration::hours(3), n), NOW).is_empty());
        n += 1;
        let siaga = w.observe(&item("72.71", today + time::Duration::hours(4), n), NOW);
        assert!(siaga.iter().all(|a| a.level == Level::Siaga) && siaga.len() == 2, "{siaga:?}");
    }

    #[test]
    fn snapshots_restore_counts_and_levels() {
        let mut w = absolute();
        w.observe(&item("72.71", T0, 1), NOW);
        let raised_before = w.observe(&item("72.71", T0 + time::Duration::minutes(1), 2), NOW);
        let snapshots = w.snapshot();
        assert_eq!(snapshots.len(), 1);
        assert!(w.snapshot().is_empty(), "nothing changed since");
        // a new instance restored from the snapshot…
        let mut restored = absolute();
        for s in snapshots {
            let json = serde_json::to_vec(&s).unwrap();
            restored.restore(serde_json::from_slice(&json).unwrap());
        }
        // …does not fire waspada again, and counts on to siaga
        let next = restored.observe(&item("72.71", T0 + time::Duration::minutes(2), 3), NOW);
        assert_eq!(raised(&next), [("72".into(), Level::Siaga), ("72.71".into(), Level::Siaga)]);
        assert_eq!(raised_before.len(), 2);
        // the same report processed again gives the same alert id
        let mut again = absolute();
        again.observe(&item("72.71", T0, 1), NOW);
        let twice = again.observe(&item("72.71", T0 + time::Duration::minutes(1), 2), NOW);
        assert_eq!(twice[0].id, raised_before[0].id);
    }
}
