//! `[[moved]]` and `[[removed]]` against the state: which recorded addresses a plan renames
//! or forgets, the state as the plan sees it afterwards, and the journal entries that make it
//! so at apply time (written before any provider call, in one durable append).

use plinth_state::{JournalEntry, StateDocument};
use serde::{Deserialize, Serialize};

use crate::config::{Moved, Removed};

/// One recorded address a plan renames (`to`) or forgets (`to` absent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateMove {
    /// The recorded address.
    pub from: String,
    /// Its new address; `None`: forgotten, left in the cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The recorded addresses under `written`: the address itself, and for a block address every
/// instance `written[i]`; each with the suffix that follows the block (`""` or `"[i]"`).
fn recorded_under<'d>(
    document: &'d StateDocument,
    written: &'d str,
) -> impl Iterator<Item = (&'d String, &'d str)> + 'd {
    document.resources.keys().filter_map(move |address| {
        let rest = address.strip_prefix(written)?;
        let module = written.starts_with("module.");
        (rest.is_empty()
            || (rest.starts_with('[') && !written.ends_with(']'))
            || (module && rest.starts_with('.')))
        .then_some((address, rest))
    })
}

/// The moves and forgets the blocks ask of `document`, with notes for those that do nothing
/// (Terraform's behaviour: a move whose target is recorded already is left alone).
pub fn planned_moves(
    document: &StateDocument,
    moved: &[Moved],
    removed: &[Removed],
) -> (Vec<StateMove>, Vec<String>) {
    let mut moves = Vec::new();
    let mut notes = Vec::new();
    for m in moved {
        for (address, suffix) in recorded_under(document, &m.from) {
            let to = format!("{}{suffix}", m.to);
            if document.resources.contains_key(&to) {
                notes.push(format!(
                    "`[[moved]]` from `{address}` to `{to}` does nothing: `{to}` is recorded already (remove one of them with `plinth state rm`)"
                ));
                continue;
            }
            moves.push(StateMove {
                from: address.clone(),
                to: Some(to),
            });
        }
    }
    for r in removed {
        for (address, _) in recorded_under(document, &r.from) {
            moves.push(StateMove {
                from: address.clone(),
                to: None,
            });
        }
    }
    (moves, notes)
}

/// `document` with the moves made: records renamed (and the dependencies naming them),
/// forgotten records gone.
pub fn moved_document(document: &StateDocument, moves: &[StateMove]) -> StateDocument {
    let mut out = document.clone();
    for m in moves {
        match &m.to {
            Some(to) => {
                // Checked by `planned_moves`: the target is free.
                let _ = plinth_state::move_resource(&mut out, &m.from, to);
            }
            None => {
                out.resources.remove(&m.from);
                for record in out.resources.values_mut() {
                    record.dependencies.retain(|d| d != &m.from);
                }
            }
        }
    }
    out
}

/// The journal entries that turn `document` into [`moved_document`]: a removal per old
/// address, a record per new one and per record whose dependencies changed.
pub fn move_entries(document: &StateDocument, moves: &[StateMove]) -> Vec<JournalEntry> {
    if moves.is_empty() {
        return Vec::new();
    }
    let after = moved_document(document, moves);
    let mut entries = Vec::new();
    for address in document.resources.keys() {
        if !after.resources.contains_key(address) {
            entries.push(JournalEntry::Remove {
                address: address.clone(),
            });
        }
    }
    for (address, record) in &after.resources {
        if document.resources.get(address) != Some(record) {
            entries.push(JournalEntry::Put(Box::new(record.clone())));
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;
    use plinth_state::{ResourceRecord, ResourceStatus};

    fn origin() -> Origin {
        Origin {
            file: 0,
            span: (0, 0).into(),
        }
    }

    fn record(address: &str, depends_on: &[&str]) -> ResourceRecord {
        ResourceRecord {
            address: address.to_string(),
            type_name: address.split('.').next().unwrap().to_string(),
            id: Some(format!("id-{address}")),
            status: ResourceStatus::Ready,
            attributes: Default::default(),
            dependencies: depends_on.iter().map(|d| d.to_string()).collect(),
            pending: None,
            prevent_destroy: false,
        }
    }

    fn document(records: &[ResourceRecord]) -> StateDocument {
        let mut doc = StateDocument::new("test");
        for r in records {
            doc.resources.insert(r.address.clone(), r.clone());
        }
        doc
    }

    fn moved(from: &str, to: &str) -> Moved {
        Moved {
            from: from.into(),
            to: to.into(),
            origin: origin(),
        }
    }

    #[test]
    fn a_block_move_renames_every_instance_and_the_dependencies_naming_them() {
        let doc = document(&[
            record("sim_resource.old[0]", &[]),
            record("sim_resource.old[1]", &[]),
            record("sim_resource.older", &[]),
            record("sim_resource.app", &["sim_resource.old[1]"]),
        ]);
        let (moves, notes) =
            planned_moves(&doc, &[moved("sim_resource.old", "sim_resource.new")], &[]);
        assert!(notes.is_empty());
        assert_eq!(
            moves,
            [
                StateMove {
                    from: "sim_resource.old[0]".into(),
                    to: Some("sim_resource.new[0]".into())
                },
                StateMove {
                    from: "sim_resource.old[1]".into(),
                    to: Some("sim_resource.new[1]".into())
                },
            ]
        );
        let after = moved_document(&doc, &moves);
        assert!(after.resources.contains_key("sim_resource.new[1]"));
        assert!(
            after.resources.contains_key("sim_resource.older"),
            "not under the block"
        );
        assert_eq!(
            after.resources["sim_resource.app"].dependencies,
            ["sim_resource.new[1]"]
        );
        let entries = move_entries(&doc, &moves);
        // Two removals, two new records, one record with a new dependency.
        assert_eq!(entries.len(), 5);
    }

    #[test]
    fn a_move_onto_a_recorded_address_does_nothing_and_says_so_and_removed_forgets() {
        let doc = document(&[record("sim_resource.a", &[]), record("sim_resource.b", &[])]);
        let (moves, notes) = planned_moves(&doc, &[moved("sim_resource.a", "sim_resource.b")], &[]);
        assert!(moves.is_empty());
        assert!(notes[0].contains("does nothing"), "{notes:?}");
        let removed = Removed {
            from: "sim_resource.a".into(),
            origin: origin(),
        };
        let (moves, _) = planned_moves(&doc, &[], &[removed]);
        assert_eq!(
            moves,
            [StateMove {
                from: "sim_resource.a".into(),
                to: None
            }]
        );
        let after = moved_document(&doc, &moves);
        assert_eq!(after.resources.len(), 1);
        assert!(matches!(
            move_entries(&doc, &moves).as_slice(),
            [JournalEntry::Remove { .. }]
        ));
        // Nothing recorded there: nothing to do.
        let (moves, notes) = planned_moves(&doc, &[moved("sim_resource.x", "sim_resource.y")], &[]);
        assert!(moves.is_empty() && notes.is_empty());
    }
}
