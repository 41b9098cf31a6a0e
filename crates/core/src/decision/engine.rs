//! The decision: one pure function from (enforcement model, state, subject, now) to a
//! decision with a reason. Implements rows 3 to 12 of DECISION-RULES.md; rows 1 and 2 are
//! request checks done before it (see [`crate::decision::check`]).
//!
//! "A contact point's life" reaches the engine through the state alone: an erasure is a
//! suppression of kind `erased` (row 4), and a reassignment leaves voided opt-ins that read
//! as `not_set` except that a restrictive row 8 or 10 reports `CONTACT_POINT_REASSIGNED`.
//! The store decides which records a reassignment voids (their `occurred_at` against its
//! date), since the hot index keeps no `occurred_at`.

use super::model::{ContactState, EnforcementModel, Record, Status, Subject, SuppressionKind, UnixSeconds};

/// Send or block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Send,
    Block,
}

/// Why a decision was made. Each reason implies exactly one outcome. Discriminants are
/// positions in [`Reason::ALL`], so per-reason counters index by `reason as usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reason {
    InvalidContactPoint = 0,
    ConsentNotRequired = 1,
    Suppressed = 2,
    PurposeOptedOut = 3,
    PendingConfirmation = 4,
    ConsentExpired = 5,
    NoOptIn = 6,
    TopicOptedOut = 7,
    NoTopicOptIn = 8,
    OptedIn = 9,
    NotOptedOut = 10,
    /// Restrictive, and the opt-in was recorded before the number's reassignment date.
    ContactPointReassigned = 11,
}

impl Reason {
    pub const ALL: [Reason; 12] = [
        Reason::InvalidContactPoint,
        Reason::ConsentNotRequired,
        Reason::Suppressed,
        Reason::PurposeOptedOut,
        Reason::PendingConfirmation,
        Reason::ConsentExpired,
        Reason::NoOptIn,
        Reason::TopicOptedOut,
        Reason::NoTopicOptIn,
        Reason::OptedIn,
        Reason::NotOptedOut,
        Reason::ContactPointReassigned,
    ];

    /// Position in [`Reason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn outcome(self) -> Outcome {
        match self {
            Reason::ConsentNotRequired | Reason::OptedIn | Reason::NotOptedOut => Outcome::Send,
            Reason::InvalidContactPoint
            | Reason::Suppressed
            | Reason::PurposeOptedOut
            | Reason::PendingConfirmation
            | Reason::ConsentExpired
            | Reason::NoOptIn
            | Reason::TopicOptedOut
            | Reason::NoTopicOptIn
            | Reason::ContactPointReassigned => Outcome::Block,
        }
    }

    /// The code as written in DECISION-RULES.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidContactPoint => "INVALID_CONTACT_POINT",
            Reason::ConsentNotRequired => "CONSENT_NOT_REQUIRED",
            Reason::Suppressed => "SUPPRESSED",
            Reason::PurposeOptedOut => "PURPOSE_OPTED_OUT",
            Reason::PendingConfirmation => "PENDING_CONFIRMATION",
            Reason::ConsentExpired => "CONSENT_EXPIRED",
            Reason::NoOptIn => "NO_OPT_IN",
            Reason::TopicOptedOut => "TOPIC_OPTED_OUT",
            Reason::NoTopicOptIn => "NO_TOPIC_OPT_IN",
            Reason::OptedIn => "OPTED_IN",
            Reason::NotOptedOut => "NOT_OPTED_OUT",
            Reason::ContactPointReassigned => "CONTACT_POINT_REASSIGNED",
        }
    }
}

/// A decision: the outcome, its reason, and for `Suppressed` the kind that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    pub reason: Reason,
    pub suppression: Option<SuppressionKind>,
}

impl Decision {
    pub fn new(reason: Reason) -> Decision {
        Decision { reason, suppression: None }
    }

    pub fn outcome(self) -> Outcome {
        self.reason.outcome()
    }
}

/// The effective status of a record at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effective {
    NotSet,
    OptedIn,
    /// An opt-in whose `expires_at <= now`.
    Expired,
    OptedOut,
    Pending,
}

fn effective(record: Option<Record>, now: UnixSeconds) -> Effective {
    let Some(record) = record else {
        return Effective::NotSet;
    };
    let lapsed = record.expires_at.is_some_and(|t| t <= now);
    match (record.status, lapsed) {
        // An opt-out never expires.
        (Status::OptedOut, _) => Effective::OptedOut,
        (Status::OptedIn, false) => Effective::OptedIn,
        (Status::OptedIn, true) => Effective::Expired,
        (Status::Pending, false) => Effective::Pending,
        // A pending record past its confirmation validity counts as not set.
        (Status::Pending, true) => Effective::NotSet,
    }
}

/// Decides rows 3 to 12 for one contact point whose state is `state` (`None`: no record
/// and no suppression at all, an authoritative `not_set`).
///
/// `subject.topic == 0` means no topic was given. Never fails: every input has a decision,
/// and when in doubt the decision is to block.
pub fn decide(model: EnforcementModel, state: Option<&ContactState>, subject: Subject, now: UnixSeconds) -> Decision {
    let restrictive = match model {
        // Row 3.
        EnforcementModel::Disabled => return Decision::new(Reason::ConsentNotRequired),
        EnforcementModel::Restrictive => true,
        EnforcementModel::NonRestrictive => false,
    };
    let Some(state) = state else {
        // Nothing recorded: rows 8 and 12 decide.
        return Decision::new(if restrictive { Reason::NoOptIn } else { Reason::NotOptedOut });
    };
    // Row 4.
    if let Some(kind) = state.suppressions().first() {
        return Decision { reason: Reason::Suppressed, suppression: Some(kind) };
    }
    let purpose = effective(state.get(Subject::purpose(subject.purpose)), now);
    // Row 5: an opt-out blocks under either model, and every topic under the purpose.
    if purpose == Effective::OptedOut {
        return Decision::new(Reason::PurposeOptedOut);
    }
    if restrictive {
        match purpose {
            Effective::Pending => return Decision::new(Reason::PendingConfirmation), // Row 6.
            Effective::Expired => return Decision::new(Reason::ConsentExpired),      // Row 7.
            // Row 8; an opt-in a reassignment voided says so.
            Effective::NotSet if state.voided(Subject::purpose(subject.purpose)) => {
                return Decision::new(Reason::ContactPointReassigned);
            }
            Effective::NotSet => return Decision::new(Reason::NoOptIn),
            Effective::OptedIn | Effective::OptedOut => {}
        }
    }
    if subject.topic != 0 {
        let topic = effective(state.get(subject), now);
        // Row 9.
        if topic == Effective::OptedOut {
            return Decision::new(Reason::TopicOptedOut);
        }
        // Row 10: under restrictive a topic needs its own opt-in as well.
        if restrictive {
            match topic {
                Effective::Pending => return Decision::new(Reason::PendingConfirmation),
                Effective::Expired => return Decision::new(Reason::ConsentExpired),
                Effective::NotSet if state.voided(subject) => {
                    return Decision::new(Reason::ContactPointReassigned);
                }
                Effective::NotSet => return Decision::new(Reason::NoTopicOptIn),
                Effective::OptedIn | Effective::OptedOut => {}
            }
        }
    }
    // Rows 11 and 12.
    Decision::new(if restrictive { Reason::OptedIn } else { Reason::NotOptedOut })
}
