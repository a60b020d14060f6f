//! Email as a channel: a mailbox polled over IMAP (`[email_intake]`), each
//! new message made a report with its attachments, and the receipt number
//! sent back to the sender through the reply outbox (`replies` topic).
//!
//! A message is taken once: it is read with `BODY.PEEK[]` (which leaves it
//! unread), published under the idempotency key
//! `email/<user>@<host>/<mailbox>/<uidvalidity>/<uid>` (what the server
//! vouches for), and only then is its UID recorded in the intake's store
//! and the message flagged `\Seen`. A crash in between takes it again on the
//! next poll, and the key gives the first report's id back. Messages with
//! UIDs above the recorded one are read; on the first poll, or when the
//! server's UIDVALIDITY changed, the unread ones.
//!
//! The sender: the address in `From`, kept as the reporter's contact (shown
//! to admins and operators only, as a phone number is). It is matched to an
//! account by email address when the mail server vouches for it (see
//! [`crate::config::EmailIntakeConfig::authserv_id`]); else the report is
//! from the public. Automatic mail (`Auto-Submitted`, bounces, mailing lists)
//! is not a report: it goes to `deadletter`, and no receipt goes back, so an
//! auto-responder and our receipts never answer each other forever.

use std::sync::Arc;
use std::time::Duration;

use async_imap::Client;
use futures_util::TryStreamExt;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use model::reply::{Reply, ReplyEvent, SYSTEM};
use model::{Account, Channel, Report, ReportId, Reporter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::config::EmailIntakeConfig;
use crate::status::AlertStateOf;
use crate::{Error, Idempotency, Intake};

/// The account whose email address this is, if one (and only one) has it.
pub type AccountOf = Arc<dyn Fn(&str) -> Option<Account> + Send + Sync>;

/// A message, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A report from `sender` (an address), with the files it carried.
    Report { report: Box<Report>, sender: String, verified: bool, files: Vec<(String, Vec<u8>)> },
    /// `status KTN-…` (or `cek …`): the answer goes back, no report is made.
    Status { sender: String, asked: Result<String, String>, message_id: Option<String> },
    /// Not a report; why.
    Nothing(&'static str),
}

/// Reads one message received at `now`. `authserv_id`: see
/// [`EmailIntakeConfig::authserv_id`].
pub fn parse(raw: &[u8], now: OffsetDateTime, authserv_id: Option<&str>, trust_from: bool) -> Parsed {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Parsed::Nothing("the message cannot be read as email");
    };
    let text_of = |name: &str| message.header(name).and_then(HeaderValue::as_text).map(str::to_owned);
    if text_of("Auto-Submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
        || message.header("List-Id").is_some()
        || text_of("Precedence").is_some_and(|p| matches!(p.trim().to_lowercase().as_str(), "bulk" | "list" | "junk"))
    {
        return Parsed::Nothing("automatic or mailing-list mail is not a report");
    }
    let Some(from) = message.from().and_then(|a| a.first()) else {
        return Parsed::Nothing("the message has no From address");
    };
    let Some(sender) = from.address().map(|a| a.trim().to_lowercase()).filter(|a| a.contains('@')) else {
        return Parsed::Nothing("the message has no From address");
    };
    let local = sender.split('@').next().unwrap_or_default();
    if local == "mailer-daemon" || local == "postmaster" || message.return_address() == Some("") {
        return Parsed::Nothing("a bounce is not a report");
    }
    let subject = message.subject().map(crate::plain).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let body = message.body_text(0).map(|b| without_quote(&crate::plain(&b))).unwrap_or_default();
    let message_id = message.message_id().map(|m| format!("<{m}>"));
    // `status KTN-…` in the subject or as the body's first line
    let first_line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().to_owned();
    for asked in [subject.as_deref().unwrap_or_default(), first_line.as_str()] {
        if let Some(asked) = crate::status::request(asked)
            && (body.trim().is_empty() || body.trim() == first_line.trim() || asked.is_ok())
        {
            return Parsed::Status { sender, asked, message_id };
        }
    }
    let mut files = Vec::new();
    for (n, part) in message.attachments().enumerate() {
        let name = part.attachment_name().map(str::to_owned).unwrap_or_else(|| format!("lampiran-{}", n + 1));
        files.push((name, part.contents().to_vec()));
    }
    let text = match (body.trim(), &subject, files.is_empty()) {
        (b, _, _) if !b.is_empty() => b.to_owned(),
        (_, Some(s), _) => s.clone(),
        (_, None, false) => "(lampiran tanpa keterangan)".to_owned(),
        (_, None, true) => return Parsed::Nothing("the message has no subject, text or attachment"),
    };
    let sent = message.date().and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok());
    let verified = match authserv_id {
        Some(id) => vouched(&message, id, &sender),
        None => trust_from,
    };
    let report = Report {
        reported_at: crate::sent_time(sent, now),
        title: subject.filter(|s| *s != text),
        reporter: Some(Reporter {
            account: None,
            name: from.name().map(crate::one_line).filter(|n| !n.is_empty()),
            contact: Some(sender.clone()),
        }),
        external_id: message_id,
        ..Report::new(Channel::Email, "email", text, now)
    };
    Parsed::Report { report: Box::new(report), sender, verified, files }
}

