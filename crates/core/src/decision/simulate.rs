//! Policy simulation: every decision a proposed catalog change would alter, before it is made.
//!
//! A [`Scenario`] compares two catalogs for one profile and keeps the *groups* whose answer
//! differs: a channel, a purpose and (or not) one of its topics, with the enforcement model
//! before and after, or, after, a refusal (the purpose, topic or profile would be
//! deactivated). [`Scenario::tally`] then decides one contact point's state in every group of
//! its channel under both, with the same [`decide`] that answers sends, and counts each pair
//! of reasons in a [`Tally`]. Which contact points belong to the profile, and where their
//! states come from, is the caller's (the store scans its hot index).

use std::ops::Range;

use super::catalog::Catalog;
use super::engine::{Reason, decide};
use super::model::{Channel, ContactState, EnforcementModel, PurposeNo, Subject, UnixSeconds};

/// Columns of a group's transition table: every reason, then "refused".
pub const AFTER_COLUMNS: usize = Reason::ALL.len() + 1;
/// The column of a request the proposed catalog would refuse.
pub const REFUSED: usize = Reason::ALL.len();
/// Cells of one group: before (a reason) x after (a reason or refused).
pub const CELLS_PER_GROUP: usize = Reason::ALL.len() * AFTER_COLUMNS;

/// Sends of one kind whose answer the change alters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub channel: Channel,
    pub purpose_id: String,
    /// Empty: sends for the purpose without a topic.
    pub topic_id: String,
    pub subject: Subject,
    pub before: EnforcementModel,
    /// `Err`: why the proposed catalog refuses every such request.
    pub after: Result<EnforcementModel, String>,
}

/// The groups of one profile whose answer a catalog change alters.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    groups: Vec<Group>,
    /// The groups of each channel: a range of `groups` (they are built channel by channel).
    by_channel: [Range<usize>; Channel::COUNT],
    /// The profile's purpose numbers (active or not), one bit each: the profile of an
    /// entry with records is the profile of any of them.
    purposes: Vec<u64>,
}

impl Scenario {
    /// Compares `current` with `proposed` for `profile`. Sends the current catalog already
    /// refuses are left out: no change of settings reactivates anything.
    pub fn new(current: &Catalog, proposed: &Catalog, profile: &str) -> Scenario {
        let mut groups = Vec::new();
        let mut by_channel: [Range<usize>; Channel::COUNT] = Default::default();
        for channel in Channel::ALL {
            let start = groups.len();
            for purpose in current.purposes_of(profile) {
                let topics = std::iter::once("").chain(current.topics_of(profile, &purpose.id).map(|t| t.id.as_str()));
                for topic in topics {
                    let Ok(now) = current.resolve(profile, &purpose.id, topic) else { continue };
                    let before = now.purpose.model(channel);
                    let after = proposed
                        .resolve(profile, &purpose.id, topic)
                        .map(|r| r.purpose.model(channel))
                        .map_err(|e| e.to_string());
                    if after.as_ref() != Ok(&before) {
                        groups.push(Group {
                            channel,
                            purpose_id: purpose.id.clone(),
                            topic_id: topic.to_owned(),
                            subject: now.subject(),
                            before,
                            after,
                        });
                    }
                }
            }
            by_channel[channel.index()] = start..groups.len();
        }
        let mut purposes = vec![0u64; usize::from(Subject::PURPOSE_NO_MAX) / 64 + 1];
        for purpose in current.purposes_of(profile) {
            let no = usize::from(purpose.no & Subject::PURPOSE_NO_MAX);
            purposes[no / 64] |= 1 << (no % 64);
        }
        Scenario { groups, by_channel, purposes }
    }

    /// Every group, channel by channel; a group's position here is its number in a [`Tally`].
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Whether the change alters no answer at all.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Whether any group is on `channel`: the only contact points worth deciding.
    #[inline]
    pub fn covers(&self, channel: Channel) -> bool {
        !self.by_channel[channel.index()].is_empty()
    }

