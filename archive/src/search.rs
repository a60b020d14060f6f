//! The search index: upserts by report id, and queries that are always
//! limited to the caller's region scope inside the query itself, so totals,
//! facets and statistics never count what the caller may not see.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::Path;

use minijinja::HtmlEscape;
use model::{Channel, ClassifiedReport, RegionCode, RegionLevel, Scope, wire};
use serde::Serialize;
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, EnableScoring, InvertedIndexRangeQuery, Occur, Query, QueryParser, RangeQuery,
    TermQuery,
};
use tantivy::schema::{DateTimePrecision, IndexRecordOption, Value};
use tantivy::{
    DateTime, DocAddress, DocId, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Score, SegmentReader,
    TantivyDocument, Term,
};
use time::OffsetDateTime;

use crate::Error;
use crate::schema::Fields;
use crate::stats::{Stats, StatsQuery, day_number};
use bahasa::tokenizer as analysis;

pub mod facets;
mod listing;
mod tally;
pub use facets::Facets;
pub use listing::ReportsQuery;

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first; newest first without query text.
    #[default]
    Relevance,
    Newest,
    Oldest,
}

/// What an analyst asks for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Query text: words, `"phrases"`, AND / OR / NOT, `title:` and `text:` prefixes.
    pub q: Option<String>,
    pub indicator: Option<String>,
    /// Only reports about this region or below it.
    pub region: Option<RegionCode>,
    pub channel: Option<Channel>,
    pub source: Option<String>,
    pub language: Option<String>,
    /// Received in `[from, to)`.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Only reports whose indicator scores add up to at least this.
    pub min_score: Option<f64>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
    /// The `next` cursor of the previous page: the page after it, however
    /// deep, and stable while reports keep arriving.
    pub after: Option<String>,
}

/// One search hit. It never carries the reporter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub id: String,
    pub title: Option<String>,
    /// An excerpt with the matched words in `<b>`, HTML-escaped.
    pub snippet: String,
    pub indicators: Vec<String>,
    pub regions: Vec<RegionCode>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    pub channel: Channel,
    pub source: String,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// All matches in scope, not just this page.
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Counts of matches in scope by indicator, channel, language, province and regency.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Where a hit stands in its ordering: bigger comes first.
type SortKey = (f32, i64, u64);

/// A cursor names the ordering and the last hit's key, so a page after it
/// is exactly the hits whose keys come after it.
fn encode_cursor(sort: Sort, key: SortKey) -> String {
    let tag = match sort {
        Sort::Relevance => 'r',
        Sort::Newest => 'n',
        Sort::Oldest => 'o',
    };
    format!("{tag}{:08x}{:016x}{:016x}", key.0.to_bits(), key.1 as u64, key.2)
}

fn decode_cursor(sort: Sort, cursor: &str) -> Result<SortKey, Error> {
    let bad = || Error::Invalid("after: not a cursor from this search; pass the `next` of the previous page".into());
    let expected = encode_cursor(sort, (0.0, 0, 0)).chars().next();
    let mut chars = cursor.chars();
    if chars.next() != expected || cursor.len() != 41 || !cursor.is_ascii() {
        return Err(bad());
    }
    let hex = |range: std::ops::Range<usize>| u64::from_str_radix(&cursor[range], 16).map_err(|_| bad());
    Ok((f32::from_bits(hex(1..9)? as u32), hex(9..25)? as i64, hex(25..41)?))
}

/// The tantivy index under `data_dir/index-v<N>`, and a reader that follows commits.
#[derive(Clone)]
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Totals and facets of broad searches, per segment.
    tallies: std::sync::Arc<tally::Tallies>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchIndex")
    }
}

/// Characters in a search query.
pub const QUERY_CHARS: usize = 1000;
/// Brackets open inside each other in a search query.
pub const QUERY_DEPTH: usize = 16;