/// The text without the quoted message a reply carries below it.
fn without_quote(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let l = line.trim();
        let opens_quote = (l.starts_with("On ") && l.ends_with("wrote:"))
            || (l.starts_with("Pada ") && l.ends_with("menulis:"))
            || l.starts_with("-----Original Message-----")
            || l == "--";
        if opens_quote {
            break;
        }
        if !l.starts_with('>') {
            kept.push(line);
        }
    }
    kept.join("\n").trim().to_owned()
}

/// Whether the mail server named `authserv_id` says `sender`'s domain passed
/// DMARC, or DKIM signed by that domain (or one above it), in the header it
/// added (RFC 8601). Only the topmost `Authentication-Results` counts: the
/// receiving server puts its own above everything the sender wrote, so a
/// header forged inside the message cannot speak for it. A DKIM pass for
/// another domain proves nothing about `From`.
fn vouched(message: &mail_parser::Message<'_>, authserv_id: &str, sender: &str) -> bool {
    let Some(value) = message.header_values("Authentication-Results").next().and_then(HeaderValue::as_text) else {
        return false;
    };
    let domain = sender.rsplit('@').next().unwrap_or_default().to_lowercase();
    let aligned = |d: &str| domain == d || domain.ends_with(&format!(".{d}"));
    let mut parts = value.split(';').map(str::trim);
    let server = parts.next().unwrap_or_default().split_whitespace().next().unwrap_or_default();
    server.eq_ignore_ascii_case(authserv_id)
        && parts.any(|p| {
            let p = p.to_lowercase();
            let signer = p.split_whitespace().find_map(|w| w.strip_prefix("header.d=")).map(|d| d.trim_matches('"'));
            p.starts_with("dmarc=pass") || (p.starts_with("dkim=pass") && signer.is_some_and(aligned))
        })
}

/// Where the poller is in a mailbox: its UIDVALIDITY and the last UID taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    validity: u32,
    last: u32,
}

/// The mailbox poller. Cheap to clone.
#[derive(Clone)]
pub struct Mailbox {
    pub intake: Intake,
    pub config: EmailIntakeConfig,
    pub accounts: AccountOf,
    pub alert_state: Option<AlertStateOf>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox").field("url", &self.config.url).field("mailbox", &self.config.mailbox).finish()
    }
}

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("email_intake: {0}")]
    Config(String),
    #[error("IMAP server {server}: {reason}")]
    Server { server: String, reason: String },
    #[error(transparent)]
    Intake(#[from] Error),
}

