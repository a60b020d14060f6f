//! The versioned JSON wire format of everything on the bus.
//!
//! Every message is a JSON object with a `"v"` field next to the value's own
//! fields, for example `{"v":1,"id":"0193…","text":"…"}`. A reader refuses a
//! version it does not know, instead of guessing. Wire types therefore never
//! deny unknown fields.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The wire version this build writes and reads.
pub const VERSION: u64 = 1;

#[derive(Serialize)]
struct Out<'a, T> {
    v: u64,
    #[serde(flatten)]
    value: &'a T,
}

#[derive(Deserialize)]
struct VersionOnly {
    v: Option<u64>,
}

/// Serialises `value` with the current wire version.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our types hold only strings, numbers and maps with string keys.
    serde_json::to_vec(&Out { v: VERSION, value }).unwrap_or_default()
}

/// Reads a message written by [`encode`], checking its version first.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let version: VersionOnly = serde_json::from_slice(bytes)?;
    match version.v {
        // The value's own fields sit beside "v"; its type ignores "v".
        Some(VERSION) => Ok(serde_json::from_slice::<T>(bytes)?),
        Some(found) => Err(Error::WireVersion { found, supported: VERSION }),
        None => Err(Error::Json(serde::de::Error::missing_field("v"))),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::{Channel, RegionCode, Report, ReportId};

    fn report() -> Report {
        let at = datetime!(2026-11-29 10:00 UTC);
        Report {
            region: Some(RegionCode::parse("72.71").unwrap()),
            ..Report::new(Channel::Sms, "gateway", "pesta sabu di gang", at)
        }
    }

    #[test]
    fn round_trip_carries_version() {
        let r = report();
        let bytes = encode(&r);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["channel"], "sms");
        assert_eq!(json["region"], "72.71");
        assert_eq!(decode::<Report>(&bytes).unwrap(), r);
    }

    #[test]
    fn refuses_other_versions_and_bad_regions() {
        let mut json: serde_json::Value = serde_json::from_slice(&encode(&report())).unwrap();
        json["v"] = 2.into();
        let err = decode::<Report>(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert!(matches!(err, Error::WireVersion { found: 2, .. }), "{err}");
        json["v"] = 1.into();
        json["region"] = "99.99".into();
        assert!(decode::<Report>(&serde_json::to_vec(&json).unwrap()).is_err());
        assert!(decode::<Report>(b"{\"text\":\"x\"}").is_err());
    }

    #[test]
    fn ids_sort_by_time() {
        let a = ReportId::new_at(datetime!(2026-01-01 0:00 UTC));
        let b = ReportId::new_at(datetime!(2026-01-01 0:00:01 UTC));
        assert!(a < b);
        assert_eq!(a.0.get_version_num(), 7);
    }
}
