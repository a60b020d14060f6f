//! The search index: upserts by report id, and queries that are always
//! limited to the caller's region scope inside the query itself, so totals and
//! facets never count what the caller may not see.

use std::collections::BTreeMap;
use std::path::Path;

use model::{Channel, ClassifiedReport, RegionCode, Scope, wire};
use serde::Serialize;
use tantivy::aggregation::AggregationCollector;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, EmptyQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DateTime, DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};
use time::OffsetDateTime;

use crate::Error;
use crate::schema::Fields;

/// What an analyst asks for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Query text: words, `"phrases"`, AND / OR / NOT, `title:` and `text:` prefixes.
    pub q: Option<String>,
    pub indicator: Option<String>,
    /// Only reports about this region or below it.
    pub region: Option<RegionCode>,
    pub channel: Option<Channel>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: usize,
    pub offset: usize,
}

/// One search hit. It never carries the reporter.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: Option<String>,
    /// An excerpt with the matched words in `<b>`, HTML-escaped.
    pub snippet: String,
    pub indicators: Vec<String>,
    pub regions: Vec<RegionCode>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub channel: Channel,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// All matches in scope, not just this page.
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Counts of matches in scope by indicator and by channel.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The tantivy index under `data_dir/index`, and a reader that follows commits.
#[derive(Clone)]
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchIndex")
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when missing.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Other(format!("cannot create {}: {e}", dir.display())))?;
        let (schema, fields) = Fields::build();
        let directory = MmapDirectory::open(dir).map_err(|e| Error::Other(format!("{}: {e}", dir.display())))?;
        let index = Index::open_or_create(directory, schema)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
        Ok(Self { index, reader, fields })
    }

    /// The single writer of this index. Holds the index lock until dropped.
    pub fn writer(&self) -> Result<IndexWriter, Error> {
        Ok(self.index.writer_with_num_threads(1, 50_000_000)?)
    }

    /// Makes the last commit visible to searches now, instead of within a moment.
    pub fn reload(&self) -> Result<(), Error> {
        Ok(self.reader.reload()?)
    }

    /// Adds or replaces `item` (by report id). Visible after the writer commits.
    pub fn upsert(&self, writer: &IndexWriter, item: &ClassifiedReport) -> Result<(), Error> {
        let f = &self.fields;
        let r = &item.report;
        let id = r.id.to_string();
        writer.delete_term(Term::from_field_text(f.id, &id));
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &id);
        if let Some(title) = &r.title {
            doc.add_text(f.title, title);
        }
        doc.add_text(f.text, &r.text);
        for hit in &item.classification.indicators {
            doc.add_text(f.indicators, &hit.id);
        }
        let mut regions: Vec<RegionCode> = item.classification.regions.iter().flat_map(RegionCode::lineage).collect();
        regions.sort();
        regions.dedup();
        for region in &regions {
            doc.add_text(f.regions, region.as_str());
        }
        doc.add_text(f.channel, r.channel.as_str());
        doc.add_date(f.received_at, DateTime::from_utc(r.received_at));
        doc.add_date(f.reported_at, DateTime::from_utc(r.reported_at));
        doc.add_bytes(f.doc, &wire::encode(item));
        writer.add_document(doc)?;
        Ok(())
    }

    /// The report with `id`, if it is in the index and inside `scope`.
    pub fn get(&self, id: &str, scope: &Scope) -> Result<Option<ClassifiedReport>, Error> {
        let searcher = self.reader.searcher();
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(Term::from_field_text(self.fields.id, id), IndexRecordOption::Basic)),
            ),
            (Occur::Must, self.scope_query(scope)),
        ]);
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            Some((_, address)) => self.load(&searcher, *address).map(Some),
            None => Ok(None),
        }
    }

    /// Archived reports in `scope` that happened in `[from, to)`, oldest
    /// first, at most `limit` of them.
    pub fn between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        scope: &Scope,
        limit: usize,
    ) -> Result<Vec<ClassifiedReport>, Error> {
        let searcher = self.reader.searcher();
        let f = self.fields.reported_at;
        let range = RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_date_for_search(f, DateTime::from_utc(from))),
            std::ops::Bound::Excluded(Term::from_field_date_for_search(f, DateTime::from_utc(to))),
        );
        let query = BooleanQuery::new(vec![(Occur::Must, Box::new(range)), (Occur::Must, self.scope_query(scope))]);
        let top = TopDocs::with_limit(limit.max(1)).order_by_fast_field::<DateTime>("reported_at", Order::Asc);
        let found = searcher.search(&query, &top)?;
        found.into_iter().map(|(_, address)| self.load(&searcher, address)).collect()
    }

    fn load(&self, searcher: &tantivy::Searcher, address: DocAddress) -> Result<ClassifiedReport, Error> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let bytes = doc.get_first(self.fields.doc).and_then(|v| v.as_bytes()).unwrap_or_default();
        wire::decode(bytes).map_err(|e| Error::Other(format!("stored report is unreadable: {e}")))
    }

    fn term(&self, field: tantivy::schema::Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
    }

    /// The caller's scope as a query: a report matches when any of its
    /// regions (at any level) equals one of the scope's codes.
    fn scope_query(&self, scope: &Scope) -> Box<dyn Query> {
        match scope {
            Scope::All => Box::new(AllQuery),
            Scope::Regions(codes) if codes.is_empty() => Box::new(EmptyQuery),
            Scope::Regions(codes) => Box::new(BooleanQuery::new(
                codes.iter().map(|c| (Occur::Should, self.term(self.fields.regions, c.as_str()))).collect(),
            )),
        }
    }

    fn build_query(&self, q: &SearchQuery, scope: &Scope) -> Result<Box<dyn Query>, Error> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, self.scope_query(scope))];
        if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.text]);
            parser.set_conjunction_by_default();
            clauses.push((Occur::Must, parser.parse_query(text)?));
        }
        if let Some(indicator) = &q.indicator {
            clauses.push((Occur::Must, self.term(f.indicators, indicator)));
        }
        if let Some(region) = &q.region {
            clauses.push((Occur::Must, self.term(f.regions, region.as_str())));
        }
        if let Some(channel) = q.channel {
            clauses.push((Occur::Must, self.term(f.channel, channel.as_str())));
        }
        if q.from.is_some() || q.to.is_some() {
            let bound = |t: Option<OffsetDateTime>, incl: bool| match t {
                None => std::ops::Bound::Unbounded,
                Some(t) => {
                    let term = Term::from_field_date_for_search(f.received_at, DateTime::from_utc(t));
                    if incl { std::ops::Bound::Included(term) } else { std::ops::Bound::Excluded(term) }
                }
            };
            clauses.push((Occur::Must, Box::new(RangeQuery::new(bound(q.from, true), bound(q.to, false)))));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Searches within `scope`.
    pub fn search(&self, q: &SearchQuery, scope: &Scope) -> Result<SearchResult, Error> {
        let searcher = self.reader.searcher();
        let query = self.build_query(q, scope)?;
        let limit = q.limit.clamp(1, 1000);
        let has_text = q.q.as_deref().is_some_and(|t| !t.trim().is_empty());
        let addresses: Vec<DocAddress> = if has_text {
            let top = TopDocs::with_limit(limit).and_offset(q.offset).order_by_score();
            searcher.search(&query, &top)?.into_iter().map(|(_, a)| a).collect()
        } else {
            let top = TopDocs::with_limit(limit)
                .and_offset(q.offset)
                .order_by_fast_field::<DateTime>("received_at", Order::Desc);
            searcher.search(&query, &top)?.into_iter().map(|(_, a)| a).collect()
        };
        let total = searcher.search(&query, &Count)?;
        let snippets = if has_text {
            Some(tantivy::snippet::SnippetGenerator::create(&searcher, &*query, self.fields.text)?)
        } else {
            None
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for address in addresses {
            let item = self.load(&searcher, address)?;
            let snippet = match &snippets {
                Some(g) => {
                    let s = g.snippet(&item.report.text);
                    if s.fragment().is_empty() { escape(&excerpt(&item.report.text)) } else { s.to_html() }
                }
                None => escape(&excerpt(&item.report.text)),
            };
            hits.push(Hit {
                id: item.report.id.to_string(),
                title: item.report.title.clone(),
                snippet,
                indicators: item.classification.indicators.iter().map(|i| i.id.to_string()).collect(),
                regions: item.classification.regions.clone(),
                received_at: item.report.received_at,
                channel: item.report.channel,
            });
        }
        let facets = self.facets(&searcher, &*query)?;
        Ok(SearchResult { total, hits, facets })
    }

    fn facets(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
    ) -> Result<BTreeMap<String, BTreeMap<String, u64>>, Error> {
        let request = serde_json::json!({
            "indicator": { "terms": { "field": "indicator", "size": 100 } },
            "channel": { "terms": { "field": "channel", "size": 20 } },
        });
        let aggs: Aggregations =
            serde_json::from_value(request).map_err(|e| Error::Other(format!("facet request: {e}")))?;
        let collector = AggregationCollector::from_aggs(aggs, Default::default());
        let result = searcher.search(query, &collector)?;
        let json = serde_json::to_value(&result).map_err(|e| Error::Other(format!("facet result: {e}")))?;
        let mut out = BTreeMap::new();
        for name in ["indicator", "channel"] {
            let buckets = json[name]["buckets"].as_array().cloned().unwrap_or_default();
            let counts = buckets
                .iter()
                .filter_map(|b| Some((b["key"].as_str()?.to_owned(), b["doc_count"].as_u64()?)))
                .collect();
            out.insert(name.to_owned(), counts);
        }
        Ok(out)
    }
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use model::{Classification, IndicatorHit, Report, ReportId};
    use time::macros::datetime;

    use super::*;

    fn item(n: u128, region: &str, text: &str, indicator: &str) -> ClassifiedReport {
        let at = datetime!(2026-11-29 10:00 UTC) + time::Duration::minutes(n as i64);
        let report = Report {
            id: ReportId(uuid::Uuid::from_u128(n)),
            received_at: at,
            reported_at: at,
            channel: Channel::Web,
            source: "t".into(),
            reporter: Some(model::Reporter { name: Some("Informan Rahasia".into()), ..Default::default() }),
            region: Some(RegionCode::parse(region).unwrap()),
            title: None,
            text: text.into(),
            language: None,
            attachments: vec![],
            location: None,
            external_id: None,
        };
        let classification = Classification {
            language: None,
            indicators: vec![IndicatorHit { id: indicator.into(), score: 1.0, rules: vec![], matches: vec![] }],
            regions: vec![report.region.clone().unwrap()],
            rules_version: "t".into(),
            classified_at: at,
        };
        ClassifiedReport { report, classification }
    }

    #[test]
    fn upsert_search_scope_and_facets() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut writer = index.writer().unwrap();
        index.upsert(&writer, &item(1, "72.71", "pesta sabu di Palu", "narkoba")).unwrap();
        index.upsert(&writer, &item(2, "73.71", "pesta sabu di Makassar", "narkoba")).unwrap();
        index.upsert(&writer, &item(3, "72.03", "bentrok warga", "konflik_sosial")).unwrap();
        // the same report again replaces, never duplicates
        index.upsert(&writer, &item(1, "72.71", "pesta sabu di Palu", "narkoba")).unwrap();
        writer.commit().unwrap();
        index.reload().unwrap();

        let q = SearchQuery { q: Some("sabu".into()), limit: 10, ..Default::default() };
        let all = index.search(&q, &Scope::All).unwrap();
        assert_eq!(all.total, 2);
        let palu = index.search(&q, &Scope::Regions(vec![RegionCode::parse("72").unwrap()])).unwrap();
        assert_eq!(palu.total, 1);
        assert_eq!(palu.hits[0].id, ReportId(uuid::Uuid::from_u128(1)).to_string());
        assert!(palu.hits[0].snippet.contains("<b>sabu</b>"), "{}", palu.hits[0].snippet);
        assert!(!serde_json::to_string(&palu).unwrap().contains("Rahasia"));

        let browse = SearchQuery { limit: 10, ..Default::default() };
        let scoped = index.search(&browse, &Scope::Regions(vec![RegionCode::parse("72").unwrap()])).unwrap();
        assert_eq!(scoped.total, 2);
        // newest first without a query
        assert_eq!(scoped.hits[0].id, ReportId(uuid::Uuid::from_u128(3)).to_string());
        assert_eq!(scoped.facets["indicator"], BTreeMap::from([("konflik_sosial".into(), 1), ("narkoba".into(), 1)]));

        let some = Scope::Regions(vec![RegionCode::parse("73").unwrap()]);
        assert!(index.get(&ReportId(uuid::Uuid::from_u128(1)).to_string(), &some).unwrap().is_none());
        assert!(index.get(&ReportId(uuid::Uuid::from_u128(1)).to_string(), &Scope::All).unwrap().is_some());
    }
}