/// Where `url` points: TLS or not, host and port.
fn endpoint(url: &str) -> Result<(bool, String, u16), PollError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| PollError::Config(format!("url `{url}`: {e}")))?;
    let tls = match parsed.scheme() {
        "imaps" => true,
        "imap" => false,
        other => return Err(PollError::Config(format!("url `{url}`: the scheme `{other}` must be imaps or imap"))),
    };
    let host = parsed.host_str().ok_or_else(|| PollError::Config(format!("url `{url}` has no host")))?.to_owned();
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    Ok((tls, host, parsed.port().unwrap_or(if tls { 993 } else { 143 })))
}

impl EmailIntakeConfig {
    /// Checks what types alone cannot; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        endpoint(&self.url).map_err(|e| e.to_string())?;
        if self.username.is_empty() || self.password.is_empty() {
            return Err("email_intake.username and email_intake.password must not be empty".into());
        }
        if self.interval < Duration::from_secs(1) {
            return Err("email_intake.interval must be at least 1s".into());
        }
        Ok(())
    }
}

impl Mailbox {
    /// Polls every `interval` until the process stops; a failed poll is
    /// logged and counted, and the next one tries again.
    pub async fn run(self) {
        loop {
            match self.poll().await {
                Ok(taken) if taken > 0 => tracing::info!(taken, mailbox = %self.config.mailbox, "email taken"),
                Ok(_) => {}
                Err(e) => {
                    metrics::counter!("kentongan_ingest_failed_total", "channel" => "email", "reason" => "poll")
                        .increment(1);
                    tracing::warn!(error = %e, "could not poll the mailbox; trying again at the next interval");
                }
            }
            tokio::time::sleep(self.config.interval).await;
        }
    }

