//! render_release output: YAML documents with apiVersion/kind.

use plinth_kubernetes::{render_release, render_release_yaml};

use crate::release::mita;

#[test]
fn yaml_render_parses_into_documents_with_api_version_and_kind() {
    let yaml = render_release_yaml(&mita("v1.0.0")).unwrap();
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(
        documents.len(),
        render_release(&mita("v1.0.0")).unwrap().len()
    );
    for document in &documents {
        assert!(
            document["apiVersion"].is_string() && document["kind"].is_string(),
            "{document}"
        );
    }
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"ServiceAccount"));
    assert!(kinds.iter().position(|k| *k == "Job") < kinds.iter().position(|k| *k == "Deployment"));
    assert!(
        !yaml.contains("JWT_SECRET-value") && !yaml.contains("SldUX1NFQ1JFVC12YWx1ZQ"),
        "secrets masked"
    );
}
