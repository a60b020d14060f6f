//! Sliding event-time windows per indicator and region that raise alert
//! levels.
//!
//! Every classified report counts, for each of its indicators, in the series
//! of its region (its district, for a village) and of each region above it,
//! in event time (`reported_at`).
//!
//! **Levels.** A series stands at the highest level that one of these gives:
//! - **absolute**: the count (or score sum) in a sliding window, for example
//!   3 reports in 24 h. A district compares all its reports with the
//!   indicator's base amounts (`waspada`, `siaga`, `awas`). A regency or a
//!   province compares all its reports with its own amounts (the
//!   `regency = {..}` and `province = {..}` tables, the base amounts when
//!   absent), and the reports placed at it and no lower (a report that names
//!   only the regency) with the base amounts, as it would a district's.
//! - **rise**: today's count (in the region's own time zone) is a multiple of
//!   the daily average of the days before (at most `rise.days`, and only
//!   those since the series was first seen), and at least `rise.min_count`.
//!   A rise is earned: it counts only once the series has been seen for
//!   `rise.history_days` days (else against `rise.prior_per_day`, a daily
//!   rate assumed for a region without history, when set; else not at all),
//!   and it lifts the level at most one above what the absolute counts
//!   give (none → waspada, waspada → siaga, siaga → awas).
//!
//! **One event, one alert chain.** A regency or a province reaches a level
//! by its own amounts only when no single child region (a district of the
//! regency, a regency of the province) holds enough reports to reach that
//! amount alone: else that child's own series speaks for them. So an event
//! raises an alert at the lowest level whose threshold it crosses, and a
//! region above raises one only when it crosses its own threshold as a
//! whole, with reports from two or more of its child regions (or placed at
//! it directly), none of which would have crossed it alone. Such an alert lists in
//! [`Alert::children`] every alert of the same indicator in force below it,
//! at any depth (its series still at a level, with reports in the window),
//! and is returned after them.
//!
//! A report later than `lateness` behind the newest one of its series is not
//! counted; one within it counts in its own window too. When a series reaches
//! a level above the one it stands at, an alert is raised; when it falls, the
//! level falls with it, so a later rise is raised again.
//!
//! Thresholds are per indicator ([`Thresholds::global`]); a local override
//! ([`Thresholds::local`]) holds in its region and below, the most specific
//! region winning.
//!
//! State is counts per minute and per day, plus the last reports for the
//! alert text. It is saved per province ([`Windows::snapshot`]) at each
//! checkpoint, so a restart resumes exactly where the last commit left off:
//! nothing is forgotten and nothing re-fires (alert ids are derived from what
//! raised them). A snapshot saved before a field was added loads with that
//! field empty: its series count as first seen on their oldest kept day.
//!
//! **Positions.** Each province's state records, per partition of `reports`,
//! the offset after the last record counted in it ([`Windows::observe_at`]),
//! and a snapshot carries them. A record below a province's position is not
//! counted in that province again, and of two states of a province the one
//! further along wins ([`Windows::restore_if_newer`]). So when a province's
//! partition moves to another classifier (a rebalance), the new owner takes
//! the newest snapshot and counts on from exactly there, whatever the
//! group's committed offset says.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use model::{Alert, AlertState, ClassifiedReport, Level, RegionCode, RegionLevel, ReportId, ReportRef, Window};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rules::{Measure, Threshold};

/// Reports kept per series for the alert text.
const RECENT: usize = 50;

/// How long after a report was received its windows remember its id, so
/// that a report on the log twice counts once (see `Windows::counted`): a
/// second copy comes from an ingest node that took a slow node's
/// idempotency key over, when the client retried (15 s at the least).
const COUNTED_FOR: i64 = 3_600;
/// At most this many ids a part remembers: 1,024 ids are about 50 kB of its
/// snapshot, saved at each checkpoint while it changes. A province's own part sees
/// every report of the province; at a national news volume (300,000 items a
/// day, a few a second at peak) the busiest still remembers many minutes...
const COUNTED_MAX: usize = 1_024;
/// ...and at least this many, whenever they were received.
const COUNTED_MIN: usize = 256;

/// A report counted in a part: its id, and when it was received (Unix
/// seconds; 0 for an id saved before the time was kept).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "CountedWire", into = "CountedWire")]
pub struct Counted {
    pub id: ReportId,
    pub received: i64,
}

/// [`Counted`] on the `windows` topic: `[id, received]`, or an id alone as
/// snapshots held it before the time was kept.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum CountedWire {
    At(ReportId, i64),
    Old(ReportId),
}

impl From<CountedWire> for Counted {
    fn from(wire: CountedWire) -> Self {
        match wire {
            CountedWire::At(id, received) => Counted { id, received },
            CountedWire::Old(id) => Counted { id, received: 0 },
        }
    }
}

impl From<Counted> for CountedWire {
    fn from(c: Counted) -> Self {
        CountedWire::At(c.id, c.received)
    }
}

/// The thresholds the windows go by.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    /// Per indicator, everywhere.
    pub global: BTreeMap<String, Threshold>,
    /// Overrides that hold in a region and below.
    pub local: Vec<LocalThreshold>,
}

/// A threshold that holds in `region` and below, for one indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalThreshold {
    pub region: RegionCode,
    pub indicator: String,
    pub threshold: Threshold,
}

impl Thresholds {
    /// The threshold of `indicator` in `region`: the override of the most
    /// specific region that holds it (of two for the same region, the later),
    /// else the global one.
    pub fn get(&self, indicator: &str, region: &RegionCode) -> Option<&Threshold> {
        self.local
            .iter()
            .filter(|l| l.indicator == indicator && region.is_within(&l.region))
            .max_by_key(|l| l.region.level())
            .map(|l| &l.threshold)
            .or_else(|| self.global.get(indicator))
    }
}

impl From<BTreeMap<String, Threshold>> for Thresholds {
    fn from(global: BTreeMap<String, Threshold>) -> Self {
        Self { global, local: Vec::new() }
    }
}

/// The state of one indicator in one region.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Series {
    /// Minute (Unix seconds / 60) → (count, score sum).
    minutes: BTreeMap<i64, (u64, f64)>,
    /// Minute → where its reports came from → (count, score sum): the child
    /// region on their way down, or this region itself for a report placed
    /// here and no lower (always itself for a district).
    #[serde(default)]
    sources: BTreeMap<i64, BTreeMap<RegionCode, (u64, f64)>>,
    /// Local day number → count.
    days: BTreeMap<i64, u64>,
    /// The newest reports, oldest first: (event time in Unix seconds, id, excerpt).
    recent: VecDeque<(i64, ReportId, String)>,
    /// The newest event time seen, Unix seconds.
    watermark: i64,
    level: Option<Level>,
    /// The local day of the earliest report seen.
    #[serde(default)]
    first_seen: Option<i64>,
    /// The last alert raised.
    #[serde(default)]
    last_alert: Option<Uuid>,
}