    /// One poll: every new message taken. Returns how many became reports.
    pub async fn poll(&self) -> Result<usize, PollError> {
        let (tls, host, port) = endpoint(&self.config.url)?;
        let server = format!("{host}:{port}");
        let fail = |e: &dyn std::fmt::Display| PollError::Server { server: server.clone(), reason: e.to_string() };
        let tcp = tokio::time::timeout(Duration::from_secs(20), tokio::net::TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| fail(&"no connection within 20 s"))?
            .map_err(|e| fail(&e))?;
        if tls {
            let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(&self.config)?));
            let name = rustls_pki_types::ServerName::try_from(host.clone()).map_err(|e| fail(&e))?;
            let stream = connector.connect(name, tcp).await.map_err(|e| fail(&e))?;
            self.poll_over(Client::new(stream), &server, &host).await
        } else {
            self.poll_over(Client::new(tcp), &server, &host).await
        }
    }

    async fn poll_over<S>(&self, mut client: Client<S>, server: &str, host: &str) -> Result<usize, PollError>
    where
        S: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    {
        let fail = |e: &dyn std::fmt::Display| PollError::Server { server: server.to_owned(), reason: e.to_string() };
        let step = Duration::from_secs(60);
        let timed = |what: &'static str| move |_| fail(&format!("{what}: no answer within 60 s"));
        tokio::time::timeout(step, client.read_response())
            .await
            .map_err(timed("greeting"))?
            .map_err(|e| fail(&e))?
            .ok_or_else(|| fail(&"the server closed the connection"))?;
        let mut session = tokio::time::timeout(step, client.login(&self.config.username, &self.config.password))
            .await
            .map_err(timed("login"))?
            .map_err(|(e, _)| fail(&format!("login as {}: {e}", self.config.username)))?;
        let folder = tokio::time::timeout(step, session.select(&self.config.mailbox))
            .await
            .map_err(timed("select"))?
            .map_err(|e| fail(&format!("mailbox {}: {e}", self.config.mailbox)))?;
        let validity = folder.uid_validity.unwrap_or(0);
        let state_key = format!("imap/{}@{host}/{}", self.config.username, self.config.mailbox);
        let store = self.intake.store().clone();
        let key = state_key.clone();
        let saved = tokio::task::spawn_blocking(move || store.feed_state::<Cursor>(&key))
            .await
            .map_err(|e| Error::Storage(e.to_string()))??
            .filter(|c| c.validity == validity);
        let query = match saved {
            Some(c) => format!("UID {}:*", c.last.saturating_add(1)),
            None => "UNSEEN".to_owned(),
        };
        let found = tokio::time::timeout(step, session.uid_search(&query))
            .await
            .map_err(timed("search"))?
            .map_err(|e| fail(&e))?;
        // `n:*` always answers the last message, even one below n
        let mut uids: Vec<u32> = found.into_iter().filter(|u| saved.is_none_or(|c| *u > c.last)).collect();
        uids.sort_unstable();
        let mut taken = 0;
        let limit = self.intake.config().max_report_size.as_u64();
        for uid in uids {
            let sizes: Vec<_> = tokio::time::timeout(step, async {
                session.uid_fetch(uid.to_string(), "(UID RFC822.SIZE)").await?.try_collect::<Vec<_>>().await
            })
            .await
            .map_err(timed("fetch"))?
            .map_err(|e| fail(&e))?;
            let size = sizes.iter().find_map(|f| f.size).unwrap_or(0);
            let outcome = if u64::from(size) > limit.saturating_mul(4) / 3 + 64 * 1024 {
                // base64 makes files a third larger; beyond that it cannot fit
                let reason = format!("the message has {size} bytes, more than ingest.max_report_size ({limit})");
                let note = format!("uid {uid} of {state_key}");
                self.intake.deadletter("email", note.as_bytes(), &reason).await?;
                Taken::Skipped
            } else {
                let fetched: Vec<_> = tokio::time::timeout(Duration::from_secs(300), async {
                    session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])").await?.try_collect::<Vec<_>>().await
                })
                .await
                .map_err(timed("fetch"))?
                .map_err(|e| fail(&e))?;
                let Some(raw) = fetched.iter().find_map(|f| f.body()) else {
                    // expunged meanwhile
                    continue;
                };
                let key = format!("email/{}@{host}/{}/{validity}/{uid}", self.config.username, self.config.mailbox);
                // a message that trips a bug is set aside, not read again forever
                match bus::contain_async("email", self.take(raw, key)).await {
                    Ok(taken) => taken?,
                    Err(cause) => {
                        self.intake.deadletter("email", raw, &cause).await?;
                        Taken::Skipped
                    }
                }
            };
            taken += usize::from(outcome == Taken::Report);
            let store = self.intake.store().clone();
            let key = state_key.clone();
            tokio::task::spawn_blocking(move || store.put_feed_state(&key, &Cursor { validity, last: uid }))
                .await
                .map_err(|e| Error::Storage(e.to_string()))??;
            // a courtesy to people reading the mailbox: the UID recorded above is what counts
            let seen = tokio::time::timeout(step, async {
                session.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)").await?.try_collect::<Vec<_>>().await
            })
            .await;
            if !matches!(seen, Ok(Ok(_))) {
                tracing::debug!(uid, "could not flag a taken message as seen");
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), session.logout()).await;
        Ok(taken)
    }

    /// Takes one message in: a report, a status answer, or `deadletter`.
    async fn take(&self, raw: &[u8], key: String) -> Result<Taken, Error> {
        let intake = &self.intake;
        let (mut report, sender, verified, files) =
            match parse(raw, intake.now(), self.config.authserv_id.as_deref(), self.config.trust_from) {
                Parsed::Report { report, sender, verified, files } => (report, sender, verified, files),
                Parsed::Status { sender, asked, message_id } => {
                    if let Some(taken) = self.too_many(&sender, raw).await? {
                        return Ok(taken);
                    }
                    let (about, text) = match asked {
                        Ok(receipt) => {
                            crate::status::respond(intake.store(), &sender, &receipt, self.alert_state.as_ref()).await?
                        }
                        Err(how) => (None, how),
                    };
                    // an answer about no report of theirs is kept under the nil id
                    let about = about.unwrap_or(ReportId(uuid::Uuid::nil()));
                    self.reply(uuid::Uuid::now_v7(), about, &sender, message_id, text).await?;
                    return Ok(Taken::Status);
                }
                Parsed::Nothing(reason) => {
                    intake.deadletter("email", raw, reason).await?;
                    return Ok(Taken::Skipped);
                }
            };
        if let Some(taken) = self.too_many(&sender, raw).await? {
            return Ok(taken);
        }
        let account = if verified { (self.accounts)(&sender) } else { None };
        if let Some(account) = &account {
            if let Some(r) = report.reporter.as_mut() {
                r.account = Some(account.name.clone());
            }
            if let Err(e) = crate::within_scope(&mut report, &account.scope()) {
                intake.deadletter("email", raw, &e.to_string()).await?;
                return Ok(Taken::Skipped);
            }
        }
        let limits = intake.config();
        let mut skipped = Vec::new();
        let mut total = 0u64;
        for (name, bytes) in files {
            let size = bytes.len() as u64;
            let why = if report.attachments.len() >= limits.max_files {
                Some(format!("lebih dari {} berkas", limits.max_files))
            } else if size > limits.max_file_size.as_u64() || total + size > limits.max_report_size.as_u64() {
                Some(format!("lebih besar dari {}", limits.max_file_size))
            } else {
                None
            };
            if let Some(why) = why {
                skipped.push(format!("{} ({why})", crate::quote(&name)));
                continue;
            }
            match intake.attachments().save(&name, bytes).await {
                Ok(a) => {
                    total += size;
                    report.attachments.push(a);
                }
                Err(Error::Unsupported { .. }) => {
                    skipped.push(format!("{} (jenis berkas tidak diterima)", crate::quote(&name)))
                }
                Err(e) => return Err(e),
            }
        }
        let answers = report.external_id.clone();
        let key = Idempotency::of(key, &[raw]);
        let accepted = intake.accept_once(Some(key), *report).await?;
        // Taken again (the receipt's publish failed, or the node stopped
        // before the message was flagged): the receipt goes again under the
        // same id, which the reply outbox and the reply history take once.
        crate::status::keep(intake.store(), &sender, accepted.id).await;
        let mut text = format!("Laporan diterima, nomor {}. Terima kasih.", crate::receipt(accepted.id));
        if !skipped.is_empty() {
            text.push_str(&format!("\nLampiran yang tidak disimpan: {}.", skipped.join(", ")));
        }
        text.push_str(&format!("\n\n{}", crate::status::FORMAT));
        let receipt = uuid::Uuid::new_v5(&accepted.id.0, b"receipt");
        self.reply(receipt, accepted.id, &sender, answers, text).await?;
        Ok(Taken::Report)
    }

    /// A sender over `ingest.rate_per_source` a minute: the message goes to
    /// `deadletter` with the reason, unanswered (a flood from one address
    /// must neither hold the mailbox up nor make us mail it back).
    async fn too_many(&self, sender: &str, raw: &[u8]) -> Result<Option<Taken>, Error> {
        match self.intake.check_source(&format!("email:{sender}")) {
            Ok(()) => Ok(None),
            Err(e @ Error::RateLimited { .. }) => {
                self.intake.deadletter("email", raw, &e.to_string()).await?;
                Ok(Some(Taken::Skipped))
            }
            Err(e) => Err(e),
        }
    }

    /// Sends `text` back to `to` about `report`, through the reply outbox,
    /// as the reply `id`.
    async fn reply(
        &self,
        id: uuid::Uuid,
        report: ReportId,
        to: &str,
        answers: Option<String>,
        text: String,
    ) -> Result<(), Error> {
        let reply = Reply {
            id,
            report,
            alert: None,
            channel: Channel::Email,
            to: to.to_owned(),
            answers,
            text,
            by: SYSTEM.to_owned(),
            at: self.intake.now(),
        };
        let event = ReplyEvent::Requested { reply };
        self.intake.bus.publish(bus::Topic::Replies, &report.to_string(), &model::wire::encode(&event)).await?;
        Ok(())
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    Report,
    Status,
    Skipped,
}

