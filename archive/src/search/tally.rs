//! The total and the facets of a search, added up segment by segment.
//!
//! A segment never changes once written, and its deletions only grow, so
//! a segment's counts for a query hold as long as it has the same number of
//! deleted reports. A search whose query matches every report reads them
//! from the term dictionary instead of visiting the reports; any other
//! broad search visits each segment's matches once and keeps the counts for
//! the next time the same question is asked, whatever new segments have
//! come since.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, Count};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query};
use tantivy::{DocId, Searcher, SegmentReader};

use super::facets::{self, FacetCounts, Facets, SegmentCounts};

/// A segment's matches of one query: how many, and the facet counts.
type Tally = Arc<(usize, SegmentCounts)>;

/// A segment (with its number of deleted reports) and the query's key.
type Key = (SegmentId, DocId, String);

/// Segments with fewer matches than this are counted again each time.
const KEPT_FROM: usize = if cfg!(test) { 1 } else { 10_000 };
/// The counts kept at most (each a few hundred values, about 25 kB at worst).
const KEPT: usize = 512;

/// Counts kept per segment and query, the least recently used dropped first.
#[derive(Default)]
pub(super) struct Tallies(Mutex<Kept>);

#[derive(Default)]
struct Kept {
    tick: u64,
    entries: HashMap<Key, (u64, Tally)>,
}

impl Tallies {
    fn get(&self, key: &Key) -> Option<Tally> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.tick += 1;
        let tick = kept.tick;
        kept.entries.get_mut(key).map(|(used, tally)| {
            *used = tick;
            tally.clone()
        })
    }

    pub(super) fn forget(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).entries.clear();
    }

    fn put(&self, key: Key, tally: Tally) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.entries.len() >= KEPT {
            let oldest = kept.entries.iter().min_by_key(|(_, (used, _))| *used).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                kept.entries.remove(&oldest);
            }
        }
        kept.tick += 1;
        let tick = kept.tick;
        kept.entries.insert(key, (tick, tally));
    }
}

/// How many reports match `query` and their facets. `every` says that the
/// query matches every report, `key` names the query among those kept.
pub(super) fn tally(
    searcher: &Searcher,
    query: &dyn Query,
    every: bool,
    key: &str,
    kept: &Tallies,
) -> tantivy::Result<(usize, FacetCounts)> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let collector = (Count, Facets);
    let segment = |(ord, segment): (usize, &SegmentReader)| -> tantivy::Result<Tally> {
        if every {
            return Ok(Arc::new((segment.num_docs() as usize, facets::of_every_report(segment)?)));
        }
        let key = (segment.segment_id(), segment.num_deleted_docs(), key.to_owned());
        if let Some(tally) = kept.get(&key) {
            return Ok(tally);
        }
        let (n, counts) = collector.collect_segment(&*weight, ord as u32, segment)?;
        let tally = Arc::new((n, counts?));
        if n >= KEPT_FROM {
            kept.put(key, tally.clone());
        }
        Ok(tally)
    };
    let segments = searcher.index().search_executor().map(segment, searcher.segment_readers().iter().enumerate())?;
    let total = segments.iter().map(|t| t.0).sum();
    Ok((total, facets::merge(segments.iter().map(|t| &t.1))))
}
