//! Responsible units: who must hear of an alert.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Level, RegionCode};

/// Alerts of `indicator` (every indicator when `None`) in `region` and below
/// are not notified until `until`; they are still raised and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    pub region: RegionCode,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    pub reason: String,
    /// The account that set it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Silence {
    /// Whether this silence holds back an alert of `indicator` in `region` at `now`.
    pub fn covers(&self, indicator: &str, region: &RegionCode, now: OffsetDateTime) -> bool {
        now < self.until && self.indicator.as_deref().is_none_or(|i| i == indicator) && region.is_within(&self.region)
    }
}

/// A unit that acts on alerts: a Kesbangpol office, a BNN office, a K5 task force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: String,
    pub name: String,
    /// The regions it covers; `72` covers everything under `72.`.
    pub regions: Vec<RegionCode>,
    /// Indicator ids it handles; empty means all.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Lowest level it wants to hear of.
    #[serde(default = "lowest")]
    pub min_level: Level,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    /// The unit escalated to when nobody here acknowledges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// When someone is on duty; always, when absent. Outside these hours the
    /// parent unit hears of the unit's alerts at once as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
    /// `WIB`, `WITA` or `WIT`; by default that of the unit's first region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `en` for English notifications; Indonesian otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Days and hours on duty, in the unit's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// Days, 1 = Monday … 7 = Sunday; Monday to Friday when absent.
    #[serde(default = "weekdays")]
    pub days: Vec<u8>,
    /// `08:00`.
    pub from: String,
    /// `16:00`; earlier than `from` for a night shift.
    pub to: String,
}

fn weekdays() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

/// Minutes after midnight of `HH:MM`.
fn minutes(hhmm: &str) -> Option<u16> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && hhmm.len() == 5).then_some(h * 60 + m)
}

/// The UTC offset in hours of `WIB`, `WITA` or `WIT`.
pub fn zone_offset(zone: &str) -> Option<i8> {
    match zone {
        "WIB" => Some(7),
        "WITA" => Some(8),
        "WIT" => Some(9),
        _ => None,
    }
}

impl WorkingHours {
    /// What is wrong with these hours, if anything.
    pub fn problem(&self) -> Option<String> {
        if minutes(&self.from).is_none() || minutes(&self.to).is_none() {
            return Some("working_hours: `from` and `to` must be times like 08:00 and 16:00".into());
        }
        if self.from == self.to {
            return Some("working_hours: `from` and `to` are the same time; leave working_hours out for always".into());
        }
        if self.days.is_empty() || self.days.iter().any(|d| !(1..=7).contains(d)) {
            return Some("working_hours.days: list days 1 (Monday) to 7 (Sunday)".into());
        }
        None
    }
}

fn lowest() -> Level {
    Level::Waspada
}

