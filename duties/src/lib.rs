//! Duties: periodic reports that regions must file on a schedule (the daily
//! LAPSITDA, election-stage monitoring), and who has filed them.
//!
//! - [`template`] has report templates as data (fields, schedule, who
//!   files), checked field by field, and the built-in ones;
//! - [`period`] has periods (`2026-11-30`, `2026-W48`, `2026-11`, a stage
//!   id) and their deadlines in the filer's own zone (WIB, WITA, WIT);
//! - [`filing`] checks a filing's values against its template version,
//!   renders the report text from them, and drafts a parent's filing from
//!   its children's;
//! - [`compliance`] tells filed, filed late or not filed, per filer, with
//!   counts and rates rolled up the region tree;
//! - [`stages`] has the election-stage board (status per region and stage
//!   item, who has not yet, history) and the file policy of attachments;
//! - [`brief`] has the morning brief, made from the day's reports, alerts
//!   and filings, as HTML, text and PDF ([`pdf`]), and its archive;
//! - [`remind`] chooses reminders before a deadline (only to the units of
//!   filers that have not filed) and summaries to parent units after it;
//! - [`book`] has the views: templates from the `templates` topic, filings
//!   from the `classified` topic.
//!
//! Everything here but [`book`]'s loop is a pure function of its inputs and
//! the time it is given.

pub mod book;
pub mod brief;
pub mod compliance;
pub mod filing;
pub mod pdf;
pub mod period;
pub mod remind;
pub mod stages;
pub mod template;

pub use book::{Document, FilingBook, FilingEntry, TemplateBook};
pub use brief::{Brief, BriefBook};
pub use compliance::{Compliance, Row, Status, Totals, UnitRow};
pub use period::Period;
pub use template::{Definition, Every, Field, FieldKind, Filers, Schedule, Stage, Template};

/// Input that cannot be taken: which field, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// Where in the input, like `fields[2].options` or `values.situasi_konflik`.
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}
