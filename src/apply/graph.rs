//! The execution graph: a plan compiled into operations (apply, delete, delete of a deposed
//! object, record-only) with the ordering constraints between them. Creates and updates follow
//! their dependencies, deletes run in reverse dependency order, a delete-then-create
//! replacement deletes first, and a create-before-destroy replacement deletes the deposed
//! object only after its dependents moved to the successor.

use foldhash::{HashMap, HashMapExt};

use crate::plan::{Action, ActionReason, Plan, ReplaceOrder};

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Create, update, or the create half of a replacement.
    Apply,
    /// Delete (or the delete half of a delete-then-create replacement).
    Delete,
    /// Delete the old object after its successor exists (create-before-destroy).
    DeleteDeposed,
    /// No provider call: record refreshed attributes or forget a vanished resource.
    Record,
}

/// One operation of the execution graph.
pub(crate) struct Op {
    pub(crate) kind: OpKind,
    pub(crate) change: usize,
    pub(crate) waiting_for: usize,
    pub(crate) dependents: Vec<usize>,
}

/// For each operation, the number of operations on the longest chain that starts with it
/// (1 for one nothing waits for). Computed in reverse topological order, without recursion.
pub(crate) fn chain_lengths(ops: &[Op]) -> Vec<usize> {
    let mut waiting: Vec<usize> = ops.iter().map(|o| o.waiting_for).collect();
    let mut order: Vec<usize> = (0..ops.len()).filter(|&i| waiting[i] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        for &dependent in &ops[order[next]].dependents {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                order.push(dependent);
            }
        }
        next += 1;
    }
    let mut chain = vec![1; ops.len()];
    for &i in order.iter().rev() {
        chain[i] = 1 + ops[i]
            .dependents
            .iter()
            .map(|&d| chain[d])
            .max()
            .unwrap_or(0);
    }
    chain
}

