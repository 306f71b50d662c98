//! Looking at and meddling with the simulated cloud from tests, behind Plinth's back.
//!
//! These functions touch the cloud directory directly (no API call, nothing counted), so a
//! crash test can compare the cloud with the state and a plan test can create drift.

use std::path::Path;

use plinth_provider::Value;

use crate::error::SimError;
use crate::sim::cloud::Cloud;

/// Every resource in the cloud as `(id, name, creation token)`, sorted by name then id.
/// A crash test checks "no orphans, no duplicates" with it.
/// A directory that holds no cloud yet holds no resources (and is left untouched).
pub fn list_cloud(cloud_dir: &Path) -> Result<Vec<(String, String, String)>, SimError> {
    if !cloud_dir.join("resources").is_dir() {
        return Ok(Vec::new());
    }
    let cloud = Cloud::open(cloud_dir, false)?;
    Ok(cloud
        .list()?
        .into_iter()
        .map(|r| (r.id.clone(), r.name().to_string(), r.token))
        .collect())
}

/// Sets one attribute of the live resource named `name` (any attribute, computed ones too),
/// as someone editing it in a console would. `Value::Null` removes the attribute.
pub fn tamper(
    cloud_dir: &Path,
    name: &str,
    attribute: &str,
    value: impl Into<Value>,
) -> Result<(), SimError> {
    let json = value.into().reveal().to_plain_json();
    let cloud = existing(cloud_dir, name)?;
    cloud.locked(|cloud| {
        let mut record = cloud
            .by_name(name)?
            .ok_or_else(|| SimError::NoSuchName(name.to_string()))?;
        if json.is_null() {
            record.attributes.remove(attribute);
        } else {
            record.attributes.insert(attribute.to_string(), json);
        }
        cloud.put(&record)
    })
}

/// Deletes the live resource named `name` without Plinth knowing.
pub fn delete_behind_back(cloud_dir: &Path, name: &str) -> Result<(), SimError> {
    let cloud = existing(cloud_dir, name)?;
    cloud.locked(|cloud| {
        let record = cloud
            .by_name(name)?
            .ok_or_else(|| SimError::NoSuchName(name.to_string()))?;
        cloud.remove(&record.id).map(|_| ())
    })
}

/// Opens a cloud that must already exist: meddling with a missing one names no resource.
fn existing(cloud_dir: &Path, name: &str) -> Result<Cloud, SimError> {
    if !cloud_dir.join("resources").is_dir() {
        return Err(SimError::NoSuchName(name.to_string()));
    }
    Cloud::open(cloud_dir, false)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value as Json};

    use super::*;
    use crate::sim::cloud::StoredResource;

    #[test]
    fn tamper_and_delete_find_resources_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Cloud::open(dir.path(), false).unwrap();
        let mut attributes = Map::new();
        attributes.insert("name".into(), Json::from("a"));
        attributes.insert("size".into(), Json::from(1));
        let record = StoredResource {
            id: "sim-1".into(),
            token: "t1".into(),
            attributes,
        };
        cloud.locked(|c| c.insert(&record)).unwrap();

        tamper(dir.path(), "a", "size", 5).unwrap();
        tamper(dir.path(), "a", "owner", "ops").unwrap();
        let live = cloud.get("sim-1").unwrap().unwrap();
        assert_eq!(live.attributes["size"], Json::from(5));
        assert_eq!(live.attributes["owner"], Json::from("ops"));
        tamper(dir.path(), "a", "owner", Value::Null).unwrap();
        assert!(!cloud
            .get("sim-1")
            .unwrap()
            .unwrap()
            .attributes
            .contains_key("owner"));

        assert_eq!(
            list_cloud(dir.path()).unwrap(),
            vec![("sim-1".into(), "a".into(), "t1".into())]
        );
        delete_behind_back(dir.path(), "a").unwrap();
        assert!(list_cloud(dir.path()).unwrap().is_empty());
        assert!(
            matches!(delete_behind_back(dir.path(), "a"), Err(SimError::NoSuchName(n)) if n == "a")
        );
        assert!(matches!(
            tamper(dir.path(), "b", "size", 1),
            Err(SimError::NoSuchName(_))
        ));
    }

    #[test]
    fn a_missing_cloud_is_empty_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("never-configured");
        assert!(list_cloud(&missing).unwrap().is_empty());
        assert!(matches!(
            tamper(&missing, "a", "size", 1),
            Err(SimError::NoSuchName(_))
        ));
        assert!(matches!(
            delete_behind_back(&missing, "a"),
            Err(SimError::NoSuchName(_))
        ));
        assert!(!missing.exists());
    }
}