/// Refuses a query that tantivy's parser would take too long over or
/// recurse too deep on (thousands of brackets overflow a thread's stack and
/// stop the whole node).
fn check_query_shape(text: &str) -> Result<(), Error> {
    let n = text.chars().count();
    if n > QUERY_CHARS {
        return Err(Error::Invalid(format!("q: {n} characters; a query may have at most {QUERY_CHARS}")));
    }
    let (mut depth, mut deepest, mut quoted) = (0usize, 0usize, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > QUERY_DEPTH {
        return Err(Error::Invalid(format!("q: brackets nested {deepest} deep; at most {QUERY_DEPTH}")));
    }
    // `title:*` asks tantivy whether a field exists, which only fast fields
    // answer; it failed the search with a 500
    if text.split(|c: char| c.is_whitespace() || "()+-".contains(c)).any(|w| w.ends_with(":*")) {
        return Err(Error::Invalid("q: `field:*` is not a search; leave q empty to see every report".into()));
    }
    Ok(())
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when missing.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        let (schema, fields) = Fields::build();
        let directory = MmapDirectory::open(dir).map_err(|e| Error::Index(e.into()))?;
        let mut index = Index::open_or_create(directory, schema)?;
        // a search runs over the segments on every core
        index.set_default_multithread_executor()?;
        analysis::register(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
        Ok(Self { index, reader, fields, tallies: Default::default() })
    }

    /// Opens the index of this schema version and analysis under
    /// `data_dir`, and removes the indexes of other versions or analyses
    /// (`index`, `index-v…`, and their `.rebuild` and `.old` folders): this
    /// node rebuilds its own from the log.
    pub fn open_in(data_dir: &Path) -> Result<Self, Error> {
        let current = crate::schema::folder();
        let entries = match std::fs::read_dir(data_dir) {
            Ok(entries) => entries.flatten().collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("cannot list", data_dir, e)),
        };
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let base = name.split_once('.').map_or(name.as_str(), |(base, _)| base);
            let ours = base == "index" || base.starts_with("index-v");
            let path = entry.path();
            if ours && base != current && path.join("meta.json").exists() {
                tracing::info!(path = %path.display(), "removing a search index of another schema or analysis; it is rebuilt from the log");
                std::fs::remove_dir_all(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            }
        }
        Self::open(&data_dir.join(current))
    }

    /// The single writer of this index. Holds the index lock until dropped.
    pub fn writer(&self) -> Result<IndexWriter, Error> {
        Ok(self.index.writer_with_num_threads(1, 50_000_000)?)
    }

    /// The tantivy index, for commit payloads and metadata.
    pub fn tantivy(&self) -> &Index {
        &self.index
    }

    /// Makes the last commit visible to searches now, instead of within a moment.
    pub fn reload(&self) -> Result<(), Error> {
        Ok(self.reader.reload()?)
    }

    /// How many reports the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the totals and facets kept from earlier searches, so the next
    /// search counts as if asked the first time (for benches/search.rs).
    pub fn forget_kept_counts(&self) {
        self.tallies.forget();
    }

    /// Adds or replaces `item` (by report id). Visible after the writer commits.
    pub fn upsert(&self, writer: &IndexWriter, item: &ClassifiedReport) -> Result<(), Error> {
        let f = &self.fields;
        let r = &item.report;
        let c = &item.classification;
        let id = r.id.to_string();
        writer.delete_term(Term::from_field_text(f.id, &id));
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &id);
        doc.add_u64(f.seq, r.id.0.as_u128() as u64);
        if let Some(title) = &r.title {
            doc.add_text(f.title, title);
        }
        doc.add_text(f.text, &r.text);
        for hit in &c.indicators {
            doc.add_text(f.indicators, &hit.id);
        }
        // the report's own region and every region found in its text, at
        // every level: what region filters and scopes match
        let mut regions: Vec<RegionCode> = r.region.iter().chain(&c.regions).flat_map(RegionCode::lineage).collect();
        regions.sort();
        regions.dedup();
        for region in &regions {
            doc.add_text(f.regions, region.as_str());
        }
        let main = r.region.as_ref().or(c.regions.first());
        for region in main.map(RegionCode::lineage).unwrap_or_default() {
            doc.add_text(f.area, region.as_str());
        }
        let at = |level| main.and_then(|m| m.at_level(level)).map(|c| c.to_string()).unwrap_or_default();
        doc.add_text(f.province, at(RegionLevel::Province));
        doc.add_text(f.regency, at(RegionLevel::Regency));
        doc.add_text(f.channel, r.channel.as_str());
        doc.add_text(f.source, &r.source);
        if let Some(account) = r.reporter.as_ref().and_then(|p| p.account.as_deref()) {
            doc.add_text(f.account, account);
        }
        doc.add_text(f.language, c.language.as_deref().unwrap_or(""));
        doc.add_f64(f.score, c.indicators.iter().map(|i| i.score).sum());
        doc.add_text(f.rules_version, &c.rules_version);
        doc.add_date(f.received_at, DateTime::from_utc(r.received_at));
        doc.add_date(f.reported_at, DateTime::from_utc(r.reported_at));
        doc.add_u64(f.day, day_number(r.reported_at) as u64);
        doc.add_bytes(f.doc, &wire::encode(item));
        writer.add_document(doc)?;
        Ok(())
    }

    /// Removes the reports of `channel` that happened before `before`, for retention.
    pub fn delete_older(&self, writer: &IndexWriter, channel: Channel, before: OffsetDateTime) -> Result<(), Error> {
        let f = &self.fields;
        let query = BooleanQuery::new(vec![
            (Occur::Must, self.term(f.channel, channel.as_str())),
            (Occur::Must, self.time_range(f.reported_at, None, Some(before))),
        ]);
        writer.delete_query(Box::new(query))?;
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
        let range = self.time_range(self.fields.reported_at, Some(from), Some(to));
        let query = BooleanQuery::new(vec![(Occur::Must, range), (Occur::Must, self.scope_query(scope))]);
        let top = TopDocs::with_limit(limit.max(1)).order_by_fast_field::<DateTime>("reported_at", Order::Asc);
        let found = searcher.search(&query, &top)?;
        found.into_iter().map(|(_, address)| self.load(&searcher, address)).collect()
    }

    fn load(&self, searcher: &tantivy::Searcher, address: DocAddress) -> Result<ClassifiedReport, Error> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let bytes = doc.get_first(self.fields.doc).and_then(|v| v.as_bytes()).unwrap_or_default();
        wire::decode(bytes).map_err(|e| {
            Error::Corrupt(format!("a stored report is unreadable ({e}); `kentongan reindex` rebuilds the index"))
        })
    }

    fn term(&self, field: tantivy::schema::Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
    }

    /// The caller's scope as a query on `field`: a report matches when any of
    /// its regions there (at any level) equals one of the scope's codes.
    fn scope_on(&self, field: tantivy::schema::Field, scope: &Scope) -> Box<dyn Query> {
        match scope {
            Scope::All => Box::new(AllQuery),
            Scope::Regions(codes) if codes.is_empty() => Box::new(EmptyQuery),
            Scope::Regions(codes) => Box::new(BooleanQuery::new(
                codes.iter().map(|c| (Occur::Should, self.term(field, c.as_str()))).collect(),
            )),
        }
    }

    fn scope_query(&self, scope: &Scope) -> Box<dyn Query> {
        self.scope_on(self.fields.regions, scope)
    }

    fn time_range(
        &self,
        field: tantivy::schema::Field,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Box<dyn Query> {
        let bound = |t: Option<OffsetDateTime>, incl: bool| match t {
            None => std::ops::Bound::Unbounded,
            Some(t) => {
                // the range runs on the fast column, kept to the microsecond;
                // a term "for search" would be cut to the second, and a
                // report earlier in the same second as `to` left out
                let term =
                    Term::from_field_date(field, DateTime::from_utc(t).truncate(DateTimePrecision::Microseconds));
                if incl { std::ops::Bound::Included(term) } else { std::ops::Bound::Excluded(term) }
            }
        };
        Box::new(RangeQuery::new(bound(from, true), bound(to, false)))
    }

    /// The query of a search's text alone.
    fn text_query(&self, text: &str) -> Result<Box<dyn Query>, Error> {
        check_query_shape(text)?;
        let mut parser = QueryParser::for_index(&self.index, vec![self.fields.title, self.fields.text]);
        parser.set_conjunction_by_default();
        // tantivy reads `a AND NOT b` as a and (nothing but not b), which
        // matches nothing; `a NOT b` is what people mean
        Ok(parser.parse_query(&text.replace(" AND NOT ", " NOT "))?)
    }

    /// The tantivy query of `q` within `scope`, as [`SearchIndex::search`]
    /// runs it (public for benches/search.rs).
    pub fn build_query(&self, q: &SearchQuery, scope: &Scope) -> Result<Box<dyn Query>, Error> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, self.scope_query(scope))];
        if let Some(text) = text_of(q) {
            clauses.push((Occur::Must, self.text_query(text)?));
        }
        let keywords = [
            (f.indicators, q.indicator.as_deref()),
            (f.regions, q.region.as_ref().map(RegionCode::as_str)),
            (f.channel, q.channel.map(Channel::as_str)),
            (f.source, q.source.as_deref()),
            (f.language, q.language.as_deref()),
        ];
        for (field, value) in keywords {
            if let Some(value) = value {
                clauses.push((Occur::Must, self.term(field, value)));
            }
        }
        if q.from.is_some() || q.to.is_some() {
            clauses.push((Occur::Must, self.time_range(f.received_at, q.from, q.to)));
        }
        if let Some(min) = q.min_score {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    std::ops::Bound::Included(Term::from_field_f64(f.score, min)),
                    std::ops::Bound::Unbounded,
                )),
            ));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Searches within `scope`.
    pub fn search(&self, q: &SearchQuery, scope: &Scope) -> Result<SearchResult, Error> {
        let searcher = self.reader.searcher();
        let query = self.build_query(q, scope)?;
        let limit = q.limit.clamp(1, 1000);
        let has_text = q.q.as_deref().is_some_and(|t| !t.trim().is_empty());
        let sort = effective_sort(q);
        let after = q.after.as_deref().map(|c| decode_cursor(sort, c)).transpose()?;
        // the total and facets (of every report from the term dictionary;
        // of other questions as kept per segment, or counted), then the page
        let asked = SearchQuery { sort: Sort::default(), limit: 0, offset: 0, after: None, ..q.clone() };
        let every = asks_everything(q) && *scope == Scope::All;
        let key = format!("{scope:?} {asked:?}");
        let (total, mut facets) = tally::tally(&searcher, &*query, every, &key, &self.tallies)?;
        let page = (sort, after, limit, q.offset);
        let top = match sort {
            // text alone, over every report: by its own query, which tantivy
            // can prune
            Sort::Relevance
                if after.is_none()
                    && *scope == Scope::All
                    && asks_everything(&SearchQuery { q: None, ..q.clone() }) =>
            {
                let text = self.text_query(text_of(q).unwrap_or_default())?;
                best_page(&searcher, &*text, &*query, limit, q.offset)?
            }
            Sort::Relevance => page_of(&searcher, &*query, page)?,
            Sort::Newest | Sort::Oldest => time_page(&searcher, &*query, page, total, self.fields.received_at)?,
        };
        let found: Vec<(SortKey, DocAddress)> = top.into_iter().filter_map(|(key, a)| Some((key?, a))).collect();
        let snippets = if has_text {
            Some(tantivy::snippet::SnippetGenerator::create(&searcher, &*query, self.fields.text)?)
        } else {
            None
        };
        let next = (found.len() == limit).then(|| found.last().map(|(key, _)| encode_cursor(sort, *key))).flatten();
        let mut hits = Vec::with_capacity(found.len());
        for (_, address) in found {
            let item = self.load(&searcher, address)?;
            let snippet = match snippets.as_ref().map(|g| g.snippet(&item.report.text)) {
                Some(s) if !s.fragment().is_empty() => {
                    marked_html(s.fragment(), &tantivy::snippet::collapse_overlapped_ranges(s.highlighted()))
                }
                _ => marked_html(&excerpt(&item.report.text), &[]),
            };
            let (report, classification) = (item.report, item.classification);
            hits.push(Hit {
                id: report.id.to_string(),
                title: report.title,
                snippet,
                indicators: classification.indicators.iter().map(|i| i.id.to_string()).collect(),
                score: classification.indicators.iter().map(|i| i.score).sum(),
                regions: classification.regions,
                received_at: report.received_at,
                reported_at: report.reported_at,
                channel: report.channel,
                source: report.source,
            });
        }
        hide_outside(&mut facets, scope);
        Ok(SearchResult { total, hits, facets, next })
    }

    /// Every match within `scope`, at most `max`, in the query's order
    /// (`limit`, `offset` and `after` are not read), to be read one by one.
    pub fn export(&self, q: &SearchQuery, scope: &Scope, max: usize) -> Result<Export, Error> {
        let searcher = self.reader.searcher();
        let query = self.build_query(q, scope)?;
        let top = page_of(&searcher, &*query, (effective_sort(q), None, max.max(1), 0))?;
        let total = searcher.search(&*query, &Count)?;
        let addresses = top.into_iter().map(|(_, address)| address).collect();
        Ok(Export { index: self.clone(), searcher, addresses, total })
    }

    /// Daily counts per indicator and region, for `GET /api/v1/stats`
    /// without ClickHouse. Scope applies to each report's main region.
    pub fn stats(&self, q: &StatsQuery, scope: &Scope) -> Result<Stats, Error> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, self.scope_on(f.area, scope))];
        if let Some(indicator) = &q.indicator {
            clauses.push((Occur::Must, self.term(f.indicators, indicator)));
        }
        if let Some(region) = &q.region {
            clauses.push((Occur::Must, self.term(f.area, region.as_str())));
        }
        if let Some(channel) = q.channel {
            clauses.push((Occur::Must, self.term(f.channel, channel.as_str())));
        }
        if q.from.is_some() || q.to.is_some() {
            clauses.push((Occur::Must, self.time_range(f.reported_at, q.from, q.to)));
        }
        let (column, level) = match q.by {
            crate::stats::By::Province => ("province", None),
            crate::stats::By::Regency => ("regency", None),
            // the main region at every level, of which the one at this level counts
            by => ("area", Some(by.dots())),
        };
        let collector = DailyCounts { column, level, indicator: q.indicator.clone() };
        let counts = searcher.search(&BooleanQuery::new(clauses), &collector)?;
        Ok(Stats::from_days(q, "index", counts))
    }
}