impl Unit {
    /// A unit `id` called `name` over `regions`, for every indicator from the
    /// lowest level up, always on duty and with no contacts yet. Give the
    /// rest with struct update syntax: `Unit { emails, ..Unit::new(…) }`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, regions: Vec<RegionCode>) -> Self {
        Unit {
            id: id.into(),
            name: name.into(),
            regions,
            indicators: vec![],
            min_level: lowest(),
            emails: vec![],
            phones: vec![],
            parent: None,
            working_hours: None,
            time_zone: None,
            language: None,
        }
    }

    /// The unit's UTC offset in hours: its `time_zone`, else its first region's.
    pub fn offset_hours(&self) -> i8 {
        self.time_zone
            .as_deref()
            .and_then(zone_offset)
            .or_else(|| self.regions.first().map(|r| r.time_zone().1))
            .unwrap_or(7)
    }

    /// Whether someone is on duty at `now`.
    pub fn on_duty(&self, now: OffsetDateTime) -> bool {
        let Some(hours) = &self.working_hours else { return true };
        let (Some(from), Some(to)) = (minutes(&hours.from), minutes(&hours.to)) else { return true };
        let offset = time::UtcOffset::from_hms(self.offset_hours(), 0, 0).unwrap_or(time::UtcOffset::UTC);
        let local = now.to_offset(offset);
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        let day = local.weekday().number_from_monday();
        if from <= to {
            hours.days.contains(&day) && (from..to).contains(&minute)
        } else {
            // a night shift: from the evening of a working day into the next morning
            let yesterday = local.weekday().previous().number_from_monday();
            (hours.days.contains(&day) && minute >= from) || (hours.days.contains(&yesterday) && minute < to)
        }
    }

    /// Whether each of `regions` lies within one of this unit's regions: the
    /// province unit `72` encloses a unit of `72.71`, so it may be its parent.
    pub fn encloses(&self, regions: &[RegionCode]) -> bool {
        !regions.is_empty() && regions.iter().all(|r| self.regions.iter().any(|own| r.is_within(own)))
    }

    /// Whether this unit handles `indicator` at `level` in `region`.
    pub fn handles(&self, indicator: &str, level: Level, region: &RegionCode) -> bool {
        level >= self.min_level
            && (self.indicators.is_empty() || self.indicators.iter().any(|i| i == indicator))
            && self.regions.iter().any(|scope| region.is_within(scope))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn duty_hours_are_local_to_the_unit() {
        let mut unit = Unit::new("palu", "Kesbangpol Kota Palu", vec![RegionCode::parse("72.71").unwrap()]);
        // Sunday 2026-11-29, 02:00 UTC is 10:00 in Palu (WITA)
        let sunday_ten = datetime!(2026-11-29 02:00 UTC);
        assert!(unit.on_duty(sunday_ten), "no hours: always");
        unit.working_hours = Some(WorkingHours { days: weekdays(), from: "08:00".into(), to: "16:00".into() });
        assert!(!unit.on_duty(sunday_ten), "not on Sunday");
        let monday = |h: u8| datetime!(2026-11-30 00:00 UTC) + time::Duration::hours(i64::from(h));
        assert!(unit.on_duty(monday(0)), "08:00 WITA");
        assert!(!unit.on_duty(monday(8)), "16:00 WITA is closing");
        assert!(!unit.on_duty(datetime!(2026-11-29 23:59 UTC)), "07:59 WITA");
        unit.time_zone = Some("WIB".into());
        assert!(!unit.on_duty(monday(0)), "07:00 in WIB");
        // a night shift, 20:00 to 06:00 WIB, starting on weekdays
        unit.working_hours = Some(WorkingHours { days: weekdays(), from: "20:00".into(), to: "06:00".into() });
        assert!(unit.on_duty(monday(14)), "Monday 21:00 WIB");
        assert!(unit.on_duty(monday(22)), "Tuesday 05:00 WIB, the shift from Monday");
        assert!(!unit.on_duty(monday(0)), "Monday 07:00 WIB");
        assert!(!unit.on_duty(datetime!(2026-11-29 20:00 UTC)), "Monday 03:00 WIB: Sunday had no shift");
        assert!(WorkingHours { days: vec![8], from: "08:00".into(), to: "16:00".into() }.problem().is_some());
        assert!(WorkingHours { days: weekdays(), from: "8".into(), to: "16:00".into() }.problem().is_some());
        assert!(WorkingHours { days: weekdays(), from: "08:00".into(), to: "08:00".into() }.problem().is_some());
    }

    #[test]
    fn a_unit_encloses_the_regions_below_its_own() {
        let codes = |list: &[&str]| -> Vec<RegionCode> { list.iter().map(|c| RegionCode::parse(c).unwrap()).collect() };
        let province = Unit::new("sulteng", "Kesbangpol Sulawesi Tengah", codes(&["72"]));
        assert!(province.encloses(&codes(&["72.71", "72.71.02", "72"])));
        assert!(!province.encloses(&codes(&["72.71", "73.71"])), "one region in another province");
        assert!(!province.encloses(&[]));
    }
}