/// The windows of every series this classifier instance owns.
#[derive(Debug, Default)]
pub struct Windows {
    thresholds: Thresholds,
    series: HashMap<(String, RegionCode), Series>,
    /// Parts (see [`part`]) changed since the last snapshot.
    dirty: BTreeSet<String>,
    /// Part → partition of `reports` → the offset after the last record
    /// counted in it.
    positions: HashMap<String, BTreeMap<i32, i64>>,
    /// Part → the reports counted in it, oldest first: those received in the
    /// last [`COUNTED_FOR`] (between [`COUNTED_MIN`] and [`COUNTED_MAX`]).
    counted: HashMap<String, VecDeque<Counted>>,
    /// Reports too late to count, since start.
    pub late: u64,
}

/// One part's saved state (see [`part`]): the value of the `windows` topic,
/// keyed by the part. Snapshots saved before parts existed hold a whole
/// province under the province's code, and are still read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(alias = "province")]
    pub part: String,
    pub series: Vec<(String, RegionCode, Series)>,
    /// Partition of `reports` → the offset after the last record counted.
    #[serde(default)]
    pub positions: BTreeMap<i32, i64>,
    /// The reports last counted in the part, oldest first.
    #[serde(default)]
    pub counted: VecDeque<Counted>,
}

/// The part of the windows that holds `region`'s series: its regency (a
/// regency's series with those of its districts), or the province for the
/// province's own series. Each part is saved and restored as one snapshot with
/// its own positions, so a message stays the size of one regency however
/// many regencies a province has (Jawa Barat's whole state outgrew Kafka's
/// 1 MB limit on a national year, and the stage failed at every checkpoint).
pub fn part(region: &RegionCode) -> String {
    region.at_level(RegionLevel::Regency).unwrap_or_else(|| region.province()).to_string()
}

impl Snapshot {
    /// The snapshot as the `windows` topic carries it, in at most `max` bytes:
    /// when it is larger, the oldest excerpts kept for alerts' report lists
    /// go first (each series' list halved until it fits), then the oldest
    /// report ids remembered, down to [`COUNTED_MIN`]; counts are never
    /// dropped. The size without those when even that is too large.
    pub fn encode_within(mut self, max: usize) -> Result<Vec<u8>, usize> {
        loop {
            let bytes = model::wire::encode(&self);
            let longest = self.series.iter().map(|(_, _, s)| s.recent.len()).max().unwrap_or(0);
            if bytes.len() <= max {
                return Ok(bytes);
            } else if longest == 0 && self.counted.len() > COUNTED_MIN {
                // then the oldest ids remembered, down to the last few hundred
                self.counted.drain(..(self.counted.len() / 2).min(self.counted.len() - COUNTED_MIN));
                continue;
            } else if longest == 0 {
                return Err(bytes.len());
            }
            for (_, _, s) in &mut self.series {
                s.recent.drain(..s.recent.len().saturating_sub(longest / 2));
            }
        }
    }
}