/// The matches of an export, read from the index as it was when it ran.
pub struct Export {
    index: SearchIndex,
    searcher: tantivy::Searcher,
    addresses: Vec<DocAddress>,
    /// How many match in all (more than are read when the export is capped).
    pub total: usize,
}

impl Export {
    /// How many are read.
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The reports, in order.
    pub fn reports(&self) -> impl Iterator<Item = Result<ClassifiedReport, Error>> + '_ {
        self.addresses.iter().map(|a| self.index.load(&self.searcher, *a))
    }
}

/// A report is in scope when any of its regions is, but it is counted
/// under its main region, which may lie outside (a report without a region
/// that names Palu and Makassar): such a bucket is not shown.
fn hide_outside(facets: &mut facets::FacetCounts, scope: &Scope) {
    for level in ["province", "regency"] {
        if let Some(buckets) = facets.get_mut(level) {
            buckets.retain(|code, _| RegionCode::parse(code).is_ok_and(|r| scope.covers(Some(&r))));
        }
    }
}

/// The text of a search, if it has any.
fn text_of(q: &SearchQuery) -> Option<&str> {
    q.q.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// Whether `q` asks for every report in the scope: no text, no filter.
fn asks_everything(q: &SearchQuery) -> bool {
    let SearchQuery {
        q,
        indicator,
        region,
        channel,
        source,
        language,
        from,
        to,
        min_score,
        sort: _,
        limit: _,
        offset: _,
        after: _,
    } = q;
    q.as_deref().is_none_or(|t| t.trim().is_empty())
        && indicator.is_none()
        && region.is_none()
        && channel.is_none()
        && source.is_none()
        && language.is_none()
        && from.is_none()
        && to.is_none()
        && min_score.is_none()
}

/// The order a query's hits come in: by relevance only with query text.
fn effective_sort(q: &SearchQuery) -> Sort {
    match q.sort {
        Sort::Relevance if q.q.as_deref().is_none_or(|t| t.trim().is_empty()) => Sort::Newest,
        s => s,
    }
}

/// Which hits make a page: `(sort, after, limit, offset)` as [`ordered`] takes them.
type Page = (Sort, Option<SortKey>, usize, usize);

/// A page's hits in order, each with its key unless it is at or before the cursor.
type Hits = Vec<(Option<SortKey>, DocAddress)>;

/// The page of `query`'s hits, as [`ordered`] finds them, in one pass over the matches.
fn page_of(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    (sort, after, limit, offset): Page,
) -> tantivy::Result<Hits> {
    let order = match (sort, after) {
        (Sort::Newest, None) => Order::Desc,
        (Sort::Oldest, None) => Order::Asc,
        _ => return searcher.search(query, &ordered(sort, after, limit, offset)),
    };
    // ordered by the fast fields alone: no scores, and a hit's `seq` is read
    // only when its time is as new (old) as the page's last so far
    let by = (
        (SortByStaticFastValue::<DateTime>::for_field("received_at"), order),
        (SortByStaticFastValue::<u64>::for_field("seq"), order),
    );
    let top = searcher.search(query, &TopDocs::with_limit(limit).and_offset(offset).order_by(by))?;
    let page = top
        .into_iter()
        .map(|((at, seq), address)| {
            let (at, seq) = (at.unwrap_or(DateTime::MIN).into_timestamp_micros(), seq.unwrap_or(0));
            let key = if order == Order::Desc { (0.0, at, seq) } else { (0.0, -at, u64::MAX - seq) };
            (Some(key), address)
        })
        .collect();
    Ok(page)
}

/// The first page of `query`, a search's `text` over every report, best
/// match first, as [`ordered`] finds it, without scoring every match:
/// `text`'s own weight lets tantivy skip the blocks of postings whose best
/// possible score cannot reach the page (Block-WAND over a word's terms in
/// title and text), and each match it lets through is scored again by
/// `query`, whose scores the page is ordered by. Block-WAND may add up a
/// score in another order than the search's scorer and differ in its last
/// bits, so it lets through every match within a thousandth of the page's
/// lowest score so far.
fn best_page(
    searcher: &tantivy::Searcher,
    text: &dyn Query,
    query: &dyn Query,
    limit: usize,
    offset: usize,
) -> tantivy::Result<Hits> {
    const MARGIN: f32 = 1e-3;
    /// A score ordered as a number, lowest first when reversed.
    #[derive(PartialEq)]
    struct Ranked(Score);
    impl Eq for Ranked {}
    impl PartialOrd for Ranked {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Ranked {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }
    let need = limit + offset;
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let (pruned, full) = (text.weight(scoring)?, query.weight(scoring)?);
    // the `need` best scores so far, and the least a match needs to be kept
    let mut best: BinaryHeap<Reverse<Ranked>> = BinaryHeap::with_capacity(need + 1);
    let mut floor = Score::MIN;
    let mut kept = Vec::new();
    for segment in searcher.segment_readers() {
        let alive = segment.alive_bitset();
        let mut found: Vec<(DocId, Score)> = Vec::new();
        pruned.for_each_pruning(floor, segment, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                found.push((doc, score));
                best.push(Reverse(Ranked(score)));
                if best.len() > need {
                    best.pop();
                }
                if best.len() == need
                    && let Some(Reverse(Ranked(lowest))) = best.peek()
                {
                    floor = lowest - lowest.abs() * MARGIN;
                }
            }
            floor
        })?;
        kept.push(found);
    }
    let mut hits: Vec<(SortKey, DocAddress)> = Vec::new();
    for (ord, (segment, found)) in searcher.segment_readers().iter().zip(kept).enumerate() {
        let mut docs: Vec<DocId> = found.into_iter().filter(|&(_, score)| score > floor).map(|(doc, _)| doc).collect();
        if docs.is_empty() {
            continue;
        }
        docs.sort_unstable();
        let fast = segment.fast_fields();
        let received = fast.date("received_at")?.first_or_default_col(DateTime::MIN);
        let seq = fast.u64("seq")?.first_or_default_col(0);
        let mut scorer = full.scorer(segment, 1.0)?;
        for doc in docs {
            if scorer.seek(doc) == doc {
                let key = (scorer.score(), received.get_val(doc).into_timestamp_micros(), seq.get_val(doc));
                hits.push((key, DocAddress::new(ord as u32, doc)));
            }
        }
    }
    hits.sort_unstable_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    Ok(hits.into_iter().skip(offset).take(limit).map(|(key, address)| (Some(key), address)).collect())
}

