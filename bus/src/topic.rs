use std::fmt;

/// The topics of kentongan (ARCHITECTURE.md lists their keys and values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Raw reports from ingest, keyed by province code.
    Reports,
    /// Reports with their classification, keyed by province code.
    Classified,
    /// Alert lifecycle events, keyed by alert series (`indicator/region`).
    Alerts,
    /// Configuration, compacted, keyed by id.
    Rules,
    Units,
    Accounts,
    Templates,
    /// What could not be parsed or validated, keyed by source, with the reason.
    Deadletter,
    /// Sign-ins and changes, append-only, keyed by actor.
    Audit,
    /// The classifier's threshold windows, compacted, keyed by province.
    Windows,
    /// Alert silences, compacted, keyed by id.
    Silences,
    /// Replies to reporters and their deliveries, keyed by report id.
    Replies,
    /// The morning briefs as they were sent, compacted, keyed `72/2026-12-01`.
    Briefs,
    /// Idempotency keys claimed and used by the ingest nodes, compacted,
    /// keyed by the idempotency key.
    Idempotency,
}

impl Topic {
    pub const ALL: [Topic; 14] = [
        Topic::Reports,
        Topic::Classified,
        Topic::Alerts,
        Topic::Rules,
        Topic::Units,
        Topic::Accounts,
        Topic::Templates,
        Topic::Deadletter,
        Topic::Audit,
        Topic::Windows,
        Topic::Silences,
        Topic::Replies,
        Topic::Briefs,
        Topic::Idempotency,
    ];

    /// The name without the prefix.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Reports => "reports",
            Topic::Classified => "classified",
            Topic::Alerts => "alerts",
            Topic::Rules => "rules",
            Topic::Units => "units",
            Topic::Accounts => "accounts",
            Topic::Templates => "templates",
            Topic::Deadletter => "deadletter",
            Topic::Audit => "audit",
            Topic::Windows => "windows",
            Topic::Silences => "silences",
            Topic::Replies => "replies",
            Topic::Briefs => "briefs",
            Topic::Idempotency => "idempotency",
        }
    }

    /// Configuration topics keep only the latest value per key.
    pub fn compacted(self) -> bool {
        matches!(
            self,
            Topic::Rules
                | Topic::Units
                | Topic::Accounts
                | Topic::Templates
                | Topic::Windows
                | Topic::Silences
                | Topic::Briefs
                | Topic::Idempotency
        )
    }

    pub fn from_name(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
