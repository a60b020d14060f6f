//! Periods and deadlines. A period is a day (`2026-11-30`), an ISO week
//! (`2026-W48`), a month (`2026-11`) or an election stage (its id). Days
//! are the filer's own: a period and its deadline are read in the zone of
//! the filer's province (WIB, WITA or WIT), so Palu's day ends an hour
//! before Jakarta's and an hour after Jayapura's.

use std::fmt;

use model::RegionCode;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

use crate::template::{Every, Schedule};

/// One period of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Day(Date),
    Week {
        year: i32,
        week: u8,
    },
    Month {
        year: i32,
        month: Month,
    },
    /// An election stage, by id.
    Stage(String),
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Day(d) => write!(f, "{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            Period::Week { year, week } => write!(f, "{year:04}-W{week:02}"),
            Period::Month { year, month } => write!(f, "{year:04}-{:02}", u8::from(*month)),
            Period::Stage(id) => f.write_str(id),
        }
    }
}

/// Reads `2026-11-30`.
pub fn parse_day(s: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format).map_err(|_| format!("`{}` is not a day: write it like 2026-11-30", shorten(s)))
}

fn shorten(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// Minutes after midnight of `HH:MM` (`24:00` is 1440, the end of the day).
pub fn minutes_of(at: &str) -> Result<u16, String> {
    let bad = || format!("`{}` is not a time of day: write HH:MM, like 17:00 or 24:00", shorten(at));
    let (h, m) = at.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The zone of `region`'s province: WIB (UTC+7), WITA (UTC+8) or WIT (UTC+9).
pub fn zone(region: &RegionCode) -> (&'static str, UtcOffset) {
    let (name, hours) = region.time_zone();
    (name, UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC))
}

impl Period {
    /// Reads a period of `schedule`, saying what is expected when it is not one.
    pub fn parse(schedule: &Schedule, text: &str) -> Result<Period, String> {
        match schedule.every {
            Every::Daily => parse_day(text).map(Period::Day),
            Every::Weekly => {
                let bad = || format!("`{}` is not a week: write the ISO week, like 2026-W48", shorten(text));
                let (y, w) = text.split_once("-W").ok_or_else(bad)?;
                let (year, week): (i32, u8) = (y.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?);
                if y.len() != 4 || w.len() != 2 || Date::from_iso_week_date(year, week, Weekday::Monday).is_err() {
                    return Err(bad());
                }
                Ok(Period::Week { year, week })
            }
            Every::Monthly => {
                let bad = || format!("`{}` is not a month: write it like 2026-11", shorten(text));
                let (y, m) = text.split_once('-').ok_or_else(bad)?;
                if y.len() != 4 || m.len() != 2 {
                    return Err(bad());
                }
                let year: i32 = y.parse().map_err(|_| bad())?;
                let month = Month::try_from(m.parse::<u8>().map_err(|_| bad())?).map_err(|_| bad())?;
                if Date::from_calendar_date(year, month, 1).is_err() {
                    return Err(bad());
                }
                Ok(Period::Month { year, month })
            }
            Every::Stage => match schedule.stages.iter().find(|s| s.id == text) {
                Some(s) => Ok(Period::Stage(s.id.clone())),
                None => Err(format!(
                    "`{}` is not a stage of this template; give one of: {}",
                    shorten(text),
                    schedule.stages.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                )),
            },
        }
    }

    /// The period of `schedule` that holds the local day `day` (none for
    /// stages, which are not tied to days).
    pub fn holding(schedule: &Schedule, day: Date) -> Option<Period> {
        match schedule.every {
            Every::Daily => Some(Period::Day(day)),
            Every::Weekly => {
                let (year, week, _) = day.to_iso_week_date();
                Some(Period::Week { year, week })
            }
            Every::Monthly => Some(Period::Month { year: day.year(), month: day.month() }),
            Every::Stage => None,
        }
    }

    /// The first local day of the period (none for a stage).
    pub fn first_day(&self) -> Option<Date> {
        match self {
            Period::Day(d) => Some(*d),
            Period::Week { year, week } => Date::from_iso_week_date(*year, *week, Weekday::Monday).ok(),
            Period::Month { year, month } => Date::from_calendar_date(*year, *month, 1).ok(),
            Period::Stage(_) => None,
        }
    }

    /// The last local day of the period: for a stage, its due day.
    pub fn last_day(&self, schedule: &Schedule) -> Option<Date> {
        match self {
            Period::Day(d) => Some(*d),
            Period::Week { year, week } => Date::from_iso_week_date(*year, *week, Weekday::Sunday).ok(),
            Period::Month { year, month } => {
                let first = Date::from_calendar_date(*year, *month, 1).ok()?;
                Some(first + Duration::days(i64::from(month.length(*year)) - 1))
            }
            Period::Stage(id) => {
                let stage = schedule.stages.iter().find(|s| &s.id == id)?;
                parse_day(&stage.due).ok()
            }
        }
    }

    /// When the period begins for a filer in `region` (none for a stage:
    /// a stage may be reported on at any time).
    pub fn begins(&self, region: &RegionCode) -> Option<OffsetDateTime> {
        let day = self.first_day()?;
        Some(PrimitiveDateTime::new(day, Time::MIDNIGHT).assume_offset(zone(region).1))
    }

    /// The deadline of a filer in `region` for this period: `schedule.at`
    /// local time, `days_after` days after the period's last day (none past
    /// the end of the calendar, for a period near the year 9999).
    pub fn deadline(&self, schedule: &Schedule, region: &RegionCode) -> Option<OffsetDateTime> {
        let last = self.last_day(schedule)?;
        let minutes = minutes_of(&schedule.at).ok()?;
        let start = PrimitiveDateTime::new(last, Time::MIDNIGHT).assume_offset(zone(region).1);
        start
            .checked_add(Duration::days(i64::from(schedule.days_after)))?
            .checked_add(Duration::minutes(i64::from(minutes)))
    }
}

/// The period that is current for a filer in `region` at `now` (none for
/// stage schedules).
pub fn current(schedule: &Schedule, region: &RegionCode, now: OffsetDateTime) -> Option<Period> {
    Period::holding(schedule, now.to_offset(zone(region).1).date())
}

#[cfg(test)]
mod tests {
    use model::{Clock, RegionCode};
    use time::macros::{date, datetime};

    use super::*;
    use crate::template::Stage;

    /// A clock the test sets.
    #[derive(Debug)]
    struct Hand(OffsetDateTime);

    impl Clock for Hand {
        fn now(&self) -> OffsetDateTime {
            self.0
        }
    }

    fn daily(at: &str) -> Schedule {
        Schedule { every: Every::Daily, at: at.into(), days_after: 0, stages: Vec::new() }
    }

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    fn on_time(schedule: &Schedule, period: &str, region: &str, clock: &dyn Clock) -> bool {
        let period = Period::parse(schedule, period).unwrap();
        clock.now() <= period.deadline(schedule, &code(region)).unwrap()
    }

    #[test]
    fn one_instant_is_on_time_in_one_zone_and_late_in_another() {
        let schedule = daily("24:00");
        // 23:30 WITA in Palu = 22:30 WIB in Jakarta = 00:30 WIT (the next day) in Jayapura
        let clock = Hand(datetime!(2026-11-30 15:30 UTC));
        assert!(on_time(&schedule, "2026-11-30", "72.71", &clock), "Palu, 23:30 WITA");
        assert!(on_time(&schedule, "2026-11-30", "31.71", &clock), "Jakarta, 22:30 WIB");
        assert!(!on_time(&schedule, "2026-11-30", "91.71", &clock), "Jayapura, 00:30 WIT the next day");
        // an hour later: 00:30 WITA is late in Palu, 23:30 WIB still on time in Jakarta
        let later = Hand(datetime!(2026-11-30 16:30 UTC));
        assert!(!on_time(&schedule, "2026-11-30", "72.71", &later));
        assert!(on_time(&schedule, "2026-11-30", "31.71", &later));
        // the deadline itself is on time, a second after is not
        let deadline = Period::Day(date!(2026 - 11 - 30)).deadline(&schedule, &code("72.71")).unwrap();
        assert_eq!(deadline, datetime!(2026-12-01 00:00 +08:00));
        assert!(on_time(&schedule, "2026-11-30", "72.71", &Hand(deadline)));
        assert!(!on_time(&schedule, "2026-11-30", "72.71", &Hand(deadline + Duration::seconds(1))));
    }

    #[test]
    fn a_local_deadline_time_and_days_after() {
        let schedule = Schedule { days_after: 1, ..daily("09:00") };
        let d = Period::Day(date!(2026 - 11 - 30));
        assert_eq!(d.deadline(&schedule, &code("31.71")).unwrap(), datetime!(2026-12-01 09:00 +07:00));
        assert_eq!(d.deadline(&schedule, &code("72.71")).unwrap(), datetime!(2026-12-01 09:00 +08:00));
        assert_eq!(d.deadline(&schedule, &code("91.71")).unwrap(), datetime!(2026-12-01 09:00 +09:00));
    }

    #[test]
    fn weeks_months_and_stages() {
        let weekly = Schedule { every: Every::Weekly, ..daily("24:00") };
        let w = Period::parse(&weekly, "2026-W48").unwrap();
        assert_eq!(w.first_day(), Some(date!(2026 - 11 - 23)));
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!(w.deadline(&weekly, &code("72")).unwrap(), datetime!(2026-11-30 00:00 +08:00));
        assert_eq!(
            current(&weekly, &code("72"), datetime!(2026-11-29 16:30 UTC)),
            Some(Period::parse(&weekly, "2026-W49").unwrap()),
            "00:30 WITA on Monday is the next week in Palu"
        );
        assert_eq!(current(&weekly, &code("31"), datetime!(2026-11-29 16:30 UTC)), Some(w.clone()), "23:30 WIB Sunday");
        assert!(Period::parse(&weekly, "2026-W54").is_err());
        assert!(Period::parse(&weekly, "2026-11-30").is_err());

        let monthly = Schedule { every: Every::Monthly, days_after: 5, ..daily("17:00") };
        let feb = Period::parse(&monthly, "2028-02").unwrap();
        assert_eq!(feb.last_day(&monthly), Some(date!(2028 - 02 - 29)));
        assert_eq!(feb.deadline(&monthly, &code("91")).unwrap(), datetime!(2028-03-05 17:00 +09:00));
        assert!(Period::parse(&monthly, "2026-13").is_err());
        // the last periods the calendar holds have no deadline rather than an overflow
        let last = Period::parse(&daily("24:00"), "9999-12-31").unwrap();
        assert_eq!(last.deadline(&daily("24:00"), &code("91")), None);
        assert_eq!(Period::parse(&monthly, "9999-12").unwrap().deadline(&monthly, &code("11")), None);

        let staged = Schedule {
            every: Every::Stage,
            stages: vec![Stage { id: "nphd".into(), name: "NPHD".into(), due: "2027-01-15".into(), status: None }],
            ..daily("24:00")
        };
        let nphd = Period::parse(&staged, "nphd").unwrap();
        assert_eq!(nphd.deadline(&staged, &code("72.71")).unwrap(), datetime!(2027-01-16 00:00 +08:00));
        assert_eq!(nphd.begins(&code("72.71")), None);
        assert!(Period::parse(&staged, "logistik").unwrap_err().contains("nphd"));
    }

    #[test]
    fn times_of_day() {
        assert_eq!(minutes_of("24:00"), Ok(1440));
        assert_eq!(minutes_of("00:00"), Ok(0));
        assert_eq!(minutes_of("17:30"), Ok(1050));
        for bad in ["24:01", "7:00", "17:60", "noon", "17:00:00", ""] {
            assert!(minutes_of(bad).is_err(), "{bad}");
        }
    }
}