/// The page of `query`'s hits in time order (`total` of them), as
/// [`page_of`] finds it, read from the reports received last (first) alone:
/// the matches within a window of whole seconds at the page's end of time,
/// widened until the page is full. Every report outside the window was
/// received in an earlier (later) second than every report inside, so the
/// page is the same. The window starts where `total` matches spread evenly
/// over the index's time would fill the page four times. Reading a window
/// costs as much for each report in it, matched or not, as a pass costs for
/// 10 to 20 matches (measured on a national index): when the window's
/// reports come to a sixteenth of the matches, one pass is cheaper (a city's
/// searches, a word in few reports).
fn time_page(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    page: Page,
    total: usize,
    received_at: tantivy::schema::Field,
) -> tantivy::Result<Hits> {
    let (sort, after, limit, offset) = page;
    // the first and last second any report was received
    let mut seconds: Option<(i64, i64)> = None;
    for segment in searcher.segment_readers().iter().filter(|s| s.num_docs() > 0) {
        let column = segment.fast_fields().date("received_at")?;
        let (first, last) = (column.min_value().into_timestamp_secs(), column.max_value().into_timestamp_secs());
        seconds = Some(seconds.map_or((first, last), |(a, b)| (a.min(first), b.max(last))));
    }
    let Some((first, last)) = seconds.filter(|_| total > 0) else { return page_of(searcher, query, page) };
    let span = (last - first + 1) as f64;
    let newest = sort == Sort::Newest;
    // the second the page starts in: the cursor's, or the index's end
    let edge = match after {
        Some((_, at, _)) => (if newest { at } else { -at }).div_euclid(1_000_000),
        None if newest => last,
        None => first,
    };
    let mut width = ((limit + offset) as f64 * 4.0 * span / total as f64).ceil().max(1.0);
    let reports = searcher.num_docs() as f64;
    while reports * width / span * 16.0 < total as f64 {
        let w = width as i64;
        let (from, to) = if newest { (edge + 1 - w, edge + 1) } else { (edge, edge + w) };
        if (newest && from <= first) || (!newest && to > last) {
            break;
        }
        let second = |s: i64| Term::from_field_date_for_search(received_at, DateTime::from_timestamp_secs(s));
        let window = BooleanQuery::new(vec![
            (Occur::Must, query.box_clone()),
            (
                Occur::Must,
                Box::new(InvertedIndexRangeQuery::new(
                    std::ops::Bound::Included(second(from)),
                    std::ops::Bound::Excluded(second(to)),
                )),
            ),
        ]);
        let hits = page_of(searcher, &window, page)?;
        if hits.iter().filter(|(key, _)| key.is_some()).count() == limit {
            return Ok(hits);
        }
        width *= 8.0;
    }
    page_of(searcher, query, page)
}

