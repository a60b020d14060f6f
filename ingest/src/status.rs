//! Status by receipt number: a reporter who sends `status KTN-1A2B3C4D` (or
//! `cek KTN-1A2B3C4D`, `/status …` to the bot) over a channel hears what
//! became of that report, over the same channel. Only for a receipt the
//! same sender got: each channel report's receipt is kept under its sender
//! (`receipt/<sender>/<receipt>` in the intake's store), and a receipt asked
//! for by anyone else is answered as unknown, so nothing is told of others'
//! reports. Like idempotency keys, the receipts live on the ingest node
//! that took the report.

use model::{AlertState, ReportId};

use crate::{Error, Store};

/// The receipt (`KTN-` and eight hex digits, upper case) a message asks the
/// status of; `Some(Err(answer))` when it asks in the wrong form, `None`
/// when it is not a status request at all (it is a report).
pub fn request(text: &str) -> Option<Result<String, String>> {
    let text = text.trim();
    let mut words = text.split_whitespace();
    let first = words.next()?.trim_start_matches('/').to_lowercase();
    // `/status@nama_bot` in a group
    let command = first.split('@').next().unwrap_or_default();
    if !matches!(command, "status" | "cek") {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    // `cek nomor KTN-…`, `status laporan KTN-…`
    let given = rest.iter().rev().find(|w| !matches!(w.to_lowercase().as_str(), "nomor" | "no" | "laporan")).copied();
    let Some(given) = given else {
        // one word alone ("status", "cek") is a question, not a report
        return (rest.is_empty()).then(|| Err(FORMAT.to_owned()));
    };
    if rest.len() > 3 {
        // a sentence that starts with the word is a report
        return None;
    }
    let word = given.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_uppercase();
    let named = word.starts_with("KTN");
    let hex = word.strip_prefix("KTN-").or_else(|| word.strip_prefix("KTN")).unwrap_or(&word).trim_start_matches('-');
    if hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(Ok(format!("KTN-{hex}")))
    } else if named {
        Some(Err(format!("Nomor `{}` tidak dikenal. {FORMAT}", crate::quote(given))))
    } else {
        // "cek pasar ricuh", "status siaga banjir": words, not a receipt; a report
        None
    }
}

/// How to ask.
pub const FORMAT: &str =
    "Untuk menanyakan status laporan, kirim: STATUS <nomor tanda terima>, contoh: STATUS KTN-1A2B3C4D";

fn key(sender: &str, receipt: &str) -> String {
    format!("receipt/{sender}/{receipt}")
}

/// Keeps `id`'s receipt under `sender` (`telegram:<id>`, `+62…`, an email
/// address), so that sender can ask its status.
pub async fn remember(store: &Store, sender: &str, id: ReportId) -> Result<(), Error> {
    let (store, key) = (store.clone(), key(sender, &crate::receipt(id)));
    tokio::task::spawn_blocking(move || store.put_feed_state(&key, &id))
        .await
        .map_err(|e| Error::Storage(e.to_string()))?
}

/// [`remember`], after the report is durable: a failure is only logged (the
/// sender cannot ask this report's status, nothing more).
pub async fn keep(store: &Store, sender: &str, id: ReportId) {
    if let Err(e) = remember(store, sender, id).await {
        tracing::warn!(report = %id, error = %e, "could not keep the receipt for status requests");
    }
}

/// The report `sender` got `receipt` for, if it did.
pub async fn lookup(store: &Store, sender: &str, receipt: &str) -> Result<Option<ReportId>, Error> {
    let (store, key) = (store.clone(), key(sender, receipt));
    tokio::task::spawn_blocking(move || store.feed_state::<ReportId>(&key))
        .await
        .map_err(|e| Error::Storage(e.to_string()))?
}

/// The state of the alert a report counts towards: `Some(None)` when it
/// counts towards none, `None` when this node cannot tell (it keeps no
/// alert view).
pub type AlertStateOf = std::sync::Arc<dyn Fn(ReportId) -> Option<Option<AlertState>> + Send + Sync>;

