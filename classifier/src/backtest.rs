//! A backtest: what a candidate rule set would change, replayed over archived
//! reports beside the rules in force. A pure function: the caller fetches the
//! reports and says which regions the answer may speak of.

use std::collections::{BTreeMap, BTreeSet};

use model::{Alert, Classification, ClassifiedReport, Level, RegionCode};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Classifier;
use crate::thresholds::Windows;

/// Examples kept for each indicator, gained and lost.
pub const EXAMPLES: usize = 5;
/// Characters of a report's text quoted in an example.
const EXCERPT_CHARS: usize = 160;

/// What the candidate changes over the reports replayed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Backtest {
    /// Reports replayed.
    pub reports: usize,
    pub live_version: String,
    pub candidate_version: String,
    /// Per indicator that either set found.
    pub indicators: BTreeMap<String, IndicatorChange>,
    pub alerts: AlertChanges,
}

/// How one indicator fares under each set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IndicatorChange {
    /// Reports the live rules tag with it.
    pub live: u64,
    /// Reports the candidate tags with it.
    pub candidate: u64,
    /// Reports only the candidate tags with it.
    pub gained: u64,
    /// Reports only the live rules tag with it.
    pub lost: u64,
    /// Up to five of the gained reports.
    pub gained_examples: Vec<Example>,
    /// Up to five of the lost reports.
    pub lost_examples: Vec<Example>,
}

/// A report that gained or lost an indicator, and the terms that matched.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Example {
    pub id: String,
    pub excerpt: String,
    pub terms: BTreeSet<String>,
}

/// The alerts each set would raise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertChanges {
    /// Distinct alerts (indicator, region, level) under the live rules.
    pub live: usize,
    /// …and under the candidate.
    pub candidate: usize,
    /// Alerts only the candidate raises, with the first time each fires.
    pub only_candidate: Vec<CandidateAlert>,
    /// Alerts only the live rules raise.
    pub only_live: Vec<LiveAlert>,
}

/// An alert only the candidate would raise.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CandidateAlert {
    pub indicator: String,
    pub region: RegionCode,
    pub region_name: String,
    pub level: Level,
    /// The end of the window it fires in.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub count: u64,
}

/// An alert only the live rules would raise.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LiveAlert {
    pub indicator: String,
    pub region: RegionCode,
    pub level: Level,
}

/// An alert's identity in a backtest: indicator, region and level, in the
/// order of their text.
type AlertKey = (String, String, String);

fn key(a: &Alert) -> AlertKey {
    (a.indicator.clone(), a.region.to_string(), a.level.to_string())
}

fn indicators(c: &Classification) -> BTreeSet<String> {
    c.indicators.iter().map(|i| i.id.to_string()).collect()
}

fn example(report: &model::Report, c: &Classification, indicator: &str) -> Example {
    let terms =
        c.indicator(indicator).map(|i| i.matches.iter().map(|m| m.term.to_string()).collect()).unwrap_or_default();
    Example { id: report.id.to_string(), excerpt: model::excerpt(&report.text, EXCERPT_CHARS), terms }
}

/// Replays `reports` through `live` and `candidate` at `now`, with threshold
/// windows for each, and says what would change: reports gaining or losing
/// each indicator (with examples) and the alerts that would fire. Only alerts
/// of regions `visible` accepts are told of: a report in the caller's scope
/// may name places outside it, whose windows it also counts.
pub fn backtest(
    live: &Classifier,
    candidate: &Classifier,
    reports: impl IntoIterator<Item = ClassifiedReport>,
    visible: impl Fn(&RegionCode) -> bool,
    now: OffsetDateTime,
) -> Backtest {
    let mut changes: BTreeMap<String, IndicatorChange> = BTreeMap::new();
    let mut live_windows = Windows::new(live.rules().window_thresholds());
    let mut candidate_windows = Windows::new(candidate.rules().window_thresholds());
    let mut live_alerts: BTreeMap<AlertKey, LiveAlert> = BTreeMap::new();
    let mut candidate_alerts: BTreeMap<AlertKey, CandidateAlert> = BTreeMap::new();
    let mut count = 0;
    for item in reports {
        count += 1;
        let report = item.report;
        let l = live.classify(&report, now);
        let c = candidate.classify(&report, now);
        let (li, ci) = (indicators(&l), indicators(&c));
        for i in li.union(&ci) {
            let change = changes.entry(i.clone()).or_default();
            change.live += u64::from(li.contains(i));
            change.candidate += u64::from(ci.contains(i));
            if ci.contains(i) && !li.contains(i) {
                change.gained += 1;
                if change.gained_examples.len() < EXAMPLES {
                    change.gained_examples.push(example(&report, &c, i));
                }
            } else if li.contains(i) && !ci.contains(i) {
                change.lost += 1;
                if change.lost_examples.len() < EXAMPLES {
                    change.lost_examples.push(example(&report, &l, i));
                }
            }
        }
        let live_item = ClassifiedReport { report: report.clone(), classification: l };
        for a in live_windows.observe(&live_item, now).into_iter().filter(|a| visible(&a.region)) {
            live_alerts.entry(key(&a)).or_insert(LiveAlert {
                indicator: a.indicator,
                region: a.region,
                level: a.level,
            });
        }
        let candidate_item = ClassifiedReport { report, classification: c };
        for a in candidate_windows.observe(&candidate_item, now).into_iter().filter(|a| visible(&a.region)) {
            candidate_alerts.entry(key(&a)).or_insert_with(|| CandidateAlert {
                region_name: a.region.name().to_owned(),
                indicator: a.indicator,
                region: a.region,
                level: a.level,
                at: a.window.end,
                count: a.count,
            });
        }
    }
    let alerts = AlertChanges {
        live: live_alerts.len(),
        candidate: candidate_alerts.len(),
        only_candidate: candidate_alerts
            .iter()
            .filter(|(k, _)| !live_alerts.contains_key(*k))
            .map(|(_, a)| a.clone())
            .collect(),
        only_live: live_alerts.into_iter().filter(|(k, _)| !candidate_alerts.contains_key(k)).map(|(_, a)| a).collect(),
    };
    Backtest {
        reports: count,
        live_version: live.rules().version.to_string(),
        candidate_version: candidate.rules().version.to_string(),
        indicators: changes,
        alerts,
    }
}