/// TLS that checks the server's certificate against the public authorities
/// and `ca_file`'s.
fn tls_config(config: &EmailIntakeConfig) -> Result<rustls::ClientConfig, PollError> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        let bad = |e: &dyn std::fmt::Display| PollError::Config(format!("ca_file {}: {e}", path.display()));
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PollError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\nDate: Mon, 30 Nov 2026 08:00:00 +0800\r\nMessage-ID: <m1@desa.example>\r\n\r\n{body}")
            .into_bytes()
    }

    #[test]
    fn a_message_with_an_attachment_becomes_a_report() {
        let raw = format!(
            "From: Pak RT 05 <RT05@Desa.Example>\r\nTo: lapor@kesbang.example\r\nSubject: Bentrok di pasar\r\n\
             Date: Mon, 30 Nov 2026 08:00:00 +0800\r\nMessage-ID: <m1@desa.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Ada bentrok antarwarga di pasar.\r\n\r\nOn Sun, someone wrote:\r\n> lama\r\n--b\r\n\
             Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"foto.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            base64_of_png()
        );
        let now = datetime!(2026-11-30 10:00 UTC);
        let Parsed::Report { report, sender, verified, files } = parse(raw.as_bytes(), now, None, true) else {
            panic!()
        };
        assert_eq!(sender, "rt05@desa.example");
        assert!(verified);
        assert_eq!(report.text, "Ada bentrok antarwarga di pasar.");
        assert_eq!(report.title.as_deref(), Some("Bentrok di pasar"));
        assert_eq!(report.channel, Channel::Email);
        assert_eq!(report.reported_at, datetime!(2026-11-30 00:00 UTC));
        assert_eq!(report.external_id.as_deref(), Some("<m1@desa.example>"));
        let reporter = report.reporter.unwrap();
        assert_eq!(
            (reporter.name.as_deref(), reporter.contact.as_deref()),
            (Some("Pak RT 05"), Some("rt05@desa.example"))
        );
        assert_eq!(files, vec![("foto.png".to_owned(), PNG.to_vec())]);
    }

    fn base64_of_png() -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in PNG.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// A message taken a second time (the receipt's publish failed, or the
    /// node stopped before flagging it) makes no second report, and its
    /// receipt is asked for again under the same id: the reply outbox and
    /// the report's reply history take it once, where before the receipt
    /// was never sent.
    #[tokio::test]
    async fn a_message_taken_again_asks_for_its_receipt_again_under_one_id() {
        let dir = tempfile::tempdir().unwrap();
        let bus = bus::Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        let intake = Intake::new(
            bus.clone(),
            Arc::new(model::SystemClock),
            crate::IngestConfig::default(),
            crate::Store::open(&dir.path().join("ingest.redb")).unwrap(),
            crate::AttachmentStore::local(&dir.path().join("files")),
        );
        let config = serde_json::json!({
            "url": "imap://127.0.0.1:1", "username": "lapor", "password": "rahasia", "trust_from": true,
        });
        let mailbox = Mailbox {
            intake,
            config: serde_json::from_value(config).unwrap(),
            accounts: Arc::new(|_: &str| None),
            alert_state: None,
        };
        let raw = mail("From: rt05@desa.example\r\nSubject: Bentrok di pasar", "Ada bentrok antarwarga di pasar.");
        for _ in 0..2 {
            assert_eq!(mailbox.take(&raw, "email/lapor@127.0.0.1/INBOX/1/7".into()).await.unwrap(), Taken::Report);
        }
        let (reports, _) = bus.catch_up(bus::Topic::Reports).await.unwrap();
        assert_eq!(reports.len(), 1);
        let (replies, _) = bus.catch_up(bus::Topic::Replies).await.unwrap();
        let ids: Vec<uuid::Uuid> = replies
            .iter()
            .map(|r| match model::wire::decode::<ReplyEvent>(&r.payload).unwrap() {
                ReplyEvent::Requested { reply } => reply.id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], ids[1]);
    }

    #[test]
    fn status_requests_automatic_mail_and_forged_senders() {
        let now = datetime!(2026-11-30 10:00 UTC);
        let status = mail("From: rt05@desa.example\r\nSubject: cek KTN-1A2B3C4D", "");
        let Parsed::Status { sender, asked, .. } = parse(&status, now, None, false) else { panic!() };
        assert_eq!((sender.as_str(), asked), ("rt05@desa.example", Ok("KTN-1A2B3C4D".to_owned())));
        let in_body = mail("From: rt05@desa.example\r\nSubject: Re: Laporan", "status ktn-1a2b3c4d\r\n");
        assert!(matches!(parse(&in_body, now, None, false), Parsed::Status { asked: Ok(_), .. }));
        for auto in [
            "From: x@desa.example\r\nAuto-Submitted: auto-replied\r\nSubject: Di luar kantor",
            "From: MAILER-DAEMON@mail.example\r\nSubject: Undelivered",
            "From: x@desa.example\r\nList-Id: <warga.desa.example>\r\nSubject: Info",
        ] {
            assert!(matches!(parse(&mail(auto, "isi"), now, None, false), Parsed::Nothing(_)), "{auto}");
        }
        assert!(matches!(parse(&mail("Subject: tanpa pengirim", "isi"), now, None, false), Parsed::Nothing(_)));
        // with authserv_id, only what the mail server vouches for is matched to an account
        let vouched = mail(
            "Authentication-Results: mx.kesbang.example; spf=pass; dkim=pass header.d=desa.example\r\n\
             From: rt05@desa.example\r\nSubject: Bentrok",
            "ada bentrok",
        );
        let forged = mail(
            "Authentication-Results: mx.lain.example; dmarc=pass\r\nFrom: rt05@desa.example\r\nSubject: Bentrok",
            "ada bentrok",
        );
        let verified = |raw: &[u8]| match parse(raw, now, Some("mx.kesbang.example"), false) {
            Parsed::Report { verified, .. } => verified,
            other => panic!("{other:?}"),
        };
        assert!(verified(&vouched));
        assert!(!verified(&forged));
        // DKIM by another domain, or a vouching header below the server's own, proves nothing
        let other_signer = mail(
            "Authentication-Results: mx.kesbang.example; dkim=pass header.d=penipu.example\r\n\
             From: rt05@desa.example\r\nSubject: Bentrok",
            "ada bentrok",
        );
        assert!(!verified(&other_signer));
        let buried = mail(
            "Authentication-Results: mx.kesbang.example; dkim=fail\r\n\
             Authentication-Results: mx.kesbang.example; dmarc=pass\r\nFrom: rt05@desa.example\r\nSubject: Bentrok",
            "ada bentrok",
        );
        assert!(!verified(&buried));
        // with neither authserv_id nor trust_from, nobody is believed
        assert!(matches!(parse(&vouched, now, None, false), Parsed::Report { verified: false, .. }));
    }

    #[test]
    fn urls_and_settings_are_checked() {
        assert_eq!(endpoint("imaps://imap.example.go.id").unwrap(), (true, "imap.example.go.id".into(), 993));
        assert_eq!(endpoint("imap://127.0.0.1:1143").unwrap(), (false, "127.0.0.1".into(), 1143));
        assert!(endpoint("pop3://x").unwrap_err().to_string().contains("must be imaps or imap"));
        let config = |url: &str, interval: u64| EmailIntakeConfig {
            url: url.into(),
            username: "lapor".into(),
            password: "rahasia".into(),
            mailbox: "INBOX".into(),
            interval: Duration::from_secs(interval),
            ca_file: None,
            authserv_id: None,
            trust_from: false,
        };
        assert!(config("imaps://imap.example", 60).check().is_ok());
        assert!(config("https://imap.example", 60).check().is_err());
        assert!(config("imaps://imap.example", 0).check().unwrap_err().contains("interval"));
    }
}