/// How far along a part's state is: the sum of its positions.
fn progress(positions: Option<&BTreeMap<i32, i64>>) -> i64 {
    positions.map_or(0, |p| p.values().sum())
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

/// The minutes of the window ending at `end` (inclusive), of `width` seconds.
fn minutes(end: i64, width: i64) -> std::ops::RangeInclusive<i64> {
    end.saturating_sub(width).div_euclid(60) + 1..=end.div_euclid(60)
}

/// What a series holds in one window.
struct Amounts {
    /// All its reports: (count, score sum).
    all: (u64, f64),
    /// Those placed at the region itself.
    own: (u64, f64),
    /// All come from one single child region.
    one_child: bool,
    /// The most that any one child region holds.
    largest_child: (u64, f64),
}

impl Series {
    /// What the window ending at `end`, of `width` seconds, holds.
    fn amounts(&self, region: &RegionCode, end: i64, width: i64) -> Amounts {
        let add = |(c, s): (u64, f64), (c2, s2): &(u64, f64)| (c + c2, s + s2);
        let range = minutes(end, width);
        if range.is_empty() {
            return Amounts { all: (0, 0.0), own: (0, 0.0), one_child: false, largest_child: (0, 0.0) };
        }
        let mut own = (0, 0.0);
        let mut children: BTreeMap<&RegionCode, (u64, f64)> = BTreeMap::new();
        for (source, amount) in self.sources.range(range.clone()).flat_map(|(_, m)| m) {
            if source == region {
                own = add(own, amount);
            } else {
                let child = children.entry(source).or_insert((0, 0.0));
                *child = add(*child, amount);
            }
        }
        let largest_child = children.values().fold((0_u64, 0.0_f64), |(c, s), &(c2, s2)| (c.max(c2), s.max(s2)));
        Amounts {
            all: self.minutes.range(range).map(|(_, a)| a).fold((0, 0.0), add),
            own,
            one_child: children.len() == 1 && own.0 == 0,
            largest_child,
        }
    }
}

/// Where a report placed at `place` comes from, seen from `region`, which
/// holds it: the child region of `region` on its way down, or `region` itself.
fn source(region: &RegionCode, place: &RegionCode) -> RegionCode {
    place.lineage().into_iter().find(|r| r.parent().as_ref() == Some(region)).unwrap_or_else(|| region.clone())
}

fn level_for(levels: &[(Level, f64)], value: f64) -> Option<Level> {
    levels.iter().rev().find(|(_, amount)| value >= *amount).map(|(l, _)| *l)
}

/// The level one above `level`: how far a rise alone may lift it.
fn one_above(level: Option<Level>) -> Level {
    match level {
        None => Level::Waspada,
        Some(Level::Waspada) => Level::Siaga,
        Some(Level::Siaga | Level::Awas) => Level::Awas,
    }
}

/// The absolute level of `amounts` in `region`.
fn absolute(threshold: &Threshold, region: &RegionCode, amounts: &Amounts) -> Option<Level> {
    if amounts.one_child {
        return None;
    }
    let pick = |(c, s): (u64, f64)| if threshold.measure == Measure::Score { s } else { c as f64 };
    // the region as a whole reaches a level only when no one child alone
    // reaches it: else that child's alert stands for it
    let (all, largest) = (pick(amounts.all), pick(amounts.largest_child));
    let whole =
        threshold.levels_at(region.level()).iter().rev().find(|(_, amount)| all >= *amount && largest < *amount);
    whole.map(|(l, _)| *l).max(level_for(&threshold.levels, pick(amounts.own)))
}

impl Windows {
    pub fn new(thresholds: Thresholds) -> Self {
        Self { thresholds, ..Self::default() }
    }

    /// Uses new thresholds from now on, keeping the counts.
    pub fn set_thresholds(&mut self, thresholds: Thresholds) {
        self.thresholds = thresholds;
    }

    /// Counts `item` and returns the alerts it raises, those of lower
    /// regions before those of the regions above them.
    pub fn observe(&mut self, item: &ClassifiedReport, now: OffsetDateTime) -> Vec<Alert> {
        self.observe_in(item, now, None)
    }

    /// [`Windows::observe`] for the record at `offset` of `partition` of
    /// `reports`: not counted again in a province whose state has counted it
    /// already, and each province it counts in moves past it.
    pub fn observe_at(
        &mut self,
        item: &ClassifiedReport,
        now: OffsetDateTime,
        partition: i32,
        offset: i64,
    ) -> Vec<Alert> {
        self.observe_in(item, now, Some((partition, offset)))
    }

    fn observe_in(&mut self, item: &ClassifiedReport, now: OffsetDateTime, from: Option<(i32, i64)>) -> Vec<Alert> {
        let report = &item.report;
        let t = report.reported_at.unix_timestamp();
        let excerpt = model::excerpt(report.title.as_deref().unwrap_or(&report.text), 160);
        // where the report is, at district level at most
        let places: Vec<RegionCode> = item
            .classification
            .regions
            .iter()
            .map(|r| r.at_level(RegionLevel::District).unwrap_or_else(|| r.clone()))
            .collect();
        let mut regions: Vec<RegionCode> = places.iter().flat_map(RegionCode::lineage).collect();
        // districts first, so a region above sees its children's alerts of this report
        regions.sort_by(|a, b| b.level().cmp(&a.level()).then_with(|| a.cmp(b)));
        regions.dedup();
        if let Some((partition, offset)) = from {
            let counted = |r: &RegionCode| {
                self.positions.get(&part(r)).and_then(|p| p.get(&partition)).is_some_and(|next| offset < *next)
            };
            regions.retain(|r| !counted(r));
            if !item.classification.indicators.is_empty() {
                for region in &regions {
                    let part = part(region);
                    let next = self.positions.entry(part.clone()).or_default().entry(partition).or_insert(0);
                    *next = (*next).max(offset + 1);
                    self.dirty.insert(part);
                }
            }
        }
        // A report on the log twice under one id (an ingest node that took a
        // slow node's idempotency key over publishes it again) counts once:
        // each part remembers the ids it counted lately (the copy keeps the
        // first attempt's receipt time), and hands them over with its windows.
        regions.retain(|r| !self.counted.get(&part(r)).is_some_and(|ids| ids.iter().any(|c| c.id == report.id)));
        if !item.classification.indicators.is_empty() {
            let received = report.received_at.unix_timestamp();
            let parts: BTreeSet<String> = regions.iter().map(part).collect();
            for part in parts {
                let ids = self.counted.entry(part.clone()).or_default();
                ids.push_back(Counted { id: report.id, received });
                while ids.len() > COUNTED_MAX
                    || ids.len() > COUNTED_MIN && ids.front().is_some_and(|c| c.received < received - COUNTED_FOR)
                {
                    ids.pop_front();
                }
                self.dirty.insert(part);
            }
        }
        let mut alerts = Vec::new();
        for hit in &item.classification.indicators {
            for region in &regions {
                let Some(threshold) = self.thresholds.get(&hit.id, region) else { continue };
                // the rule checker keeps these within days; no value may wrap
                let window = i64::try_from(threshold.window.as_secs()).unwrap_or(i64::MAX / 4);
                let lateness = i64::try_from(threshold.lateness.as_secs()).unwrap_or(i64::MAX / 4);
                let series = self.series.entry((hit.id.to_string(), region.clone())).or_default();
                if series.watermark > 0 && t < series.watermark.saturating_sub(lateness) {
                    self.late += 1;
                    continue;
                }
                self.dirty.insert(part(region));
                series.watermark = series.watermark.max(t);
                let minute = t.div_euclid(60);
                let m = series.minutes.entry(minute).or_insert((0, 0.0));
                m.0 += 1;
                m.1 += hit.score;
                let from: BTreeSet<RegionCode> =
                    places.iter().filter(|p| p.is_within(region)).map(|p| source(region, p)).collect();
                for source in from {
                    let s = series.sources.entry(minute).or_default().entry(source).or_insert((0, 0.0));
                    s.0 += 1;
                    s.1 += hit.score;
                }
                let day = local_day(t, region);
                // a series saved before `first_seen` was kept starts at its oldest day
                let first = series.first_seen.or_else(|| series.days.keys().next().copied());
                series.first_seen = Some(first.map_or(day, |first| first.min(day)));
                *series.days.entry(day).or_insert(0) += 1;
                let pos = series.recent.partition_point(|(at, _, _)| *at <= t);
                series.recent.insert(pos, (t, report.id, excerpt.clone()));
                if series.recent.len() > RECENT {
                    series.recent.pop_front();
                }
                // forget what no window can reach any more
                let keep_from = series.watermark.saturating_sub(window).saturating_sub(lateness).div_euclid(60);
                series.minutes = series.minutes.split_off(&keep_from);
                series.sources = series.sources.split_off(&keep_from);
                let today = local_day(series.watermark, region);
                let days_kept = threshold.rise.as_ref().map_or(1, |r| i64::from(r.days) + 1);
                series.days = series.days.split_off(&(today - days_kept));

                // absolute: this report's own window or the newest one, whichever stands higher
                let pick = |(c, s): (u64, f64)| if threshold.measure == Measure::Score { s } else { c as f64 };
                let its = series.amounts(region, t, window);
                let newest = series.amounts(region, series.watermark, window);
                let (its_level, newest_level) =
                    (absolute(threshold, region, &its), absolute(threshold, region, &newest));
                let (end, amounts, mut level) = if (its_level, pick(its.all)) > (newest_level, pick(newest.all)) {
                    (t, its, its_level)
                } else {
                    (series.watermark, newest, newest_level)
                };
                // rise: today against the daily average of the days before,
                // once earned, and at most one level above the counts
                if let Some(rise) = &threshold.rise
                    && !amounts.one_child
                {
                    let today_count = series.days.get(&today).copied().unwrap_or(0);
                    let seen = today - series.first_seen.unwrap_or(today);
                    let span = seen.min(i64::from(rise.days.min(crate::rules::limits::RISE_DAYS))).max(1);
                    let before: u64 = (1..=span).map(|d| series.days.get(&(today - d)).copied().unwrap_or(0)).sum();
                    let average = if seen >= i64::from(rise.history_days) {
                        Some(before as f64 / span as f64)
                    } else {
                        rise.prior_per_day
                    };
                    if let Some(average) = average
                        && today_count >= rise.min_count
                    {
                        let factor = if average > 0.0 { today_count as f64 / average } else { f64::INFINITY };
                        let lifted = level_for(&rise.levels, factor).map(|l| l.min(one_above(level)));
                        level = level.max(lifted);
                    }
                }
                let raise = level > series.level;
                series.level = level;
                let Some(level) = level.filter(|_| raise) else { continue };
                let key = Alert::series_key(&hit.id, region);
                let id = Uuid::new_v5(&ALERT_NAMESPACE, format!("{key}/{level}/{}", report.id).as_bytes());
                let start = end.saturating_sub(window);
                let reports: Vec<ReportRef> = series
                    .recent
                    .iter()
                    .filter(|(at, _, _)| *at > start && *at <= end)
                    .map(|(at_s, id, ex)| ReportRef { id: *id, reported_at: at(*at_s), excerpt: ex.clone() })
                    .collect();
                series.last_alert = Some(id);
                let (count, score) = amounts.all;
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
                    children: self.in_force_below(&hit.id, region, start),
                });
            }
        }
        alerts
    }

    /// The alerts of `indicator` in force below `region`, at any depth: their
    /// series stand at a level and have reports after `start`.
    fn in_force_below(&self, indicator: &str, region: &RegionCode, start: i64) -> Vec<Uuid> {
        let mut below: Vec<(&RegionCode, Uuid)> = self
            .series
            .iter()
            .filter(|((i, r), s)| {
                i == indicator && r != region && r.is_within(region) && s.level.is_some() && s.watermark > start
            })
            .filter_map(|((_, r), s)| Some((r, s.last_alert?)))
            .collect();
        below.sort();
        below.into_iter().map(|(_, id)| id).collect()
    }

    /// The state of every part changed since the last call.
    pub fn snapshot(&mut self) -> Vec<Snapshot> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut series: HashMap<String, Vec<(String, RegionCode, Series)>> = HashMap::new();
        for ((i, r), s) in &self.series {
            let part = part(r);
            if dirty.contains(&part) {
                series.entry(part).or_default().push((i.clone(), r.clone(), s.clone()));
            }
        }
        dirty
            .into_iter()
            .map(|part| Snapshot {
                series: series.remove(&part).unwrap_or_default(),
                positions: self.positions.get(&part).cloned().unwrap_or_default(),
                counted: self.counted.get(&part).cloned().unwrap_or_default(),
                part,
            })
            .collect()
    }

    /// Puts back a part's saved state (or, from a snapshot saved before parts
    /// existed, every part of its province that it holds, whatever state of
    /// them is held: [`Windows::restore_if_newer`] weighs each).
    pub fn restore(&mut self, snapshot: Snapshot) {
        let mut parts: BTreeSet<String> = snapshot.series.iter().map(|(_, r, _)| part(r)).collect();
        parts.insert(snapshot.part.clone());
        self.series.retain(|(_, r), _| !parts.contains(&part(r)));
        for part in parts {
            self.dirty.remove(&part);
            self.counted.remove(&part);
            self.positions.insert(part, snapshot.positions.clone());
        }
        self.counted.insert(snapshot.part.clone(), snapshot.counted);
        for (indicator, region, series) in snapshot.series {
            self.series.insert((indicator, region), series);
        }
    }

    /// Puts back a part's saved state unless the one held is further along
    /// (a later snapshot of the same part read afterwards wins a tie); says
    /// whether it did. A whole province saved by an older node is taken part
    /// by part, each against the state held of that part (a newer snapshot
    /// of a regency read before it is not rolled back), and each part taken
    /// from it is saved again under its own key at the next checkpoint.
    pub fn restore_if_newer(&mut self, snapshot: Snapshot) -> bool {
        let Snapshot { part: key, series, positions, counted } = snapshot;
        let mut parts: BTreeMap<String, Vec<(String, RegionCode, Series)>> =
            BTreeMap::from([(key.clone(), Vec::new())]);
        for (indicator, region, s) in series {
            parts.entry(part(&region)).or_default().push((indicator, region, s));
        }
        let mut taken = false;
        let mut counted = Some(counted);
        for (part, series) in parts {
            if progress(Some(&positions)) < progress(self.positions.get(&part)) {
                continue;
            }
            let own = part == key;
            let counted = if own { counted.take().unwrap_or_default() } else { VecDeque::new() };
            self.restore(Snapshot { part: part.clone(), series, positions: positions.clone(), counted });
            if !own {
                self.dirty.insert(part);
            }
            taken = true;
        }
        taken
    }

    /// Forgets the parts counted only from `partitions` (this instance no
    /// longer holds them): their next owner counts them on from their
    /// snapshots. Returns how many.
    pub fn forget_partitions(&mut self, partitions: &[i32]) -> usize {
        let gone: BTreeSet<String> = self
            .positions
            .iter()
            .filter(|(_, p)| !p.is_empty() && p.keys().all(|k| partitions.contains(k)))
            .map(|(part, _)| part.clone())
            .collect();
        self.series.retain(|(_, r), _| !gone.contains(&part(r)));
        for part in &gone {
            self.positions.remove(part);
            self.counted.remove(part);
            self.dirty.remove(part);
        }
        gone.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use model::{Channel, Classification, IndicatorHit, Report};
    use time::macros::datetime;

    use super::*;
    use crate::rules::Rise;

    fn report_of(indicator: &str, regions: &[&str], at: OffsetDateTime, n: u128) -> ClassifiedReport {
        let regions: Vec<RegionCode> = regions.iter().map(|r| RegionCode::parse(r).unwrap()).collect();
        let report = Report {
            id: ReportId(Uuid::from_u128(n)),
            region: regions.first().cloned(),
            ..Report::new(Channel::Web, "t", format!("laporan {n}"), at)
        };
        let classification = Classification {
            language: None,
            indicators: vec![IndicatorHit { id: indicator.into(), score: 2.0, rules: vec![], matches: vec![] }],
            regions,
            rules_version: "t".into(),
            classified_at: at,
        };
        ClassifiedReport { report, classification }
    }

    fn item(region: &str, at: OffsetDateTime, n: u128) -> ClassifiedReport {
        report_of("narkoba", &[region], at, n)
    }

    fn threshold(levels: &[(Level, f64)], rise: Option<Rise>) -> Threshold {
        Threshold {
            window: Duration::from_secs(3600),
            lateness: Duration::from_secs(1800),
            measure: Measure::Count,
            levels: levels.to_vec(),
            regency: levels.to_vec(),
            province: levels.to_vec(),
            rise,
        }
    }

    fn narkoba(t: Threshold) -> Windows {
        Windows::new(BTreeMap::from([("narkoba".to_owned(), t)]).into())
    }

    fn absolute() -> Windows {
        narkoba(threshold(&[(Level::Waspada, 2.0), (Level::Siaga, 3.0)], None))
    }

    /// The shipped thresholds.
    fn builtin() -> Windows {
        Windows::new(crate::RuleSet::builtin().thresholds.into())
    }

    fn raised(alerts: &[Alert]) -> Vec<(String, Level)> {
        alerts.iter().map(|a| (a.region.to_string(), a.level)).collect()
    }

    const T0: OffsetDateTime = datetime!(2026-11-29 10:00 UTC);
    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    /// Feeds `per_day` konflik_sosial reports a day, evenly spaced, in
    /// 72.71.02 from day `from` to day `to` (exclusive) after T0, and returns
    /// the levels raised.
    fn days_of_konflik(w: &mut Windows, from: i64, to: i64, per_day: i64, n: &mut u128) -> Vec<Level> {
        let mut levels = Vec::new();
        for d in from..to {
            for i in 0..per_day {
                *n += 1;
                let at = T0 + time::Duration::days(d) + time::Duration::minutes(i * 24 * 60 / per_day);
                let alerts = w.observe(&report_of("konflik_sosial", &["72.71.02"], at, *n), NOW);
                assert!(alerts.iter().all(|a| a.region.as_str() == "72.71.02"), "{:?}", raised(&alerts));
                levels.extend(alerts.iter().map(|a| a.level));
            }
        }
        levels
    }

    #[test]
    fn windows_no_checker_would_pass_still_do_not_panic() {
        // the rule checker refuses these; the windows must not trust it alone
        for window in [Duration::from_nanos(1), Duration::from_secs(59), Duration::from_secs(u64::MAX)] {
            let rise = Rise {
                days: u32::MAX,
                min_count: 1,
                history_days: u32::MAX,
                prior_per_day: Some(0.0),
                levels: vec![(Level::Siaga, 2.0)],
            };
            let mut t = threshold(&[(Level::Waspada, 1.0)], Some(rise));
            (t.window, t.lateness) = (window, window);
            let mut w = narkoba(t);
            for n in 0..3 {
                w.observe(&item("72.71.02", T0 + time::Duration::seconds(n * 61), n as u128), NOW);
            }
        }
    }

    #[test]
    fn a_fresh_region_earns_levels_by_its_counts_alone() {
        // two konflik_sosial reports in a district nobody reported on before
        // raised awas: a rise over a zero baseline was infinite
        let mut w = builtin();
        let konflik = |n: u128| report_of("konflik_sosial", &["72.71.02"], T0 + time::Duration::minutes(n as i64), n);
        assert!(w.observe(&konflik(1), NOW).is_empty());
        // one event, one alert: the district's, not the city's and the province's too
        assert_eq!(raised(&w.observe(&konflik(2), NOW)), [("72.71.02".into(), Level::Waspada)]);
        assert!(w.observe(&konflik(3), NOW).is_empty());
        assert_eq!(raised(&w.observe(&konflik(4), NOW)), [("72.71.02".into(), Level::Siaga)]);
        for n in 5..8 {
            assert!(w.observe(&konflik(n), NOW).is_empty(), "{n}");
        }
        assert_eq!(raised(&w.observe(&konflik(8), NOW)), [("72.71.02".into(), Level::Awas)]);
    }

    #[test]
    fn a_fresh_region_rises_against_a_prior_when_one_is_set() {
        let rise = |prior| Rise {
            days: 14,
            min_count: 2,
            history_days: 7,
            prior_per_day: prior,
            levels: vec![(Level::Waspada, 2.0), (Level::Siaga, 4.0)],
        };
        let run = |prior| {
            let mut w = narkoba(threshold(&[(Level::Awas, 100.0)], Some(rise(prior))));
            (1..=4)
                .flat_map(|n| w.observe(&item("72.71.02", T0 + time::Duration::minutes(n), n as u128), NOW))
                .collect::<Vec<_>>()
        };
        assert!(run(None).is_empty());
        // four reports against an assumed one a day: 4×, but a rise alone lifts one level at most
        assert_eq!(raised(&run(Some(1.0))), [("72.71.02".into(), Level::Waspada)]);
    }

    #[test]
    fn a_quiet_region_with_one_burst_rises_one_level_above_its_counts() {
        let mut w = builtin();
        let mut n = 0;
        // one report three weeks ago: the district has history, and a zero baseline
        assert!(days_of_konflik(&mut w, 0, 1, 1, &mut n).is_empty());
        let burst = |n: u128| {
            report_of(
                "konflik_sosial",
                &["72.71.02"],
                T0 + time::Duration::days(21) + time::Duration::minutes(n as i64),
                n,
            )
        };
        assert!(w.observe(&burst(11), NOW).is_empty());
        assert_eq!(raised(&w.observe(&burst(12), NOW)), [("72.71.02".into(), Level::Waspada)]);
        // three reports (waspada by count, rise from nothing) are siaga, not awas
        let siaga = w.observe(&burst(13), NOW);
        assert_eq!(raised(&siaga), [("72.71.02".into(), Level::Siaga)]);
        assert_eq!(siaga[0].count, 3);
    }

    #[test]
    fn an_always_busy_region_never_rises() {
        let mut w = builtin();
        let mut n = 0;
        // three a day for two months: waspada by count once, and nothing more
        assert_eq!(days_of_konflik(&mut w, 0, 60, 3, &mut n), [Level::Waspada]);
    }

    #[test]
    fn a_region_that_goes_quiet_then_busy_again() {
        let mut w = builtin();
        let mut n = 0;
        assert_eq!(days_of_konflik(&mut w, 0, 20, 3, &mut n), [Level::Waspada]);
        // a month of quiet, then busy again: a rise over the quiet weeks,
        // siaga at most, while the return is still unusual…
        let back = days_of_konflik(&mut w, 50, 60, 3, &mut n);
        assert_eq!(back.first(), Some(&Level::Waspada));
        assert!(back.contains(&Level::Siaga) && !back.contains(&Level::Awas), "{back:?}");
        // …and once three a day is the usual again, nothing more
        assert!(days_of_konflik(&mut w, 60, 80, 3, &mut n).is_empty());
    }

    #[test]
    fn a_rise_counts_once_the_series_has_history() {
        let rise = Rise {
            days: 14,
            min_count: 3,
            history_days: 7,
            prior_per_day: None,
            levels: vec![(Level::Waspada, 2.0), (Level::Siaga, 5.0)],
        };
        let mut t = threshold(&[(Level::Awas, 1000.0)], Some(rise));
        t.lateness = Duration::from_secs(86_400 * 20);
        let mut w = narkoba(t);
        // a steady one report a day for 14 days: no alert
        let mut n = 0;
        for d in 0..14 {
            n += 1;
            assert!(w.observe(&item("72.71.02", T0 + time::Duration::days(d), n), NOW).is_empty(), "day {d}");
        }
        let today = T0 + time::Duration::days(14);
        // today: two reports are not enough (min_count 3)…
        for i in 0..2 {
            n += 1;
            assert!(w.observe(&item("72.71.02", today + time::Duration::hours(i), n), NOW).is_empty());
        }
        // …the third is 3× the average: waspada; the fifth is 5×, but no count
        // supports more than one level above none
        n += 1;
        assert_eq!(
            raised(&w.observe(&item("72.71.02", today + time::Duration::hours(2), n), NOW)),
            [("72.71.02".into(), Level::Waspada)]
        );
        for i in 3..5 {
            n += 1;
            assert!(w.observe(&item("72.71.02", today + time::Duration::hours(i), n), NOW).is_empty());
        }
    }

    #[test]
    fn one_event_raises_one_alert_and_the_regions_above_aggregate_their_children() {
        let mut w = builtin();
        let mut n = 0;
        let mut konflik = |region: &str| {
            n += 1;
            w.observe(&report_of("konflik_sosial", &[region], T0 + time::Duration::minutes(n as i64), n), NOW)
        };
        // two reports in one district: its alert only
        konflik("72.71.01");
        let first = konflik("72.71.01");
        assert_eq!(raised(&first), [("72.71.01".into(), Level::Waspada)]);
        // two more in another district: the city (waspada at 4) crosses its
        // own threshold with reports from two districts, and links both
        konflik("72.71.02");
        let city = konflik("72.71.02");
        assert_eq!(raised(&city), [("72.71.02".into(), Level::Waspada), ("72.71".into(), Level::Waspada)]);
        assert_eq!(city[1].children, [first[0].id, city[0].id]);
        assert_eq!(city[1].count, 4);
        // the province (waspada at 8) hears of it only when a second regency adds enough
        konflik("72.10.01");
        let sigi = konflik("72.10.01");
        assert_eq!(raised(&sigi), [("72.10.01".into(), Level::Waspada)]);
        konflik("72.10.02");
        let province = konflik("72.10.02");
        assert_eq!(
            raised(&province),
            [("72.10.02".into(), Level::Waspada), ("72.10".into(), Level::Waspada), ("72".into(), Level::Waspada)]
        );
        assert_eq!(province[1].children, [sigi[0].id, province[0].id]);
        // every alert in force below it, at any depth, by region
        assert_eq!(
            province[2].children,
            [province[1].id, sigi[0].id, province[0].id, city[1].id, first[0].id, city[0].id]
        );
    }

    #[test]
    fn a_region_above_does_not_raise_what_one_child_reaches_alone() {
        let mut w = builtin();
        let mut n = 0;
        let mut konflik = |region: &str| {
            n += 1;
            w.observe(&report_of("konflik_sosial", &[region], T0 + time::Duration::minutes(n as i64), n), NOW)
        };
        // a clash of nine reports in one district of Sigi: awas there…
        let sigi: Vec<Alert> = (0..9).flat_map(|_| konflik("72.10.01")).collect();
        assert_eq!(raised(&sigi).last(), Some(&("72.10.01".into(), Level::Awas)));
        // …and two in Palu: the province holds 11 (waspada at 8) from two
        // regencies, but Sigi alone holds 9: its alert stands for them
        let palu: Vec<Alert> = (0..2).flat_map(|_| konflik("72.71.06")).collect();
        assert_eq!(raised(&palu), [("72.71.06".into(), Level::Waspada)]);
        // once the rest of the province adds up to siaga (16) with no
        // regency holding 16 alone, the province raises it
        let more: Vec<Alert> = (0..5).flat_map(|_| konflik("72.71.01")).collect();
        assert_eq!(raised(&more).last(), Some(&("72".into(), Level::Siaga)), "{:?}", raised(&more));
    }

    #[test]
    fn a_report_placed_only_at_a_regency_counts_there_as_in_a_district() {
        let mut w = builtin();
        let konflik = |n: u128| report_of("konflik_sosial", &["72.71"], T0 + time::Duration::minutes(n as i64), n);
        assert!(w.observe(&konflik(1), NOW).is_empty());
        // the city's base amounts (waspada at 2), and the province hears nothing: one child
        assert_eq!(raised(&w.observe(&konflik(2), NOW)), [("72.71".into(), Level::Waspada)]);
        // a report in one of its districts adds to the city's count and is another source
        let a = w.observe(&report_of("konflik_sosial", &["72.71.03"], T0 + time::Duration::minutes(3), 3), NOW);
        assert!(a.is_empty(), "{:?}", raised(&a));
    }

    #[test]
    fn an_override_holds_in_its_region_and_below_only() {
        let base = threshold(&[(Level::Waspada, 2.0)], None);
        let one = threshold(&[(Level::Waspada, 1.0)], None);
        let thresholds = Thresholds {
            global: BTreeMap::from([("narkoba".to_owned(), base.clone())]),
            local: vec![LocalThreshold {
                region: RegionCode::parse("72.71").unwrap(),
                indicator: "narkoba".into(),
                threshold: one.clone(),
            }],
        };
        // the most specific region wins; other indicators and regions keep the global one
        let mut nested = thresholds.clone();
        nested.local.push(LocalThreshold {
            region: RegionCode::parse("72").unwrap(),
            indicator: "narkoba".into(),
            threshold: base.clone(),
        });
        let r = |c: &str| RegionCode::parse(c).unwrap();
        assert_eq!(nested.get("narkoba", &r("72.71.02")), Some(&one));
        assert_eq!(nested.get("narkoba", &r("72.71")), Some(&one));
        assert_eq!(nested.get("narkoba", &r("72.10")), Some(&base));
        assert_eq!(nested.get("narkoba", &r("73")), Some(&base));
        assert_eq!(nested.get("miras", &r("72.71")), None);

        let mut w = Windows::new(thresholds.clone());
        assert_eq!(raised(&w.observe(&item("72.71.02", T0, 1), NOW)), [("72.71.02".into(), Level::Waspada)]);
        for region in ["72.10.01", "72", "73.71.01", "73"] {
            let mut w = Windows::new(thresholds.clone());
            let alerts = w.observe(&item(region, T0, 2), NOW);
            assert!(alerts.is_empty(), "{region}: {:?}", raised(&alerts));
        }
        // beside the same reports without the override
        let mut w = absolute();
        assert!(w.observe(&item("72.71.02", T0, 1), NOW).is_empty());
    }

    #[test]
    fn old_reports_slide_out_and_a_later_rise_fires_again() {
        let mut w = absolute();
        w.observe(&item("72.71", T0, 1), NOW);
        assert_eq!(
            raised(&w.observe(&item("72.71", T0 + time::Duration::minutes(1), 2), NOW)),
            [("72.71".into(), Level::Waspada)]
        );
        // two hours on, the window is empty again: one report is no alert…
        assert!(w.observe(&item("72.71", T0 + time::Duration::hours(2), 3), NOW).is_empty());
        // …two are, and waspada fires again for the new episode
        let again = w.observe(&item("72.71", T0 + time::Duration::hours(2) + time::Duration::minutes(1), 4), NOW);
        assert_eq!(raised(&again), [("72.71".into(), Level::Waspada)]);
    }

    #[test]
    fn late_reports_count_in_their_own_window_within_the_lateness() {
        let mut w = absolute();
        w.observe(&item("72.71", T0 + time::Duration::hours(3), 1), NOW);
        // 20 minutes late: within lateness, so counted: the newest window holds both
        assert_eq!(w.observe(&item("72.71", T0 + time::Duration::minutes(160), 2), NOW).len(), 1);
        // two hours late: beyond lateness, not counted (in the city nor the province)
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
    fn snapshots_restore_counts_and_levels() {
        let mut w = absolute();
        w.observe(&item("72.71", T0, 1), NOW);
        let raised_before = w.observe(&item("72.71", T0 + time::Duration::minutes(1), 2), NOW);
        let snapshots = w.snapshot();
        // the regency's part and the province's own
        assert_eq!(snapshots.iter().map(|s| s.part.as_str()).collect::<Vec<_>>(), ["72", "72.71"]);
        assert!(w.snapshot().is_empty(), "nothing changed since");
        // a new instance restored from the snapshot…
        let mut restored = absolute();
        for s in snapshots {
            let json = serde_json::to_vec(&s).unwrap();
            restored.restore(serde_json::from_slice(&json).unwrap());
        }
        // …does not fire waspada again, and counts on to siaga
        let next = restored.observe(&item("72.71", T0 + time::Duration::minutes(2), 3), NOW);
        assert_eq!(raised(&next), [("72.71".into(), Level::Siaga)]);
        assert_eq!(raised_before.len(), 1);
        // the same report processed again gives the same alert id
        let mut again = absolute();
        again.observe(&item("72.71", T0, 1), NOW);
        let twice = again.observe(&item("72.71", T0 + time::Duration::minutes(1), 2), NOW);
        assert_eq!(twice[0].id, raised_before[0].id);
    }

    /// A province's partition moves to another instance after a checkpoint
    /// that saved more than the group committed: the new owner takes the
    /// snapshot, skips what it counted, and raises each level once.
    #[test]
    fn a_province_moves_to_another_instance_with_its_position() {
        let minute = |n: i64| T0 + time::Duration::minutes(n);
        let mut first = absolute();
        // partition 1, offsets 10 and 11: waspada at the second
        assert!(first.observe_at(&item("72.71", minute(0), 1), NOW, 1, 10).is_empty());
        assert_eq!(
            raised(&first.observe_at(&item("72.71", minute(1), 2), NOW, 1, 11)),
            [("72.71".into(), Level::Waspada)]
        );
        let saved = first.snapshot();
        assert_eq!(saved.len(), 2, "the regency's part and the province's");
        assert!(saved.iter().all(|s| s.positions == BTreeMap::from([(1, 12)])));
        // the instance loses partition 1: the province's parts go with it
        assert_eq!(first.forget_partitions(&[1]), 2);
        assert!(first.snapshot().is_empty() && first.series.is_empty());
        // the new owner has an older state of the province; the newer wins,
        // an older one read afterwards does not replace it
        let mut second = absolute();
        for snapshot in &saved {
            let older = Snapshot { positions: BTreeMap::from([(1, 11)]), ..snapshot.clone() };
            assert!(second.restore_if_newer(snapshot.clone()));
            assert!(!second.restore_if_newer(older));
        }
        // it reads on from the committed offset 10: 10 and 11 are not counted again
        assert!(second.observe_at(&item("72.71", minute(0), 1), NOW, 1, 10).is_empty());
        assert!(second.observe_at(&item("72.71", minute(1), 2), NOW, 1, 11).is_empty());
        assert_eq!(
            raised(&second.observe_at(&item("72.71", minute(2), 3), NOW, 1, 12)),
            [("72.71".into(), Level::Siaga)]
        );
        // a province fed by a partition still held stays
        assert_eq!(second.forget_partitions(&[0, 2]), 0);
    }

    /// A report on the log twice under one id (an ingest node that took a
    /// slow node's idempotency key over publishes it again) counts once, in
    /// the instance that counted it and in the one its part moves to.
    #[test]
    fn a_report_on_the_log_twice_counts_once_across_a_handover() {
        let minute = |n: i64| T0 + time::Duration::minutes(n);
        let mut first = absolute();
        assert!(first.observe_at(&item("72.71", minute(0), 1), NOW, 1, 10).is_empty());
        // report 1 again, further on in the partition: still one report, below waspada (2)
        assert!(first.observe_at(&item("72.71", minute(0), 1), NOW, 1, 11).is_empty());
        let mut second = absolute();
        for snapshot in first.snapshot() {
            let json = serde_json::to_vec(&snapshot).unwrap();
            assert!(second.restore_if_newer(serde_json::from_slice(&json).unwrap()));
        }
        assert!(second.observe_at(&item("72.71", minute(1), 1), NOW, 1, 12).is_empty());
        // the second report reaches waspada
        assert_eq!(
            raised(&second.observe_at(&item("72.71", minute(2), 2), NOW, 1, 13)),
            [("72.71".into(), Level::Waspada)]
        );
    }

    /// A part remembers the reports received in the last hour (up to
    /// COUNTED_MAX), not only the last few hundred: a province's own part sees
    /// every report of the province, and a copy published by a takeover comes
    /// 15 s or more after the first. Ids saved before receipt times were kept
    /// are still read.
    #[test]
    fn a_busy_part_remembers_the_reports_of_the_last_hour() {
        let mut w = absolute();
        let regencies = ["72.71", "72.01", "72.02", "72.03"];
        let mut t = T0;
        let mut observe = |w: &mut Windows, n: u128, step: i64| {
            t += time::Duration::seconds(step);
            w.observe_at(&item(regencies[n as usize % 4], t, n), NOW, 0, n as i64);
        };
        // 800 reports in 27 minutes, in four regencies of Sulawesi Tengah
        // (within the windows' lateness of 30 minutes)
        for n in 1..=800u128 {
            observe(&mut w, n, 2);
        }
        let first = ReportId(Uuid::from_u128(1));
        assert!(w.counted["72"].iter().any(|c| c.id == first), "the province forgot report 1");
        // report 1 again, 800 reports on: the province counts it no more
        let province =
            |w: &Windows| format!("{:?}", w.series[&("narkoba".to_owned(), RegionCode::parse("72").unwrap())]);
        let before = province(&w);
        w.observe_at(&item("72.01", T0 + time::Duration::seconds(2), 1), NOW, 0, 801);
        assert_eq!(before, province(&w));
        // quieter, past the hour: report 1 is forgotten, though far fewer
        // than COUNTED_MAX came since
        for n in 802..=900u128 {
            observe(&mut w, n, 30);
        }
        let ids = &w.counted["72"];
        assert!(!ids.iter().any(|c| c.id == first) && ids.len() < COUNTED_MAX, "{}", ids.len());
        // busy again: never more than the cap
        for n in 901..=3_000u128 {
            observe(&mut w, n, 1);
        }
        assert_eq!(w.counted["72"].len(), COUNTED_MAX);
        // ids alone, as older nodes saved them
        let old = format!(r#"{{"v":1,"part":"72.71","series":[],"counted":["{}"]}}"#, Uuid::from_u128(7));
        let snapshot: Snapshot = model::wire::decode(old.as_bytes()).unwrap();
        assert_eq!(snapshot.counted, [Counted { id: ReportId(Uuid::from_u128(7)), received: 0 }]);
        let again: Snapshot = model::wire::decode(&model::wire::encode(&snapshot)).unwrap();
        assert_eq!(again.counted, snapshot.counted);
    }

    /// A national year outgrew one message per province: a province's state
    /// is saved a regency at a time, each part within a Kafka message, and
    /// what is restored from the parts counts on as the original would.
    #[test]
    fn a_busy_province_is_saved_a_regency_at_a_time_within_a_message() {
        // Jawa Barat: every regency and city, and the districts of each
        let mut districts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for region in model::region::regions().iter().filter(|r| r.code.as_str().starts_with("32.")) {
            if let Some(regency) = region.code.at_level(RegionLevel::Regency).filter(|r| *r != region.code) {
                districts.entry(regency.to_string()).or_default().push(region.code.to_string());
            }
        }
        let regencies: Vec<String> = districts.keys().cloned().collect();
        assert_eq!(regencies.len(), 27);
        let mut w = absolute();
        let mut n = 0;
        for minute in 0..40 {
            for (i, (_, in_it)) in districts.iter().enumerate() {
                n += 1;
                let at = T0 + time::Duration::minutes(minute as i64);
                w.observe_at(&item(&in_it[(minute + i) % in_it.len()], at, n), NOW, 0, n as i64);
            }
        }
        let saved = w.snapshot();
        let mut parts: Vec<&str> = saved.iter().map(|s| s.part.as_str()).collect();
        parts.sort_unstable();
        let mut expected: Vec<&str> = regencies.iter().map(String::as_str).collect();
        expected.insert(0, "32");
        assert_eq!(parts, expected);
        for s in &saved {
            assert!(s.series.iter().all(|(_, r, _)| part(r) == s.part), "{} holds another part's series", s.part);
        }
        let whole: usize = saved.iter().map(|s| model::wire::encode(s).len()).sum();
        // (the province's own part remembers every report of the province by
        // id, up to COUNTED_MAX, so it is the one that grows with the province)
        let largest = saved.iter().filter(|s| s.part != "32").map(|s| model::wire::encode(s).len()).max().unwrap();
        assert!(largest * 10 < whole, "one part is {largest} of {whole} bytes");
        // restored from the parts, the next report raises what it raises in the original
        let mut restored = absolute();
        for s in saved.clone() {
            assert!(restored.restore_if_newer(s));
        }
        let next = item(&regencies[4], T0 + time::Duration::minutes(41), n + 1);
        assert_eq!(
            raised(&restored.observe_at(&next, NOW, 0, n as i64 + 1)),
            raised(&w.observe_at(&next, NOW, 0, n as i64 + 1))
        );
        // and an old record is not counted again in any part
        assert!(restored.observe_at(&item(&regencies[4], T0, 5), NOW, 0, 5).is_empty());
        assert_eq!(restored.series.len(), w.series.len());

        // a part larger than a message sheds its oldest excerpts, never a count
        let province = saved.iter().find(|s| s.part == "32").unwrap().clone();
        let full = model::wire::encode(&province).len();
        // counts alone too large: refused with their size, not cut
        let Err(counts) = province.clone().encode_within(100) else { panic!("cut to 100 bytes") };
        assert!(counts > 100 && counts < full);
        // ids go after the excerpts, and not below the last few hundred
        let without: Snapshot = model::wire::decode(&province.clone().encode_within(counts).unwrap()).unwrap();
        assert!(without.series.iter().all(|(_, _, s)| s.recent.is_empty()));
        assert_eq!(without.counted.len(), COUNTED_MIN);
        assert_eq!(without.counted.back(), province.counted.back());
        let mut bare = province.clone();
        bare.series.iter_mut().for_each(|(_, _, s)| s.recent.clear());
        let max = (full + model::wire::encode(&bare).len()) / 2;
        let fitted = province.clone().encode_within(max).expect("fits without some of its excerpts");
        assert!(fitted.len() <= max);
        let back: Snapshot = model::wire::decode(&fitted).unwrap();
        let (before, after) = (&province.series[0].2, &back.series[0].2);
        assert!(after.recent.len() < before.recent.len() && after.recent.back() == before.recent.back());
        assert_eq!((&after.minutes, &after.days, after.level), (&before.minutes, &before.days, before.level));
    }

    /// A snapshot saved before parts existed holds its whole province under
    /// the province's code (`"province"`): each of its regencies is restored
    /// with the snapshot's positions.
    #[test]
    fn a_whole_province_saved_by_an_older_node_is_still_restored() {
        let mut first = absolute();
        first.observe_at(&item("72.71.01", T0, 1), NOW, 1, 10);
        first.observe_at(&item("72.10", T0, 2), NOW, 1, 11);
        let series: Vec<_> = first.snapshot().into_iter().flat_map(|s| s.series).collect();
        let old = serde_json::json!({"province": "72", "series": series, "positions": {"1": 12}});
        let mut second = absolute();
        assert!(second.restore_if_newer(serde_json::from_value(old).unwrap()));
        assert_eq!(second.series.len(), first.series.len());
        for region in ["72.71.01", "72.10"] {
            assert!(second.observe_at(&item(region, T0, 1), NOW, 1, 10).is_empty());
            assert_eq!(second.positions[&part(&RegionCode::parse(region).unwrap())], BTreeMap::from([(1, 12)]));
        }
        // a newer state of one regency read first is not rolled back by the
        // old province-wide snapshot read after it
        let mut third = absolute();
        let mut newer_regency = second.snapshot().into_iter().find(|s| s.part == "72.71").unwrap();
        newer_regency.positions = BTreeMap::from([(1, 20)]);
        assert!(third.restore_if_newer(newer_regency));
        let old: Snapshot =
            serde_json::from_value(serde_json::json!({"province": "72", "series": series, "positions": {"1": 12}}))
                .unwrap();
        assert!(third.restore_if_newer(old));
        assert_eq!(third.positions["72.71"], BTreeMap::from([(1, 20)]));
        assert_eq!(third.positions["72.10"], BTreeMap::from([(1, 12)]));
        // parts taken from an old snapshot are saved again under their own keys
        let saved: Vec<String> = third.snapshot().into_iter().map(|s| s.part).collect();
        assert!(saved.contains(&"72.10".to_owned()), "{saved:?}");
        // counted on from there: the second report in 72.71.01 raises waspada
        // there, and the province's third, from two regencies, siaga
        assert_eq!(
            raised(&second.observe_at(&item("72.71.01", T0 + time::Duration::minutes(1), 3), NOW, 1, 12)),
            [("72.71.01".into(), Level::Waspada), ("72".into(), Level::Siaga)]
        );
    }

    #[test]
    fn a_snapshot_saved_before_first_seen_counts_from_its_oldest_day() {
        let mut w = builtin();
        let mut n = 0;
        days_of_konflik(&mut w, 0, 10, 1, &mut n);
        // as the snapshot of a node from before this change: no `first_seen`,
        // `sources` nor `last_alert`
        let mut json = serde_json::to_value(w.snapshot()).unwrap();
        for series in json[0]["series"].as_array_mut().unwrap() {
            let fields = series[2].as_object_mut().unwrap();
            for field in ["first_seen", "sources", "last_alert"] {
                assert!(fields.remove(field).is_some(), "{field}");
            }
        }
        let mut restored = builtin();
        for s in serde_json::from_value::<Vec<Snapshot>>(json).unwrap() {
            restored.restore(s);
        }
        days_of_konflik(&mut restored, 10, 11, 1, &mut n);
        let key = ("konflik_sosial".to_owned(), RegionCode::parse("72.71.02").unwrap());
        let series = &restored.series[&key];
        assert_eq!(series.first_seen, series.days.keys().next().copied());
        assert_eq!(series.first_seen, w.series[&key].first_seen.map(|d| d.max(series.first_seen.unwrap())));
    }
}