#[cfg(test)]
mod tests {
    use model::{Channel, Report, ReportId};
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::RuleSet;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn classifier(terms: &str) -> Classifier {
        let rules = format!(
            "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [{terms}]\n\
             [threshold.narkoba]\nwindow = \"1h\"\nwaspada = 2\n"
        );
        Classifier::new(RuleSet::parse(&[("t.toml", &rules)]).unwrap())
    }

    fn archived(n: u128, region: &str, text: &str) -> ClassifiedReport {
        let at = NOW - time::Duration::minutes(30) + time::Duration::seconds(n as i64);
        let report = Report {
            id: ReportId(Uuid::from_u128(n)),
            region: Some(RegionCode::parse(region).unwrap()),
            ..Report::new(Channel::Web, "t", text, at)
        };
        // what the archive holds was classified by older rules: a backtest
        // classifies again and must not read this
        let classification = Classification {
            language: None,
            indicators: vec![],
            regions: vec![],
            rules_version: "lama".into(),
            classified_at: at,
        };
        ClassifiedReport { report, classification }
    }

    fn archive() -> Vec<ClassifiedReport> {
        vec![
            archived(1, "72.71", "Warga melihat transaksi sabu di pasar"),
            archived(2, "72.71", "Ada yang menjual ganja dekat sekolah"),
            archived(3, "72.71", "Ganja ditemukan di kebun"),
            archived(4, "31.71", "Ganja beredar di kampus"),
            archived(5, "31.71", "Polisi menyita ganja"),
            archived(6, "72.71", "Jalan rusak di Palu"),
        ]
    }

    #[test]
    fn a_broader_candidate_gains_reports_and_alerts() {
        let (live, candidate) = (classifier("\"sabu\""), classifier("\"sabu\", \"ganja\""));
        let result = backtest(&live, &candidate, archive(), |_| true, NOW);
        assert_eq!(result.reports, 6);
        let narkoba = &result.indicators["narkoba"];
        assert_eq!((narkoba.live, narkoba.candidate, narkoba.gained, narkoba.lost), (1, 5, 4, 0));
        assert_eq!(narkoba.gained_examples.len(), 4);
        assert!(narkoba.gained_examples[0].terms.contains("ganja"), "{:?}", narkoba.gained_examples[0]);
        assert_eq!(result.alerts.live, 0);
        let regions: BTreeSet<String> = result.alerts.only_candidate.iter().map(|a| a.region.to_string()).collect();
        assert!(regions.contains("72.71") && regions.contains("31.71"), "{regions:?}");
        assert!(result.alerts.only_live.is_empty());

        // the other way round, the same reports are lost
        let back = backtest(&candidate, &live, archive(), |_| true, NOW);
        let narkoba = &back.indicators["narkoba"];
        assert_eq!((narkoba.live, narkoba.candidate, narkoba.gained, narkoba.lost), (5, 1, 0, 4));
        assert_eq!(back.alerts.only_live.len(), result.alerts.only_candidate.len());
        assert!(back.alerts.only_candidate.is_empty());
    }

    #[test]
    fn alerts_outside_what_is_visible_are_not_told() {
        let (live, candidate) = (classifier("\"sabu\""), classifier("\"sabu\", \"ganja\""));
        let sulteng = RegionCode::parse("72").unwrap();
        let result = backtest(&live, &candidate, archive(), |r| r.is_within(&sulteng), NOW);
        assert!(!result.alerts.only_candidate.is_empty());
        assert!(result.alerts.only_candidate.iter().all(|a| a.region.is_within(&sulteng)), "{result:?}");
        assert_eq!(result.alerts.candidate, result.alerts.only_candidate.len());
    }

    #[test]
    fn the_answer_keeps_its_json_shape() {
        let (live, candidate) = (classifier("\"sabu\""), classifier("\"sabu\", \"ganja\""));
        let json = serde_json::to_value(backtest(&live, &candidate, archive(), |_| true, NOW)).unwrap();
        for field in ["reports", "live_version", "candidate_version", "indicators", "alerts"] {
            assert!(json.get(field).is_some(), "{field}: {json}");
        }
        let narkoba = &json["indicators"]["narkoba"];
        for field in ["live", "candidate", "gained", "lost", "gained_examples", "lost_examples"] {
            assert!(narkoba.get(field).is_some(), "{field}: {narkoba}");
        }
        let alert = &json["alerts"]["only_candidate"][0];
        assert_eq!(alert["level"], "waspada");
        assert!(alert["at"].as_str().unwrap().ends_with('Z'), "{alert}");
        assert!(alert["region_name"].is_string() && alert["count"].is_u64(), "{alert}");
        assert!(json["indicators"]["narkoba"]["gained_examples"][0]["id"].is_string());
    }
}
