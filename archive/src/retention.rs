//! How long reports are kept, per channel: `[retention]` in the
//! configuration, for example `feed = "365d"`. Channels not listed are kept
//! forever. Retention applies to the search index, to ClickHouse (the
//! reports and the daily counts) and to every rebuild from the log.
//!
//! Age is counted from when a report happened (`reported_at`), in whole days
//! of UTC+7, so the search index, the raw reports and the daily rollup drop
//! exactly the same reports.

use std::collections::HashMap;
use std::time::Duration;

use model::{Channel, ClassifiedReport};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::stats::{DAY_OFFSET_HOURS, date_of, day_number};

/// `[retention]`: channel → how long to keep its reports.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Retention(#[serde(with = "humantime_duration_map")] pub HashMap<Channel, Duration>);

mod humantime_duration_map {
    use std::collections::HashMap;
    use std::time::Duration;

    use model::Channel;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<Channel, Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Keep(#[serde(with = "humantime_serde")] Duration);
        let map: HashMap<Channel, Keep> = HashMap::deserialize(d)?;
        Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}

impl Retention {
    /// For each channel with a limit, the moment before which its reports
    /// go: a midnight in UTC+7.
    pub fn cutoffs(&self, now: OffsetDateTime) -> Vec<(Channel, OffsetDateTime)> {
        let mut out: Vec<(Channel, OffsetDateTime)> = self
            .0
            .iter()
            .map(|(channel, keep)| {
                let oldest = now - time::Duration::try_from(*keep).unwrap_or(time::Duration::MAX);
                let day = date_of(day_number(oldest));
                let offset = time::UtcOffset::from_hms(DAY_OFFSET_HOURS, 0, 0).expect("valid offset");
                (*channel, day.midnight().assume_offset(offset).to_offset(time::UtcOffset::UTC))
            })
            .collect();
        out.sort_by_key(|(c, _)| c.as_str());
        out
    }

    /// Whether `item` is still kept at `now`.
    pub fn keeps(&self, item: &ClassifiedReport, now: OffsetDateTime) -> bool {
        self.cutoffs(now)
            .iter()
            .all(|(channel, before)| item.report.channel != *channel || item.report.reported_at >= *before)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn cutoffs_fall_on_midnight_in_western_indonesian_time() {
        let retention: Retention = toml::from_str("feed = \"30days\"\nsms = \"1year\"").unwrap();
        let now = datetime!(2026-11-29 10:00 UTC);
        let cutoffs = retention.cutoffs(now);
        assert_eq!(cutoffs[0], (Channel::Feed, datetime!(2026-10-29 17:00 UTC)));
        assert_eq!(cutoffs[1].0, Channel::Sms);
        assert!(toml::from_str::<Retention>("fax = \"1d\"").unwrap_err().to_string().contains("unknown variant"));
        assert!(toml::from_str::<Retention>("feed = \"soon\"").is_err());
    }
}
