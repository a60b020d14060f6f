//! The JSON body of `POST /api/v1/reports`: read as a submission, keyed
//! (`Submission::idempotency`), checked and made a report
//! (`Submission::into_report`), held to the account's regions
//! (`ingest::within_scope`), then sent on as every report is.

#![no_main]

use ingest::Submission;
use kentongan_fuzz::submitted;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(submission) = serde_json::from_slice::<Submission>(data) else { return };
    submitted(submission, Vec::new());
});