/// The answer to a status request for `receipt`: `found` is the report the
/// sender got it for, with what the node knows of its alert.
pub fn answer(receipt: &str, found: Option<(ReportId, Option<Option<AlertState>>)>) -> String {
    let Some((_, state)) = found else {
        return format!(
            "Laporan {receipt} tidak ditemukan untuk pengirim ini. Periksa nomornya; status hanya dapat ditanyakan \
             dari nomor atau akun yang mengirim laporan."
        );
    };
    let what = match state {
        None => "sudah diterima dan sedang diproses petugas",
        Some(None) => "sudah diterima dan dicatat petugas",
        Some(Some(AlertState::Open)) => "sudah diterima dan masuk dalam peringatan dini yang sedang diperiksa petugas",
        Some(Some(AlertState::Acknowledged)) => "sudah diterima dan sedang ditangani petugas",
        Some(Some(AlertState::InProgress)) => "sedang ditindaklanjuti petugas",
        Some(Some(AlertState::Resolved)) => "sudah selesai ditindaklanjuti",
    };
    format!("Laporan {receipt} {what}. Terima kasih.")
}

/// Answers a status request from `sender`, for `receipt`: the report it
/// is about (when the sender made it) and the words to send back.
pub async fn respond(
    store: &Store,
    sender: &str,
    receipt: &str,
    alert_state: Option<&AlertStateOf>,
) -> Result<(Option<ReportId>, String), Error> {
    let found = lookup(store, sender, receipt).await?;
    Ok((found, answer(receipt, found.map(|id| (id, alert_state.and_then(|f| f(id)))))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_requests_in_either_language() {
        for text in [
            "status KTN-1A2B3C4D",
            "STATUS ktn-1a2b3c4d",
            "cek KTN-1A2B3C4D",
            "Cek nomor KTN-1A2B3C4D",
            "/status KTN-1A2B3C4D",
            "/status@kentongan_bot 1a2b3c4d",
            "cek laporan ktn1a2b3c4d.",
        ] {
            assert_eq!(request(text), Some(Ok("KTN-1A2B3C4D".to_owned())), "{text}");
        }
        // a report that merely starts with the word is a report
        assert_eq!(request("cek dulu, ada bentrok di pasar Inpres dekat terminal"), None);
        // short reports too: words, not a receipt
        assert_eq!(request("cek pasar ricuh"), None);
        assert_eq!(request("status siaga banjir"), None);
        assert_eq!(request("Cek: tawuran"), None);
        assert_eq!(request("ada bentrok di pasar"), None);
        assert_eq!(request(""), None);
        // asked in a wrong form: told how
        assert!(request("status").unwrap().unwrap_err().contains("STATUS KTN-"));
        let wrong = request("cek KTN-XYZ").unwrap().unwrap_err();
        assert!(wrong.starts_with("Nomor `KTN-XYZ` tidak dikenal"), "{wrong}");
    }

    #[tokio::test]
    async fn only_the_sender_of_a_report_hears_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ingest.redb")).unwrap();
        let id = ReportId(uuid::Uuid::now_v7());
        let receipt = crate::receipt(id);
        remember(&store, "+6281111", id).await.unwrap();
        assert_eq!(lookup(&store, "+6281111", &receipt).await.unwrap(), Some(id));
        assert_eq!(lookup(&store, "+6282222", &receipt).await.unwrap(), None);
        let resolved: AlertStateOf = std::sync::Arc::new(|_| Some(Some(AlertState::Resolved)));
        let (about, own) = respond(&store, "+6281111", &receipt, Some(&resolved)).await.unwrap();
        assert_eq!(about, Some(id));
        assert_eq!(own, format!("Laporan {receipt} sudah selesai ditindaklanjuti. Terima kasih."));
        let (about, other) = respond(&store, "+6282222", &receipt, Some(&resolved)).await.unwrap();
        assert_eq!(about, None);
        assert!(other.contains("tidak ditemukan untuk pengirim ini"), "{other}");
        assert!(!other.contains("selesai"));
    }
}
