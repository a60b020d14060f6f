//! The facets of a search: how many matches have each value of a few
//! keyword fields, counted in the search's one pass over the matches.
//!
//! Per segment a match adds one to a counter per value, indexed by the
//! value's term ordinal in the field's fast column; the ordinals become
//! strings only once per segment, when the segments are merged. (tantivy's
//! terms aggregations gave the same counts through JSON requests and
//! results, except that they kept at most ten times a facet's size of values
//! per segment, which no facet here comes near.)

use std::collections::{BTreeMap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentReader};

/// The facets and how many values of each are listed at most.
pub(super) const FACETS: [(&str, usize); 5] =
    [("indicator", 20), ("channel", 20), ("language", 20), ("province", 40), ("regency", 100)];

/// Counts by facet and value: of each facet, the values with the most
/// matches (equal counts by value), at most as many as [`FACETS`] lists, and
/// never the empty value (a report without one), which still takes its place
/// among them. A match is counted once per value it has.
pub type FacetCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// Collects [`FacetCounts`]. Public for benches/search.rs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facets;

/// Matches are counted in blocks of this many: each column is read once a
/// block, not once a match.
const BLOCK: usize = 64;

/// One facet field in one segment.
struct Field {
    /// Its place in [`FACETS`].
    facet: usize,
    column: StrColumn,
    /// Matches by term ordinal.
    counts: Vec<u32>,
    /// With several values a match: the last match counted under each
    /// ordinal, plus one, so that a value listed twice counts once.
    last: Option<Vec<DocId>>,
}

pub struct FacetsSegment {
    /// The facet fields the segment has.
    fields: Vec<Field>,
    /// Matches not counted yet.
    block: Vec<DocId>,
    /// A block's matches once per value, their rows in a column and the values.
    docs: Vec<DocId>,
    rows: Vec<u32>,
    ords: Vec<u64>,
}

impl FacetsSegment {
    fn count_block(&mut self) {
        let Self { fields, block, docs, rows, ords } = self;
        for field in fields {
            let column = field.column.ords();
            docs.clear();
            rows.clear();
            column.index.docids_to_rowids(block, docs, rows);
            ords.resize(rows.len(), 0);
            column.values.get_vals(rows, ords);
            match &mut field.last {
                None => {
                    for &ord in ords.iter() {
                        field.counts[ord as usize] += 1;
                    }
                }
                Some(last) => {
                    for (&doc, &ord) in docs.iter().zip(ords.iter()) {
                        if last[ord as usize] != doc + 1 {
                            last[ord as usize] = doc + 1;
                            field.counts[ord as usize] += 1;
                        }
                    }
                }
            }
        }
        block.clear();
    }
}

/// Matches by value, per facet in the order of [`FACETS`].
pub(super) type SegmentCounts = Vec<HashMap<String, u64>>;

impl Collector for Facets {
    type Fruit = FacetCounts;
    type Child = FacetsSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<FacetsSegment> {
        let fast = segment.fast_fields();
        let mut fields = Vec::with_capacity(FACETS.len());
        for (facet, (name, _)) in FACETS.into_iter().enumerate() {
            if let Some(column) = fast.str(name)? {
                let terms = column.num_terms();
                let multivalued = column.ords().get_cardinality().is_multivalue();
                fields.push(Field { facet, column, counts: vec![0; terms], last: multivalued.then(|| vec![0; terms]) });
            }
        }
        Ok(FacetsSegment {
            fields,
            block: Vec::with_capacity(BLOCK),
            docs: Vec::new(),
            rows: Vec::new(),
            ords: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<tantivy::Result<SegmentCounts>>) -> tantivy::Result<FacetCounts> {
        let segments = segments.into_iter().collect::<tantivy::Result<Vec<_>>>()?;
        Ok(merge(segments.iter()))
    }
}

/// The facets of the segments' counts together.
pub(super) fn merge<'a>(segments: impl Iterator<Item = &'a SegmentCounts> + Clone) -> FacetCounts {
    let mut out = BTreeMap::new();
    for (i, (name, size)) in FACETS.into_iter().enumerate() {
        let mut merged: HashMap<&str, u64> = HashMap::new();
        for segment in segments.clone() {
            for (value, n) in &segment[i] {
                *merged.entry(value).or_default() += n;
            }
        }
        let mut ranked: Vec<(&str, u64)> = merged.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ranked.truncate(size);
        let counts = ranked.into_iter().filter(|(value, _)| !value.is_empty());
        out.insert(name.to_owned(), counts.map(|(value, n)| (value.to_owned(), n)).collect());
    }
    out
}

/// The counts of every report in `segment`, without visiting the reports:
/// each value's document count in the term dictionary, less the deleted
/// reports that have it (read from the fast columns as [`Facets`] reads
/// them, so it costs as many reads as there are deleted reports).
pub(super) fn of_every_report(segment: &SegmentReader) -> tantivy::Result<SegmentCounts> {
    let schema = segment.schema();
    let fast = segment.fast_fields();
    let mut out = vec![HashMap::new(); FACETS.len()];
    for (counts, (name, _)) in out.iter_mut().zip(FACETS) {
        let index = segment.inverted_index(schema.get_field(name)?)?;
        let mut terms = index.terms().stream()?;
        while terms.advance() {
            let n = terms.value().doc_freq;
            if n > 0 {
                counts.insert(String::from_utf8_lossy(terms.key()).into_owned(), u64::from(n));
            }
        }
        let (Some(alive), Some(column)) = (segment.alive_bitset(), fast.str(name)?) else { continue };
        // the deleted reports by term ordinal, a value listed twice once
        let mut deleted = vec![0u64; column.num_terms()];
        let mut ords = Vec::new();
        for doc in (0..segment.max_doc()).filter(|&doc| alive.is_deleted(doc)) {
            ords.clear();
            ords.extend(column.term_ords(doc));
            ords.sort_unstable();
            ords.dedup();
            for &ord in &ords {
                deleted[ord as usize] += 1;
            }
        }
        let mut terms = column.dictionary().stream()?;
        while terms.advance() {
            let gone = deleted.get(terms.term_ord() as usize).copied().unwrap_or(0);
            if gone > 0
                && let Some(n) = counts.get_mut(String::from_utf8_lossy(terms.key()).as_ref())
            {
                *n -= gone;
            }
        }
        counts.retain(|_, n| *n > 0);
    }
    Ok(out)
}

impl SegmentCollector for FacetsSegment {
    type Fruit = tantivy::Result<SegmentCounts>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.block.push(doc);
        if self.block.len() == BLOCK {
            self.count_block();
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for chunk in docs.chunks(BLOCK) {
            self.block.extend_from_slice(chunk);
            if self.block.len() >= BLOCK {
                self.count_block();
            }
        }
    }

    fn harvest(mut self) -> tantivy::Result<SegmentCounts> {
        self.count_block();
        let mut out = vec![HashMap::new(); FACETS.len()];
        for field in self.fields {
            // the dictionary in the order of ordinals: a few hundred terms at most
            let mut terms = field.column.dictionary().stream()?;
            while terms.advance() {
                let n = field.counts.get(terms.term_ord() as usize).copied().unwrap_or(0);
                if n > 0 {
                    out[field.facet].insert(String::from_utf8_lossy(terms.key()).into_owned(), u64::from(n));
                }
            }
        }
        Ok(out)
    }
}