    /// Whether `purpose` is one of the profile's.
    #[inline]
    pub fn owns_purpose(&self, purpose: PurposeNo) -> bool {
        let no = usize::from(purpose & Subject::PURPOSE_NO_MAX);
        self.purposes[no / 64] & (1 << (no % 64)) != 0
    }

    /// Whether `state` belongs to the profile, as far as its records tell: `None` for a
    /// state without records (suppressions alone name no purpose).
    #[inline]
    pub fn owns(&self, state: &ContactState) -> Option<bool> {
        state.first_subject().map(|s| self.owns_purpose(s.purpose))
    }

    /// Decides `state`, a contact point of the profile on `channel`, in every group of the
    /// channel before and after, counts it in `tally`, and tells `changed` the cell of
    /// [`Tally::cells`] of each group whose reason changes.
    #[inline]
    pub fn tally(
        &self,
        channel: Channel,
        state: &ContactState,
        now: UnixSeconds,
        tally: &mut Tally,
        mut changed: impl FnMut(usize),
    ) {
        tally.population[channel.index()] += 1;
        let range = self.by_channel[channel.index()].clone();
        for (g, group) in self.groups[range.clone()].iter().enumerate() {
            let before = decide(group.before, Some(state), group.subject, now).reason;
            let after = group.after.as_ref().ok().map(|model| decide(*model, Some(state), group.subject, now).reason);
            let cell = Tally::cell(range.start + g, before, after);
            tally.cells[cell] += 1;
            if after != Some(before) {
                changed(cell);
            }
        }
    }

    /// An empty tally for this scenario.
    pub fn new_tally(&self) -> Tally {
        Tally { population: [0; Channel::COUNT], cells: vec![0; self.groups.len() * CELLS_PER_GROUP] }
    }
}

/// Counts of a scenario: contact points per channel, and per group how many went from each
/// reason to each reason (or refusal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub population: [u64; Channel::COUNT],
    /// Group-major: group `g`, before `b`, after `a` is `g * CELLS_PER_GROUP + b *
    /// AFTER_COLUMNS + a` ([`Tally::cell`]).
    pub cells: Vec<u64>,
}

impl Tally {
    /// The position of (group, before, after) in [`Tally::cells`]; `after` `None` is refused.
    pub fn cell(group: usize, before: Reason, after: Option<Reason>) -> usize {
        group * CELLS_PER_GROUP + before.index() * AFTER_COLUMNS + after.map_or(REFUSED, Reason::index)
    }

    /// (group, before, after) of a cell; after `None` is refused.
    pub fn parts(cell: usize) -> (usize, Reason, Option<Reason>) {
        let (group, rest) = (cell / CELLS_PER_GROUP, cell % CELLS_PER_GROUP);
        let (before, after) = (rest / AFTER_COLUMNS, rest % AFTER_COLUMNS);
        (group, Reason::ALL[before], Reason::ALL.get(after).copied())
    }

    /// Whether a cell counts a change of reason (or a refusal).
    pub fn is_change(cell: usize) -> bool {
        let (_, before, after) = Tally::parts(cell);
        after != Some(before)
    }

    /// The cells of group `group`.
    pub fn cells_of(group: usize) -> Range<usize> {
        group * CELLS_PER_GROUP..(group + 1) * CELLS_PER_GROUP
    }

