//! The local file backend under the suite.

use std::path::PathBuf;
use std::sync::Arc;

use plinth_state::{Encryption, LocalStore, StateStore};

use crate::suite::{Backend, Suite, ENVIRONMENT};

struct Local {
    dir: tempfile::TempDir,
}

impl Local {
    fn dir_of(&self, stack: &str) -> PathBuf {
        self.dir.path().join(stack)
    }
}

#[async_trait::async_trait]
impl Backend for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn store(&self, stack: &str, codec: Arc<Encryption>) -> Box<dyn StateStore> {
        Box::new(LocalStore::new(self.dir_of(stack), ENVIRONMENT).with_encryption(codec))
    }

    async fn raw_document(&self, stack: &str) -> Option<Vec<u8>> {
        std::fs::read(LocalStore::new(self.dir_of(stack), ENVIRONMENT).state_path()).ok()
    }

    async fn raw_all(&self, stack: &str) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.dir_of(stack)).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
        }
        all
    }

    async fn overwrite_document(&self, stack: &str, bytes: &[u8]) {
        std::fs::write(
            LocalStore::new(self.dir_of(stack), ENVIRONMENT).state_path(),
            bytes,
        )
        .unwrap();
    }
}

fn backend() -> Local {
    Local {
        dir: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_plain() {
    assert_eq!(Suite::new(backend(), false).run().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_encrypted() {
    assert_eq!(Suite::new(backend(), true).run().await, 1);
}
