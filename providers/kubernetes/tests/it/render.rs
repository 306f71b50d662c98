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

/// The README's MITA example is the stack the lead copies: it must parse and render.
#[test]
fn readme_mita_example_renders() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("```toml\n[k8s_namespace.mita]")
        .expect("the MITA example")
        + "```toml\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let stack: toml::Table = toml::from_str(block).unwrap();
    let release: serde_json::Value =
        serde_json::to_value(&stack["app_release"]["backend"]).unwrap();
    let attributes = plinth_provider::object_from_json(release.as_object().unwrap());
    let objects = render_release(&attributes).unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Ingress",
        "NetworkPolicy",
        "CronJob",
        "Job",
        "Secret",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert!(deployment["spec"].get("replicas").is_none());
    assert_eq!(
        objects.iter().filter(|o| o["kind"] == "Job").count(),
        2,
        "migration and seed-data"
    );
}