    /// Adds another tally of the same scenario (one per scanning thread).
    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.population.iter_mut().zip(other.population) {
            *a += b;
        }
        for (a, b) in self.cells.iter_mut().zip(&other.cells) {
            *a += b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Profile, Purpose, PurposeKind, Record, Status, Suppressions, Topic};

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.insert_profile(Profile::new("acme"));
        c.insert_profile(Profile::new("other"));
        c.insert_purpose(Purpose::new("acme", "news", PurposeKind::Commercial, 1));
        c.insert_purpose(Purpose::new("acme", "orders", PurposeKind::Transactional, 2));
        c.insert_purpose(Purpose::new("other", "news", PurposeKind::Commercial, 3));
        c.insert_topic(Topic {
            profile_id: "acme".into(),
            purpose_id: "news".into(),
            id: "events".into(),
            display_name: String::new(),
            active: true,
            no: 1,
            created_at: 0,
            updated_at: 0,
        });
        c
    }

    fn state(records: &[(Subject, Status)]) -> ContactState {
        ContactState::new(
            Suppressions::NONE,
            records.iter().map(|(s, st)| (*s, Record { status: *st, expires_at: None })),
        )
    }

    #[test]
    fn only_groups_whose_answer_changes_are_kept() {
        let current = catalog();
        assert!(Scenario::new(&current, &current, "acme").is_empty());
        let mut proposed = current.clone();
        let mut news = current.purpose("acme", "news").cloned().expect("news");
        news.models[Channel::Email.index()] = EnforcementModel::NonRestrictive;
        proposed.insert_purpose(news);
        let s = Scenario::new(&current, &proposed, "acme");
        let names: Vec<_> =
            s.groups().iter().map(|g| (g.channel, g.purpose_id.as_str(), g.topic_id.as_str())).collect();
        assert_eq!(names, [(Channel::Email, "news", ""), (Channel::Email, "news", "events")]);
        assert!(s.covers(Channel::Email) && !s.covers(Channel::Sms));
        assert!(s.owns_purpose(1) && s.owns_purpose(2) && !s.owns_purpose(3));
    }

    #[test]
    fn a_deactivation_refuses_every_channel_of_what_it_deactivates() {
        let current = catalog();
        let mut proposed = current.clone();
        let mut events = current.topic("acme", "news", "events").cloned().expect("topic");
        events.active = false;
        proposed.insert_topic(events);
        let s = Scenario::new(&current, &proposed, "acme");
        assert_eq!(s.groups().len(), Channel::COUNT);
        assert!(s.groups().iter().all(|g| g.topic_id == "events" && g.after.is_err()));
    }

    #[test]
    fn each_contact_point_is_counted_in_the_cell_of_its_two_reasons() {
        let current = catalog();
        let mut proposed = current.clone();
        let mut news = current.purpose("acme", "news").cloned().expect("news");
        news.models[Channel::Email.index()] = EnforcementModel::NonRestrictive;
        proposed.insert_purpose(news);
        let s = Scenario::new(&current, &proposed, "acme");
        let mut tally = s.new_tally();
        let mut changes = Vec::new();
        let opted_in =
            state(&[(Subject::purpose(1), Status::OptedIn), (Subject { purpose: 1, topic: 1 }, Status::OptedIn)]);
        let only_orders = state(&[(Subject::purpose(2), Status::OptedIn)]);
        for st in [&opted_in, &only_orders] {
            s.tally(Channel::Email, st, 0, &mut tally, |cell| changes.push(cell));
        }
        assert_eq!(tally.population[Channel::Email.index()], 2);
        // Opted in: OPTED_IN -> NOT_OPTED_OUT in both groups.
        assert_eq!(tally.cells[Tally::cell(0, Reason::OptedIn, Some(Reason::NotOptedOut))], 1);
        assert_eq!(tally.cells[Tally::cell(1, Reason::OptedIn, Some(Reason::NotOptedOut))], 1);
        // Nothing for news: NO_OPT_IN -> NOT_OPTED_OUT.
        assert_eq!(tally.cells[Tally::cell(0, Reason::NoOptIn, Some(Reason::NotOptedOut))], 1);
        assert_eq!(changes.len(), 4);
        assert!(changes.iter().all(|c| Tally::is_change(*c)));
        assert_eq!(Tally::parts(Tally::cell(1, Reason::NoOptIn, None)), (1, Reason::NoOptIn, None));
        assert_eq!(s.owns(&only_orders), Some(true));
        assert_eq!(
            s.owns(&ContactState::new(Suppressions::NONE.with(crate::decision::SuppressionKind::Manual), [])),
            None
        );
    }
}