/// Compiles a plan into operations with their ordering constraints.
pub(crate) fn compile(plan: &Plan) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut apply_op: HashMap<&str, usize> = HashMap::new();
    let mut delete_op: HashMap<&str, usize> = HashMap::new();
    // Every delete of an object deposed at an address: of a create-before-destroy
    // replacement planned now, or of one a previous apply left behind.
    let mut deposed_ops: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut left_behind: Vec<(usize, usize)> = Vec::new(); // (op, change)
    let push = |ops: &mut Vec<Op>, kind, change| {
        ops.push(Op {
            kind,
            change,
            waiting_for: 0,
            dependents: Vec::new(),
        });
        ops.len() - 1
    };
    for (index, change) in plan.changes.iter().enumerate() {
        if change.blocked.is_some() {
            continue;
        }
        let address = change.address.as_str();
        match change.action {
            Action::NoOp => {
                let forget = change.reason_code == Some(ActionReason::ForgetGone);
                if change.prior.as_ref().is_some_and(|p| p.refreshed) || forget {
                    push(&mut ops, OpKind::Record, index);
                }
            }
            Action::Delete if change.deposed.is_some() => {
                let op = push(&mut ops, OpKind::DeleteDeposed, index);
                deposed_ops.entry(address).or_default().push(op);
                left_behind.push((op, index));
            }
            Action::Create | Action::Update => {
                apply_op.insert(address, push(&mut ops, OpKind::Apply, index));
            }
            Action::Delete => {
                delete_op.insert(address, push(&mut ops, OpKind::Delete, index));
            }
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            } => {
                apply_op.insert(address, push(&mut ops, OpKind::Apply, index));
                let op = push(&mut ops, OpKind::DeleteDeposed, index);
                deposed_ops.entry(address).or_default().push(op);
            }
            Action::Replace {
                order: ReplaceOrder::DeleteThenCreate,
            } => {
                delete_op.insert(address, push(&mut ops, OpKind::Delete, index));
                apply_op.insert(address, push(&mut ops, OpKind::Apply, index));
            }
        }
    }
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (before, after)
    for change in &plan.changes {
        let address = change.address.as_str();
        for dependency in &change.dependencies {
            let dependency = dependency.as_str();
            // Creates and updates after those of what they depend on.
            if let (Some(&before), Some(&after)) = (apply_op.get(dependency), apply_op.get(address))
            {
                edges.push((before, after));
            }
            // Deletes in reverse dependency order.
            if let (Some(&before), Some(&after)) =
                (delete_op.get(address), delete_op.get(dependency))
            {
                edges.push((before, after));
            }
            // A deposed object goes only after its dependents moved to the successor.
            if let (Some(&before), Some(deposed)) =
                (apply_op.get(address), deposed_ops.get(dependency))
            {
                edges.extend(deposed.iter().map(|&after| (before, after)));
            }
        }
        if let (Some(&before), Some(&after)) = (delete_op.get(address), apply_op.get(address)) {
            edges.push((before, after));
        }
        if let (Some(&before), Some(deposed)) = (apply_op.get(address), deposed_ops.get(address)) {
            edges.extend(deposed.iter().map(|&after| (before, after)));
        }
    }
    // A deposed object left by an earlier apply goes before what it depended on is deleted.
    for (op, index) in left_behind {
        for dependency in &plan.changes[index].dependencies {
            if let Some(&after) = delete_op.get(dependency.as_str()) {
                edges.push((op, after));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for (before, after) in edges {
        ops[before].dependents.push(after);
        ops[after].waiting_for += 1;
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PriorRecord, ResourceChange};

    fn change(address: &str, action: Action, deps: &[&str]) -> ResourceChange {
        ResourceChange {
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            prior: (action != Action::Create).then(|| PriorRecord {
                id: "x".into(),
                attributes: Default::default(),
                refreshed: false,
            }),
            ..ResourceChange::new(address, "sim_resource", "sim", action)
        }
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            changes,
            ..Plan::new("s", "e")
        }
    }

    #[test]
    fn creates_follow_dependencies_and_deletes_reverse_them() {
        let p = plan(vec![
            change("a.db", Action::Create, &[]),
            change("a.app", Action::Create, &["a.db"]),
            change("a.old_db", Action::Delete, &[]),
            change("a.old_app", Action::Delete, &["a.old_db"]),
        ]);
        let ops = compile(&p);
        // db before app
        assert_eq!(ops[0].dependents, vec![1]);
        assert_eq!(ops[1].waiting_for, 1);
        // old_app deleted before old_db
        assert_eq!(ops[3].dependents, vec![2]);
        assert_eq!(ops[2].waiting_for, 1);
    }

    #[test]
    fn chains_count_the_operations_waiting_behind() {
        let p = plan(vec![
            change("a.db", Action::Create, &[]),
            change("a.app", Action::Create, &["a.db"]),
            change("a.web", Action::Create, &["a.app"]),
            change("a.bucket", Action::Create, &[]),
        ]);
        let ops = compile(&p);
        assert_eq!(chain_lengths(&ops), vec![3, 2, 1, 1]);
    }

    #[test]
    fn delete_then_create_orders_the_halves() {
        let p = plan(vec![change("a.db", Action::REPLACE, &[])]);
        let ops = compile(&p);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].kind, OpKind::Delete);
        assert_eq!(ops[0].dependents, vec![1]);
    }

    #[test]
    fn create_before_destroy_deletes_after_dependents_moved() {
        let db = change("a.db", Action::REPLACE_CBD, &[]);
        let p = plan(vec![db, change("a.app", Action::Update, &["a.db"])]);
        let ops = compile(&p);
        let deposed = ops
            .iter()
            .position(|o| o.kind == OpKind::DeleteDeposed)
            .unwrap();
        assert_eq!(ops[deposed].waiting_for, 2);
    }

    #[test]
    fn a_deposed_object_goes_after_its_successor_and_dependents_and_before_its_dependencies() {
        let mut old = change("a.lb", Action::Delete, &["a.net"]);
        old.deposed = Some("k1".into());
        let p = plan(vec![
            change("a.lb", Action::Create, &[]),
            old,
            change("a.app", Action::Update, &["a.lb"]),
            change("a.net", Action::Delete, &[]),
        ]);
        let ops = compile(&p);
        assert_eq!(ops[1].kind, OpKind::DeleteDeposed);
        // After the successor's create and the dependent's update.
        assert_eq!(ops[1].waiting_for, 2);
        assert!(ops[0].dependents.contains(&1) && ops[2].dependents.contains(&1));
        // Before the delete of what it depended on.
        assert_eq!(ops[1].dependents, vec![3]);
    }
}
