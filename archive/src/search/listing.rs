//! Reports listed rather than searched (`GET /api/v1/reports`): a reporter's
//! own, or the reports of a list of ids (an alert's), newest first. The
//! caller's scope is a clause of the query, as in every search.

use model::{ClassifiedReport, ReportId, Scope};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, EmptyQuery, Occur, Query};
use tantivy::{DateTime, Order};

use super::SearchIndex;
use crate::Error;

/// Which reports to list.
#[derive(Debug, Clone, Default)]
pub struct ReportsQuery {
    /// Only the reports this account sent.
    pub account: Option<String>,
    /// Only these reports.
    pub ids: Option<Vec<ReportId>>,
    /// At most this many (1 to 1,000), after skipping `offset`.
    pub limit: usize,
    pub offset: usize,
}

impl SearchIndex {
    /// The reports within `scope` that `q` asks for, newest received first,
    /// and how many there are in all.
    pub fn reports(&self, q: &ReportsQuery, scope: &Scope) -> Result<(usize, Vec<ClassifiedReport>), Error> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, self.scope_query(scope))];
        if let Some(account) = &q.account {
            clauses.push((Occur::Must, self.term(f.account, account)));
        }
        if let Some(ids) = &q.ids {
            let any: Box<dyn Query> = if ids.is_empty() {
                Box::new(EmptyQuery)
            } else {
                Box::new(BooleanQuery::new(
                    ids.iter().map(|id| (Occur::Should, self.term(f.id, &id.to_string()))).collect(),
                ))
            };
            clauses.push((Occur::Must, any));
        }
        let searcher = self.reader.searcher();
        let page = TopDocs::with_limit(q.limit.clamp(1, 1000))
            .and_offset(q.offset)
            .order_by_fast_field::<DateTime>("received_at", Order::Desc);
        let (found, total) = searcher.search(&BooleanQuery::new(clauses), &(page, Count))?;
        let items = found.into_iter().map(|(_, address)| self.load(&searcher, address)).collect::<Result<_, _>>()?;
        Ok((total, items))
    }
}

#[cfg(test)]
mod tests {
    use model::{Channel, Classification, RegionCode, Report, Reporter};
    use time::macros::datetime;

    use super::*;

    fn item(n: u128, region: &str, account: Option<&str>) -> ClassifiedReport {
        let at = datetime!(2026-11-29 10:00 UTC) + time::Duration::minutes(n as i64);
        let report = Report {
            id: ReportId(uuid::Uuid::from_u128(n)),
            reporter: account.map(|a| Reporter { account: Some(a.into()), ..Default::default() }),
            region: Some(RegionCode::parse(region).unwrap()),
            ..Report::new(Channel::App, "api", "laporan", at)
        };
        let classification = Classification {
            language: None,
            indicators: vec![],
            regions: vec![],
            rules_version: "t".into(),
            classified_at: at,
        };
        ClassifiedReport { report, classification }
    }

    fn listed(index: &SearchIndex, q: &ReportsQuery, scope: &Scope) -> (usize, Vec<u128>) {
        let (total, items) = index.reports(q, scope).unwrap();
        (total, items.iter().map(|r| r.report.id.0.as_u128()).collect())
    }

    #[test]
    fn own_reports_and_reports_by_id_newest_first_within_scope() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut writer = index.writer().unwrap();
        let items = [
            item(1, "72.71", Some("ani")),
            item(2, "72.71", Some("budi")),
            item(3, "73.71", Some("ani")),
            item(4, "72.03", None),
            item(5, "72.71", Some("ani")),
        ];
        for i in &items {
            index.upsert(&writer, i).unwrap();
        }
        writer.commit().unwrap();
        index.reload().unwrap();
        let all = Scope::All;
        let q = |account: Option<&str>, ids: Option<Vec<u128>>, limit, offset| ReportsQuery {
            account: account.map(Into::into),
            ids: ids.map(|ids| ids.into_iter().map(|n| ReportId(uuid::Uuid::from_u128(n))).collect()),
            limit,
            offset,
        };
        assert_eq!(listed(&index, &q(Some("ani"), None, 10, 0), &all), (3, vec![5, 3, 1]));
        assert_eq!(listed(&index, &q(Some("ani"), None, 1, 1), &all), (3, vec![3]));
        assert_eq!(listed(&index, &q(Some("nobody"), None, 10, 0), &all), (0, vec![]));
        let palu = Scope::Regions(vec![RegionCode::parse("72").unwrap()]);
        assert_eq!(listed(&index, &q(None, None, 10, 0), &palu), (4, vec![5, 4, 2, 1]));
        assert_eq!(listed(&index, &q(None, Some(vec![3, 4, 9]), 10, 0), &palu), (1, vec![4]));
        assert_eq!(listed(&index, &q(None, Some(vec![3, 4]), 10, 0), &all), (2, vec![4, 3]));
        assert_eq!(listed(&index, &q(None, Some(vec![]), 10, 0), &all), (0, vec![]));
    }
}