/// The first `limit` hits after `offset` in the order `sort`, after the
/// cursor `after` (the hits at or before it come back without a key).
/// Public for benches/search.rs.
pub fn ordered(sort: Sort, after: Option<SortKey>, limit: usize, offset: usize) -> impl Collector<Fruit = Hits> {
    TopDocs::with_limit(limit).and_offset(offset).tweak_score(move |segment: &SegmentReader| {
        let fast = segment.fast_fields();
        let received = fast.date("received_at").ok().map(|c| c.first_or_default_col(DateTime::MIN));
        let seq = fast.u64("seq").ok().map(|c| c.first_or_default_col(0));
        move |doc: DocId, score: Score| -> Option<SortKey> {
            let at = received.as_ref().map_or(0, |c| c.get_val(doc).into_timestamp_micros());
            let seq = seq.as_ref().map_or(0, |c| c.get_val(doc));
            let key = match sort {
                Sort::Relevance => (score, at, seq),
                Sort::Newest => (0.0, at, seq),
                Sort::Oldest => (0.0, -at, u64::MAX - seq),
            };
            // hits at or before the cursor sort last and are dropped
            match after {
                Some(a) if key.partial_cmp(&a) != Some(std::cmp::Ordering::Less) => None,
                _ => Some(key),
            }
        }
    })
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `text` as HTML with the byte ranges `marked` (in order, apart) in `<b>`.
/// What it quotes is escaped by minijinja's HTML escaper, the one the API's
/// pages use.
fn marked_html(text: &str, marked: &[std::ops::Range<usize>]) -> String {
    use std::fmt::Write;
    let mut html = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for r in marked {
        let _ = write!(html, "{}<b>{}</b>", HtmlEscape(&text[at..r.start]), HtmlEscape(&text[r.clone()]));
        at = r.end;
    }
    let _ = write!(html, "{}", HtmlEscape(&text[at..]));
    html
}

/// Counts matching reports by (day, indicator, region at one level).
struct DailyCounts {
    /// The region field: `province`, `regency`, or `area` (every level).
    column: &'static str,
    /// With `area`: the level counted, as the dots in its codes.
    level: Option<usize>,
    /// Only this indicator, when the query asks for one.
    indicator: Option<String>,
}

type DayKey = (i64, String, String);

/// The region ord of a report's count over all its regions (with `area`),
/// or of a report without a region at the level.
const NO_REGION: u64 = u64::MAX;

struct DailySegment {
    day: Option<tantivy::columnar::Column<u64>>,
    indicators: Option<tantivy::columnar::StrColumn>,
    region: Option<tantivy::columnar::StrColumn>,
    level: Option<usize>,
    counts: HashMap<(u64, u64, u64), u64>,
    only: Option<String>,
    ords: Vec<u64>,
    regions: Vec<u64>,
}

impl Collector for DailyCounts {
    type Fruit = HashMap<DayKey, u64>;
    type Child = DailySegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<DailySegment> {
        let fast = segment.fast_fields();
        Ok(DailySegment {
            day: fast.u64("day").ok(),
            indicators: fast.str("indicator")?,
            region: fast.str(self.column)?,
            level: self.level,
            counts: HashMap::new(),
            only: self.indicator.clone(),
            ords: Vec::new(),
            regions: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<HashMap<DayKey, u64>>) -> tantivy::Result<HashMap<DayKey, u64>> {
        let mut out = HashMap::new();
        for fruit in fruits {
            for (key, n) in fruit {
                *out.entry(key).or_default() += n;
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for DailySegment {
    type Fruit = HashMap<DayKey, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let (Some(day), Some(indicators)) = (&self.day, &self.indicators) else { return };
        let Some(day) = day.first(doc) else { return };
        self.regions.clear();
        match (&self.region, self.level) {
            // every level of the main region, and the report once more under
            // none: what no code at the level takes is counted there at harvest
            (Some(r), Some(_)) => self.regions.extend(r.term_ords(doc).chain([NO_REGION])),
            (r, None) => self.regions.push(r.as_ref().and_then(|r| r.term_ords(doc).next()).unwrap_or(NO_REGION)),
            (None, Some(_)) => self.regions.push(NO_REGION),
        }
        self.ords.clear();
        self.ords.extend(indicators.term_ords(doc));
        // an indicator listed twice counts once
        self.ords.sort_unstable();
        self.ords.dedup();
        for &indicator in &self.ords {
            for &region in &self.regions {
                *self.counts.entry((day, indicator, region)).or_default() += 1;
            }
        }
    }

    fn harvest(self) -> HashMap<DayKey, u64> {
        let mut out = HashMap::new();
        let Some(indicators) = self.indicators else { return out };
        let name_of = |ord: u64| {
            let mut name = String::new();
            matches!(indicators.ord_to_str(ord, &mut name), Ok(true)).then_some(name)
        };
        let mut names: HashMap<u64, Option<String>> = HashMap::new();
        // with `level`: how many of each (day, indicator) a code at the level took
        let mut placed: HashMap<(u64, u64), u64> = HashMap::new();
        let mut unplaced = Vec::new();
        for ((day, indicator, region_ord), n) in self.counts {
            let Some(name) = names.entry(indicator).or_insert_with(|| name_of(indicator)).clone() else { continue };
            if self.only.as_ref().is_some_and(|o| *o != name) {
                continue;
            }
            if region_ord == NO_REGION {
                unplaced.push(((day, indicator), name, n));
                continue;
            }
            let mut region = String::new();
            if let Some(column) = &self.region {
                let _ = column.ord_to_str(region_ord, &mut region);
            }
            if let Some(level) = self.level {
                if region.matches('.').count() != level {
                    continue;
                }
                *placed.entry((day, indicator)).or_default() += n;
            }
            *out.entry((day as i64, name, region)).or_default() += n;
        }
        for (key, name, n) in unplaced {
            let rest = n - placed.get(&key).copied().unwrap_or(0);
            if rest > 0 {
                *out.entry((key.0 as i64, name, String::new())).or_default() += rest;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use model::{Classification, IndicatorHit, Report, ReportId};

    use crate::stats::StatsQuery;
    use time::macros::datetime;

    use super::*;

    fn item(n: u128, region: &str, text: &str, indicator: &str) -> ClassifiedReport {
        let at = datetime!(2026-11-29 10:00 UTC) + time::Duration::minutes(n as i64);
        let report = Report {
            id: ReportId(uuid::Uuid::from_u128(n)),
            reporter: Some(model::Reporter { name: Some("Informan Rahasia".into()), ..Default::default() }),
            region: Some(RegionCode::parse(region).unwrap()),
            ..Report::new(Channel::Web, "t", text, at)
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

    fn index_of(items: &[ClassifiedReport]) -> (tempfile::TempDir, SearchIndex) {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut writer = index.writer().unwrap();
        for item in items {
            index.upsert(&writer, item).unwrap();
        }
        writer.commit().unwrap();
        index.reload().unwrap();
        (dir, index)
    }

    fn ids(result: &SearchResult) -> Vec<u128> {
        result.hits.iter().map(|h| h.id.parse::<ReportId>().unwrap().0.as_u128()).collect()
    }

    fn query(q: &str) -> SearchQuery {
        SearchQuery { q: Some(q.into()), limit: 10, ..Default::default() }
    }

    /// The ids `q` finds in `scope`, in order.
    fn sorted_ids(index: &SearchIndex, q: &SearchQuery, scope: &Scope) -> Vec<u128> {
        let mut ids = ids(&index.search(q, scope).unwrap());
        ids.sort();
        ids
    }

    #[test]
    fn hostile_queries_are_refused_or_answered_on_a_small_stack() {
        let (_dir, index) = index_of(&[item(1, "72.71", "pesta sabu di Palu", "narkoba")]);
        let deep = format!("{}sabu{}", "(".repeat(5000), ")".repeat(5000));
        assert!(matches!(index.search(&query(&deep), &Scope::All), Err(Error::Invalid(_))));
        assert!(matches!(index.search(&query(&"sabu ".repeat(300)), &Scope::All), Err(Error::Invalid(_))));
        for q in ["title:*", "sabu AND text:*", "(id:*)"] {
            assert!(matches!(index.search(&query(q), &Scope::All), Err(Error::Invalid(_))), "{q}");
        }
        // the worst the limits allow, on a thread with tokio's 2 MiB stack
        let index = std::sync::Arc::new(index);
        let worst = [
            format!("{}sabu{}", "(".repeat(16), ")".repeat(16)),
            "(".repeat(16),
            format!("{}sabu", "NOT ".repeat(249)),
            format!("{}sabu", "-".repeat(995)),
            format!("{}sabu", "+".repeat(995)),
            "\"".repeat(1000),
            "title:".repeat(166),
            "title:* OR text:* OR id:*".into(),
            format!("{}sabu", "( NOT -".repeat(16)),
        ];
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                for q in worst {
                    let _ = index.search(&query(&q), &Scope::All);
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn time_bounds_hold_to_the_microsecond() {
        // reports 200 ms and 700 ms into one second, with `to` between them:
        // a bound cut to the second would drop both, or keep both
        let mut items = vec![item(1, "72.71", "sabu", "narkoba"), item(2, "72.71", "sabu", "narkoba")];
        let second = datetime!(2026-11-29 10:00:00 UTC);
        for (item, ms) in items.iter_mut().zip([200, 700]) {
            item.report.received_at = second + time::Duration::milliseconds(ms);
            item.report.reported_at = item.report.received_at;
        }
        let (_dir, index) = index_of(&items);
        let to = second + time::Duration::milliseconds(500);
        let scope = Scope::Regions(vec![RegionCode::parse("72").unwrap()]);
        let between = index.between(second, to, &scope, 10).unwrap();
        assert_eq!(between.iter().map(|r| r.report.id.0.as_u128()).collect::<Vec<_>>(), [1]);
        let after = index.between(to, to + time::Duration::seconds(1), &Scope::All, 10).unwrap();
        assert_eq!(after.iter().map(|r| r.report.id.0.as_u128()).collect::<Vec<_>>(), [2]);
        let q = SearchQuery { to: Some(to), limit: 10, ..Default::default() };
        assert_eq!(ids(&index.search(&q, &Scope::All).unwrap()), [1]);
        let q = SearchQuery { from: Some(to), limit: 10, ..Default::default() };
        assert_eq!(ids(&index.search(&q, &Scope::All).unwrap()), [2]);
    }

    /// The facets of `items` (the reports a search matched) as a count over
    /// the reports themselves, limited as `search` limits them.
    fn facets_by_hand(items: &[&ClassifiedReport], scope: &Scope) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for (name, size) in facets::FACETS {
            let mut counts: HashMap<String, u64> = HashMap::new();
            for item in items {
                let (r, c) = (&item.report, &item.classification);
                let main = r.region.as_ref().or(c.regions.first());
                let at = |level| main.and_then(|m| m.at_level(level)).map(|c| c.to_string()).unwrap_or_default();
                let mut values = match name {
                    "indicator" => c.indicators.iter().map(|i| i.id.to_string()).collect(),
                    "channel" => vec![r.channel.as_str().to_owned()],
                    "language" => vec![c.language.clone().unwrap_or_default()],
                    "province" => vec![at(RegionLevel::Province)],
                    _ => vec![at(RegionLevel::Regency)],
                };
                values.sort();
                values.dedup();
                for value in values {
                    *counts.entry(value).or_default() += 1;
                }
            }
            let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.truncate(size);
            ranked.retain(|(value, _)| {
                !value.is_empty()
                    && (!matches!(name, "province" | "regency")
                        || scope.covers(Some(&RegionCode::parse(value).unwrap())))
            });
            out.insert(name.to_owned(), ranked.into_iter().collect());
        }
        out
    }

    #[test]
    fn facets_are_the_counts_over_the_matched_reports() {
        // more regencies and indicators than the facets list, many of them
        // tied, reports without a language or a region, an indicator listed
        // twice, several segments and replaced reports
        let regencies: Vec<RegionCode> =
            model::regions().iter().map(|r| r.code.clone()).filter(|c| c.as_str().len() == 5).take(130).collect();
        let mut rng = fastrand::Rng::with_seed(3);
        let channels = [Channel::App, Channel::Web, Channel::Sms, Channel::Feed, Channel::Whatsapp];
        let items: Vec<ClassifiedReport> = (1..=700u128)
            .map(|n| {
                let regency = &regencies[rng.usize(..regencies.len())];
                let text = ["pesta sabu", "warga resah", "bentrok warga"][rng.usize(..3)];
                let mut item = item(n, regency.as_str(), text, &format!("ind_{:02}", rng.usize(..25)));
                match rng.u8(..6) {
                    0 => item.report.region = None,
                    1 => {
                        item.report.region = None;
                        item.classification.regions.clear();
                    }
                    _ => {}
                }
                for _ in 0..rng.usize(..3) {
                    let again = item.classification.indicators[0].clone();
                    let other = IndicatorHit { id: format!("ind_{:02}", rng.usize(..25)).into(), ..again.clone() };
                    item.classification.indicators.extend([again, other]);
                }
                item.classification.language = [None, Some("ind"), Some("jav")][rng.usize(..3)].map(Into::into);
                item.report.channel = channels[rng.usize(..channels.len())];
                item
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut writer = index.writer().unwrap();
        for (i, item) in items.iter().enumerate() {
            index.upsert(&writer, item).unwrap();
            if i % 150 == 149 {
                writer.commit().unwrap();
                // the same reports again: deleted documents the facets skip
                for again in &items[i - 20..i] {
                    index.upsert(&writer, again).unwrap();
                }
            }
        }
        writer.commit().unwrap();
        index.reload().unwrap();
        assert!(index.reader.searcher().segment_readers().len() > 1);

        let region = |code: &str| RegionCode::parse(code).unwrap();
        let scopes = [
            Scope::All,
            Scope::Regions(vec![regencies[0].at_level(RegionLevel::Province).unwrap()]),
            Scope::Regions(vec![regencies[1].clone(), region("72")]),
            Scope::Regions(vec![]),
        ];
        let queries = [
            SearchQuery { limit: 1000, ..Default::default() },
            SearchQuery { limit: 1000, ..query("warga") },
            SearchQuery { indicator: Some("ind_07".into()), limit: 1000, ..Default::default() },
            SearchQuery { channel: Some(Channel::Sms), limit: 1000, ..query("sabu") },
        ];
        let by_id: HashMap<String, &ClassifiedReport> = items.iter().map(|i| (i.report.id.to_string(), i)).collect();
        for scope in &scopes {
            for q in &queries {
                let result = index.search(q, scope).unwrap();
                assert_eq!(result.hits.len(), result.total, "{q:?}");
                let matched: Vec<&ClassifiedReport> = result.hits.iter().map(|h| by_id[&h.id]).collect();
                assert_eq!(result.facets, facets_by_hand(&matched, scope), "{q:?} in {scope:?}");
            }
        }
        let all = index.search(&queries[0], &Scope::All).unwrap();
        assert_eq!(all.total, 700);
        // the 100 regencies listed at most, of which the reports without one took a place
        assert_eq!(all.facets["regency"].len(), 99);
        assert_eq!(all.facets["indicator"].len(), 20, "the indicators listed at most");
    }

    #[test]
    fn facets_show_no_region_outside_the_scope() {
        // no region given; the text names a place in 72 and one in 73
        let mut both = item(1, "72.71", "bentrok di Palu dan Makassar", "konflik_sosial");
        both.report.region = None;
        both.classification.regions = vec![RegionCode::parse("72.71").unwrap(), RegionCode::parse("73.71").unwrap()];
        let (_dir, index) = index_of(&[both]);
        let scope = Scope::Regions(vec![RegionCode::parse("73").unwrap()]);
        let r = index.search(&SearchQuery { limit: 10, ..Default::default() }, &scope).unwrap();
        assert_eq!(r.total, 1);
        assert!(
            !r.facets["province"].contains_key("72") && !r.facets["regency"].contains_key("72.71"),
            "{:?}",
            r.facets
        );
    }

    #[test]
    fn upsert_search_scope_and_facets() {
        let (_dir, index) = index_of(&[
            item(1, "72.71", "pesta sabu di Palu", "narkoba"),
            item(2, "73.71", "pesta sabu di Makassar", "narkoba"),
            item(3, "72.03", "bentrok warga", "konflik_sosial"),
            // the same report again replaces, never duplicates
            item(1, "72.71", "pesta sabu di Palu", "narkoba"),
        ]);
        let q = query("sabu");
        let all = index.search(&q, &Scope::All).unwrap();
        assert_eq!(all.total, 2);
        let palu = index.search(&q, &Scope::Regions(vec![RegionCode::parse("72").unwrap()])).unwrap();
        assert_eq!(palu.total, 1);
        assert_eq!(ids(&palu), [1]);
        assert!(palu.hits[0].snippet.contains("<b>sabu</b>"), "{}", palu.hits[0].snippet);
        assert!(!serde_json::to_string(&palu).unwrap().contains("Rahasia"));

        let browse = SearchQuery { limit: 10, ..Default::default() };
        let scoped = index.search(&browse, &Scope::Regions(vec![RegionCode::parse("72").unwrap()])).unwrap();
        assert_eq!(scoped.total, 2);
        // newest first without a query
        assert_eq!(ids(&scoped), [3, 1]);
        // facets count only what the scope shows
        assert_eq!(scoped.facets["indicator"], BTreeMap::from([("konflik_sosial".into(), 1), ("narkoba".into(), 1)]));
        assert_eq!(scoped.facets["province"], BTreeMap::from([("72".into(), 2)]));
        assert_eq!(scoped.facets["regency"], BTreeMap::from([("72.03".into(), 1), ("72.71".into(), 1)]));

        let some = Scope::Regions(vec![RegionCode::parse("73").unwrap()]);
        assert!(index.get(&ReportId(uuid::Uuid::from_u128(1)).to_string(), &some).unwrap().is_none());
        assert!(index.get(&ReportId(uuid::Uuid::from_u128(1)).to_string(), &Scope::All).unwrap().is_some());
    }

    #[test]
    fn snippets_and_excerpts_escape_the_text() {
        let text = "<script>alert(\"x\")</script> & 'y' pesta sabu";
        let (_dir, index) = index_of(&[item(1, "72.71", text, "narkoba")]);
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt; &amp; &#x27;y&#x27; pesta";
        // the snippet of a text query, with the match marked
        let hit = &index.search(&query("sabu"), &Scope::All).unwrap().hits[0];
        assert_eq!(hit.snippet, format!("{escaped} <b>sabu</b>"));
        // the excerpt when nothing in the text matched, and without a query
        let by_id = query("id:00000000-0000-0000-0000-000000000001");
        let browse = SearchQuery { limit: 10, ..Default::default() };
        for q in [by_id, browse] {
            let hit = &index.search(&q, &Scope::All).unwrap().hits[0];
            assert_eq!(hit.snippet, format!("{escaped} sabu"), "{q:?}");
        }
    }

    #[test]
    fn indonesian_word_forms_find_each_other() {
        let (_dir, index) = index_of(&[
            item(1, "72.71", "Terjadi bentrokan antarwarga di Palu Barat", "konflik_sosial"),
            item(2, "72.71", "Massa membakar pos ronda", "konflik_sosial"),
            item(3, "72.71", "Pembakaran rumah ibadah dilaporkan warga", "kerukunan_beragama"),
            item(4, "72.71", "Polisi menangkap pengedar sabu", "narkoba"),
            item(5, "72.71", "Warga membeli sabun di pasar", "narkoba"),
            item(6, "72.71", "Penangkapan dua kurir ganja", "narkoba"),
        ]);
        let all = Scope::All;
        assert_eq!(ids(&index.search(&query("bentrok"), &all).unwrap()), [1]);
        let mut burning = ids(&index.search(&query("dibakar"), &all).unwrap());
        burning.sort();
        assert_eq!(burning, [2, 3]);
        let mut arrests = ids(&index.search(&query("tangkap"), &all).unwrap());
        arrests.sort();
        assert_eq!(arrests, [4, 6]);
        assert_eq!(ids(&index.search(&query("peredaran"), &all).unwrap()), [4]);
        // `sabu` is not `sabun`
        assert_eq!(ids(&index.search(&query("sabu"), &all).unwrap()), [4]);
        // phrases, boolean operators and field prefixes
        assert_eq!(ids(&index.search(&query("\"rumah ibadah\""), &all).unwrap()), [3]);
        assert_eq!(ids(&index.search(&query("bakar AND NOT ibadah"), &all).unwrap()), [2]);
        assert_eq!(ids(&index.search(&query("text:kurir"), &all).unwrap()), [6]);
        // the snippet marks the word as written
        let hit = &index.search(&query("bentrok"), &all).unwrap().hits[0];
        assert!(hit.snippet.contains("<b>bentrokan</b>"), "{}", hit.snippet);
    }

    #[test]
    fn queries_and_reports_are_analysed_as_the_rules_read_them() {
        let (_dir, index) = index_of(&[
            item(1, "72.71", "Ada anak2 main di jln", "konflik_sosial"),
            item(2, "72.71", "Warga yg resah bangettt", "konflik_sosial"),
            item(3, "72.71", "Pemuda nyabu di pos ronda", "narkoba"),
            item(4, "72.71", "Rumah-rumah dibakar massa", "konflik_sosial"),
            item(5, "72.71", "Seorang anak hilang", "konflik_sosial"),
        ]);
        let all = Scope::All;
        let found = |q: &str| sorted_ids(&index, &query(q), &all);
        // (query, reports): the analyst's spelling finds the chat's, and back
        for (q, expected) in [
            ("anak-anak", vec![1]),
            ("anak2", vec![1]),
            ("\"anak anak\"", vec![1]),
            ("anak", vec![1, 5]),
            ("jalan", vec![1]),
            ("yang", vec![2]),
            ("yg", vec![2]),
            ("banget", vec![2]),
            ("bangettt", vec![2]),
            ("bgt", vec![2]),
            ("sabu", vec![3]),
            ("\"pakai sabu\"", vec![3]),
            ("nyabu", vec![3]),
            ("rmh2", vec![4]),
            ("rumah", vec![4]),
        ] {
            assert_eq!(found(q), expected, "{q}");
        }
        // the snippet marks the word as written
        let hit = &index.search(&query("anak-anak"), &all).unwrap().hits[0];
        assert!(hit.snippet.contains("<b>anak2</b>"), "{}", hit.snippet);
        let hit = &index.search(&query("yang"), &all).unwrap().hits[0];
        assert!(hit.snippet.contains("<b>yg</b>"), "{}", hit.snippet);
    }

    #[test]
    fn a_region_found_in_the_text_is_one_to_filter_and_scope_by() {
        // no region given; the classifier found Palu Barat (72.71.xx) in the text
        let mut named = item(1, "72.71", "Bentrok di Kecamatan Palu Barat", "konflik_sosial");
        named.report.region = None;
        named.classification.regions = vec![RegionCode::parse("72.71.02").unwrap()];
        // a region given, and another found in the text
        let mut both = item(2, "72.03", "Warga Palu mengungsi ke Donggala", "konflik_sosial");
        both.classification.regions = vec![RegionCode::parse("72.71").unwrap()];
        let (_dir, index) = index_of(&[named, both]);
        let by_region = |code: &str| {
            let q = SearchQuery { region: Some(RegionCode::parse(code).unwrap()), limit: 10, ..Default::default() };
            sorted_ids(&index, &q, &Scope::All)
        };
        assert_eq!(by_region("72.71.02"), [1]);
        assert_eq!(by_region("72.71"), [1, 2]);
        assert_eq!(by_region("72.03"), [2]);
        let scoped = index.search(&query("bentrok"), &Scope::Regions(vec![RegionCode::parse("72.71.02").unwrap()]));
        assert_eq!(ids(&scoped.unwrap()), [1]);
    }

    #[test]
    fn indexes_of_another_schema_or_analysis_are_removed_and_the_current_kept() {
        let dir = tempfile::tempdir().unwrap();
        let current = crate::schema::folder();
        let names = ["index", "index-v2", "index-v3-00000000", "index-v2.rebuild", &format!("{current}.rebuild")];
        for name in names {
            SearchIndex::open(&dir.path().join(name)).unwrap();
        }
        std::fs::create_dir(dir.path().join("index-notes")).unwrap();
        SearchIndex::open_in(dir.path()).unwrap();
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        left.sort();
        assert_eq!(left, ["index-notes".to_owned(), current.clone(), format!("{current}.rebuild")]);
    }

    #[test]
    fn filters_sorts_and_cursor_pages() {
        let mut items: Vec<ClassifiedReport> = (1..=25)
            .map(|n| item(n, if n % 2 == 0 { "72.71" } else { "72.03" }, "sabu di kampung", "narkoba"))
            .collect();
        items[0].report.source = "polsek".into();
        items[0].classification.indicators[0].score = 5.0;
        items[1].classification.language = Some("ind".into());
        // received in the same microsecond: ordered by id
        for n in 10..15 {
            items[n].report.received_at = items[9].report.received_at;
        }
        let (_dir, index) = index_of(&items);
        let all = Scope::All;

        // a first page in time order, read from the fast fields alone, is
        // the page `ordered` finds, keys and all
        let searcher = index.reader.searcher();
        for sort in [Sort::Newest, Sort::Oldest] {
            for q in [query("sabu"), SearchQuery::default()] {
                let built = index.build_query(&q, &all).unwrap();
                for (limit, offset) in [(7, 0), (7, 8), (30, 0)] {
                    let expected = searcher.search(&built, &ordered(sort, None, limit, offset)).unwrap();
                    let page = page_of(&searcher, &*built, (sort, None, limit, offset)).unwrap();
                    assert_eq!(page, expected, "{sort:?} {q:?} {limit} {offset}");
                }
            }
        }

        let by = |q: SearchQuery| ids(&index.search(&q, &all).unwrap());
        assert_eq!(by(SearchQuery { source: Some("polsek".into()), ..query("sabu") }), [1]);
        assert_eq!(by(SearchQuery { min_score: Some(2.0), ..query("sabu") }), [1]);
        assert_eq!(by(SearchQuery { language: Some("ind".into()), ..query("sabu") }), [2]);
        let oldest = by(SearchQuery { sort: Sort::Oldest, limit: 3, ..Default::default() });
        assert_eq!(oldest, [1, 2, 3]);
        let newest = by(SearchQuery { sort: Sort::Newest, limit: 3, ..query("sabu") });
        assert_eq!(newest, [25, 24, 23]);

        // walking every page with the cursor gives each report once, in order
        for sort in [Sort::Relevance, Sort::Newest, Sort::Oldest] {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page =
                    index.search(&SearchQuery { sort, limit: 7, after: after.clone(), ..query("sabu") }, &all).unwrap();
                assert_eq!(page.total, 25);
                seen.extend(ids(&page));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!((seen.len(), unique.len()), (25, 25), "{sort:?}: {seen:?}");
            if sort == Sort::Oldest {
                assert_eq!(seen, (1..=25).collect::<Vec<_>>());
            }
        }
        let wrong = SearchQuery { after: Some("n123".into()), ..query("sabu") };
        assert!(matches!(index.search(&wrong, &all), Err(Error::Invalid(_))));
    }

    #[test]
    fn stats_count_by_day_and_region_within_scope() {
        let mut items = vec![
            item(1, "72.71", "sabu", "narkoba"),
            item(2, "72.71", "sabu", "narkoba"),
            item(3, "72.03", "bentrok", "konflik_sosial"),
            item(4, "73.71", "sabu", "narkoba"),
        ];
        // reported the next day in UTC+7 (17:00 UTC)
        items[1].report.reported_at = datetime!(2026-11-29 17:30 UTC);
        let (_dir, index) = index_of(&items);
        let q = StatsQuery { by: crate::stats::By::Regency, ..Default::default() };
        let stats = index.stats(&q, &Scope::Regions(vec![RegionCode::parse("72").unwrap()])).unwrap();
        let rows: Vec<(&str, &str, &str, u64)> =
            stats.rows.iter().map(|r| (r.start.as_str(), r.indicator.as_str(), r.region.as_str(), r.count)).collect();
        assert_eq!(
            rows,
            [
                ("2026-11-29", "konflik_sosial", "72.03", 1),
                ("2026-11-29", "narkoba", "72.71", 1),
                ("2026-11-30", "narkoba", "72.71", 1),
            ]
        );
        assert_eq!(stats.totals.indicator["narkoba"], 2);
        assert_eq!(stats.names["72.71"], "Kota Palu");
        let national = index.stats(&StatsQuery::default(), &Scope::All).unwrap();
        assert_eq!(national.totals.region["73"], 1);
    }

    #[test]
    fn stats_count_by_district_and_village_with_the_rest_unplaced() {
        let mut items = vec![
            item(1, "72.71.02", "sabu", "narkoba"),
            item(2, "72.71.02.1002", "sabu", "narkoba"),
            item(3, "72.71", "sabu", "narkoba"),
            item(4, "72.71.03", "bentrok", "konflik_sosial"),
        ];
        items[3].classification.indicators.push(IndicatorHit {
            id: "narkoba".into(),
            score: 1.0,
            rules: vec![],
            matches: vec![],
        });
        let (_dir, index) = index_of(&items);
        let count = |by, indicator: &str, region: &str| {
            let stats = index.stats(&StatsQuery { by, ..Default::default() }, &Scope::All).unwrap();
            stats.rows.iter().filter(|r| r.indicator == indicator && r.region == region).map(|r| r.count).sum::<u64>()
        };
        use crate::stats::By;
        assert_eq!(count(By::District, "narkoba", "72.71.02"), 2);
        assert_eq!(count(By::District, "narkoba", "72.71.03"), 1);
        assert_eq!(count(By::District, "narkoba", ""), 1, "the report known only to its city");
        assert_eq!(count(By::District, "konflik_sosial", "72.71.03"), 1);
        assert_eq!(count(By::Village, "narkoba", "72.71.02.1002"), 1);
        assert_eq!(count(By::Village, "narkoba", ""), 3);
        // and only within the scope
        let scope = Scope::Regions(vec![RegionCode::parse("72.71.03").unwrap()]);
        let q = StatsQuery { by: By::District, ..Default::default() };
        let scoped = index.stats(&q, &scope).unwrap();
        assert_eq!(scoped.totals.region.keys().collect::<Vec<_>>(), ["72.71.03"]);
    }

    /// What a search finds by one pass over every match: the page as
    /// [`page_of`] reads it, the total and the facets by `Count` and `Facets`.
    fn by_one_pass(index: &SearchIndex, q: &SearchQuery, scope: &Scope) -> (Vec<String>, usize, facets::FacetCounts) {
        let searcher = index.reader.searcher();
        let query = index.build_query(q, scope).unwrap();
        let sort = effective_sort(q);
        let after = q.after.as_deref().map(|c| decode_cursor(sort, c).unwrap());
        let page = page_of(&searcher, &*query, (sort, after, q.limit, q.offset)).unwrap();
        let (total, mut facets) = searcher.search(&*query, &(Count, Facets)).unwrap();
        hide_outside(&mut facets, scope);
        let ids = page
            .into_iter()
            .filter(|(key, _)| key.is_some())
            .map(|(_, address)| index.load(&searcher, address).unwrap().report.id.to_string())
            .collect();
        (ids, total, facets)
    }

    #[test]
    fn fast_paths_answer_as_one_pass_over_the_matches() {
        // reports over 40 days, several in one second and some in one
        // microsecond (ordered by id), in several segments; some replaced
        // (deleted in their first segment); an indicator in all but the newest
        let regencies = ["72.71", "72.03", "73.71", "31.71", "11.01"];
        let base = datetime!(2026-10-01 00:00 UTC);
        let mut rng = fastrand::Rng::with_seed(17);
        let make = |n: u128, rng: &mut fastrand::Rng| {
            let text = ["warga resah", "pesta sabu", "bentrok warga di pasar"][rng.usize(..3)];
            let indicator = if n <= 2850 { "lama" } else { ["narkoba", "konflik_sosial"][rng.usize(..2)] };
            let mut item = item(n, regencies[rng.usize(..regencies.len())], text, indicator);
            let second = base + time::Duration::seconds((n as i64 / 3) * 1153);
            item.report.received_at = match rng.u8(..4) {
                0 => second,
                _ => second + time::Duration::microseconds(rng.i64(0..1_000_000)),
            };
            if rng.u8(..8) == 0 {
                item.report.region = None;
                item.classification.regions.clear();
            }
            item.classification.language = [None, Some("ind")][rng.usize(..2)].map(Into::into);
            item
        };
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut writer = index.writer().unwrap();
        let items: Vec<ClassifiedReport> = (1..=3000).map(|n| make(n, &mut rng)).collect();
        for (i, item) in items.iter().enumerate() {
            index.upsert(&writer, item).unwrap();
            if i % 700 == 699 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        index.reload().unwrap();

        let province = Scope::Regions(vec![RegionCode::parse("72").unwrap()]);
        let scopes = [Scope::All, province, Scope::Regions(vec![RegionCode::parse("73.71").unwrap()])];
        let browse = |sort, limit, offset| SearchQuery { sort, limit, offset, ..Default::default() };
        let queries = [
            browse(Sort::Newest, 20, 0),
            browse(Sort::Oldest, 20, 0),
            browse(Sort::Newest, 7, 13),
            browse(Sort::Newest, 1, 0),
            browse(Sort::Oldest, 1000, 0),
            SearchQuery { limit: 20, ..query("warga") },
            SearchQuery { limit: 7, offset: 9, ..query("bentrok warga") },
            SearchQuery { limit: 20, ..query("warga OR sabu") },
            SearchQuery { limit: 3, ..query("\"pesta sabu\"") },
            SearchQuery { sort: Sort::Newest, limit: 5, ..query("warga") },
            SearchQuery { sort: Sort::Oldest, limit: 5, offset: 40, ..query("sabu") },
            SearchQuery { indicator: Some("konflik_sosial".into()), limit: 20, ..Default::default() },
            // none of its matches among the newest: the window widens
            SearchQuery { indicator: Some("lama".into()), limit: 5, ..Default::default() },
            SearchQuery { indicator: Some("lama".into()), sort: Sort::Oldest, limit: 5, ..Default::default() },
            SearchQuery { from: Some(base + time::Duration::days(10)), limit: 20, ..Default::default() },
        ];
        let check = |index: &SearchIndex, round: &str| {
            let mut checked = 0;
            for scope in &scopes {
                for q in &queries {
                    let fast = index.search(q, scope).unwrap();
                    let (ids, total, facets) = by_one_pass(index, q, scope);
                    let fast_ids: Vec<&str> = fast.hits.iter().map(|h| h.id.as_str()).collect();
                    assert_eq!(fast_ids, ids, "{round}: page of {q:?} in {scope:?}");
                    assert_eq!(fast.total, total, "{round}: total of {q:?} in {scope:?}");
                    assert_eq!(fast.facets, facets, "{round}: facets of {q:?} in {scope:?}");
                    // the pages after, by the cursor, to the end
                    let mut next = fast.next.clone();
                    for _ in 0..3 {
                        let Some(after) = next.take() else { break };
                        let q = SearchQuery { after: Some(after), offset: 0, ..q.clone() };
                        let fast = index.search(&q, scope).unwrap();
                        let fast_ids: Vec<&str> = fast.hits.iter().map(|h| h.id.as_str()).collect();
                        assert_eq!(
                            fast_ids,
                            by_one_pass(index, &q, scope).0,
                            "{round}: page after, {q:?} in {scope:?}"
                        );
                        next = fast.next;
                    }
                    checked += 1;
                }
            }
            checked
        };
        // asked twice: counted, then as kept
        assert_eq!(check(&index, "first"), 45);
        check(&index, "again");
        // replaced reports, in every segment: kept counts no longer hold
        for item in items.iter().step_by(37) {
            index.upsert(&writer, &make(item.report.id.0.as_u128(), &mut rng)).unwrap();
        }
        writer.commit().unwrap();
        index.reload().unwrap();
        let searcher = index.reader.searcher();
        assert!(searcher.segment_readers().len() > 2, "several segments");
        assert!(searcher.segment_readers().iter().filter(|s| s.num_deleted_docs() > 0).count() > 2, "deletes");
        check(&index, "after deletes");
        check(&index, "after deletes, again");
    }
}
