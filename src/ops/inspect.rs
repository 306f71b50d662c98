//! Read-only commands: `validate`, `graph`, `show`, `output`, `force-unlock`.

use std::fmt::Write as _;

use miette::{miette, IntoDiagnostic, Result};
use plinth_provider::Value;
use plinth_state::{format_unix, StateDocument};

use super::workspace::Workspace;

/// One line describing a valid stack.
pub fn validate_summary(workspace: &Workspace) -> String {
    let stack = &workspace.stack;
    let providers = workspace
        .registry
        .provider_names(stack.resources.iter().map(|r| r.address.type_name.as_str()));
    format!(
        "The stack `{}` is valid for environment `{}`: {} resources, {} dependencies, providers: {}.",
        stack.name,
        stack.environment,
        stack.resources.len(),
        stack.resources.iter().map(|r| workspace.graph.dependencies(&r.address.to_string()).len()).sum::<usize>(),
        if providers.is_empty() { "none".to_string() } else { providers.join(", ") }
    )
}

/// The state as text (`plinth show`), or one resource when `address` is given.
pub fn show_state(document: Option<&StateDocument>, address: Option<&str>) -> Result<String> {
    let Some(document) = document else {
        return Ok("No state: nothing has been applied to this environment yet.\n".to_string());
    };
    let mut out = String::new();
    if address.is_none() {
        let _ = writeln!(
            out,
            "State lineage {} serial {} ({} resources, written by Plinth {})",
            document.lineage,
            document.serial,
            document.resources.len(),
            document.plinth_version
        );
    }
    let mut found = false;
    for (addr, record) in &document.resources {
        if address.is_some_and(|a| a != addr) {
            continue;
        }
        found = true;
        let _ = writeln!(
            out,
            "\n# {addr} ({:?}) id={}",
            record.status,
            record.id.as_deref().unwrap_or("(none)")
        );
        if let Some(intent) = &record.pending {
            let _ = writeln!(
                out,
                "#   interrupted {} started {}",
                intent.operation,
                format_unix(intent.started)
            );
        }
        for (name, value) in &record.attributes {
            let _ = writeln!(out, "    {name} = {}", Value::from_json(value));
        }
    }
    if let (Some(address), false) = (address, found) {
        return Err(miette!("no resource `{address}` in the state"));
    }
    Ok(out)
}

/// Outputs (`plinth output [NAME]`); sensitive ones masked unless `raw` names one.
pub fn outputs(document: Option<&StateDocument>, name: Option<&str>, json: bool) -> Result<String> {
    let outputs = document.map(|d| d.outputs.clone()).unwrap_or_default();
    if let Some(name) = name {
        let value = outputs
            .get(name)
            .ok_or_else(|| miette!("no output `{name}` (run apply first?)"))?;
        let value = Value::from_json(value);
        return Ok(if json {
            format!("{}\n", masked_json(&value))
        } else {
            match &value {
                Value::String(s) => format!("{s}\n"),
                other => format!("{other}\n"),
            }
        });
    }
    if json {
        let map: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|(k, v)| (k.clone(), masked_json(&Value::from_json(v))))
            .collect();
        return serde_json::to_string_pretty(&map)
            .map(|s| s + "\n")
            .into_diagnostic();
    }
    Ok(outputs
        .iter()
        .map(|(k, v)| format!("{k} = {}\n", Value::from_json(v)))
        .collect())
}

fn masked_json(value: &Value) -> serde_json::Value {
    if value.has_sensitive() {
        serde_json::Value::String("(sensitive)".into())
    } else {
        value.to_plain_json()
    }
}

/// Removes a lock by id.
pub async fn force_unlock(workspace: &Workspace, id: &str) -> Result<String> {
    let locks = workspace.store.locks().await.into_diagnostic()?;
    let lock = locks.iter().find(|l| l.id == id);
    workspace
        .store
        .force_unlock(id)
        .await
        .map_err(|e| miette!(help = "`plinth lock list` shows the current lock", "{e}"))?;
    Ok(match lock {
        Some(lock) => format!("Removed {}.\n", lock.describe()),
        None => format!("Removed lock {id}.\n"),
    })
}
