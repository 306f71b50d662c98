//! Shared emulators for the team-state tests: one moto server and one PostgreSQL cluster,
//! shared by the tests that run at the same time (each test uses its own bucket or tables) and
//! stopped when the last of them finishes.

use std::sync::{Arc, Mutex, Weak};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use plinth_testkit::moto::MotoServer;
use plinth_testkit::postgres::Postgres;

use crate::support::Fixture;

/// The running server while any test holds it; started again by the next test otherwise.
fn shared<T>(slot: &'static Mutex<Weak<T>>, start: fn() -> T) -> Arc<T> {
    let mut weak = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = weak.upgrade() {
        return server;
    }
    let server = Arc::new(start());
    *weak = Arc::downgrade(&server);
    server
}

/// A state backend in the emulators, for one test.
pub enum Backend {
    /// A bucket of its own on the shared moto server.
    S3 {
        moto: Arc<MotoServer>,
        bucket: String,
    },
    /// Tables of their own in the shared PostgreSQL cluster.
    Postgres {
        cluster: Arc<Postgres>,
        table: String,
    },
}

impl Backend {
    /// An S3 backend with bucket `bucket`; the bucket is created when `create_bucket`.
    pub fn s3(bucket: &str, create_bucket: bool) -> Backend {
        static MOTO: Mutex<Weak<MotoServer>> = Mutex::new(Weak::new());
        let backend = Backend::S3 {
            moto: shared(&MOTO, MotoServer::start),
            bucket: bucket.to_string(),
        };
        if create_bucket {
            let client = backend.s3_client();
            runtime()
                .block_on(client.create_bucket().bucket(bucket).send())
                .expect("create the test bucket");
        }
        backend
    }

    /// A PostgreSQL backend with tables named after `name`.
    pub fn postgres(name: &str) -> Backend {
        static POSTGRES: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
        Backend::Postgres {
            cluster: shared(&POSTGRES, Postgres::start),
            table: name.to_string(),
        }
    }

    /// The `[backend]` table to append to a stack.
    pub fn toml(&self, encrypt: bool) -> String {
        let mut text = match self {
            Backend::S3 { moto, bucket } => format!(
                "\n[backend]\nkind = \"s3\"\nbucket = \"{bucket}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n",
                moto.endpoint()
            ),
            Backend::Postgres { cluster, table } => format!(
                "\n[backend]\nkind = \"postgres\"\nurl = \"{}\"\ntable = \"{table}_state\"\nlock_table = \"{table}_locks\"\n",
                cluster.url()
            ),
        };
        if encrypt {
            text.push_str("encrypt = true\n");
        }
        text
    }

    /// Appends the `[backend]` table to the fixture's stack.
    pub fn configure(&self, fixture: &Fixture, encrypt: bool) {
        let path = fixture.path().join("stack.toml");
        let mut text = std::fs::read_to_string(&path).expect("read stack");
        text.push_str(&self.toml(encrypt));
        std::fs::write(&path, text).expect("write stack");
    }

    /// A raw S3 client on the moto server (panics for PostgreSQL).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        let Backend::S3 { moto, .. } = self else {
            panic!("not an S3 backend");
        };
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(moto.endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Every byte stored for the state: all objects of the bucket, or every row of the tables.
    pub fn raw_bytes(&self) -> Vec<u8> {
        match self {
            Backend::S3 { bucket, .. } => {
                let client = self.s3_client();
                runtime().block_on(async {
                    let listed = client
                        .list_objects_v2()
                        .bucket(bucket)
                        .send()
                        .await
                        .expect("list objects");
                    let mut all = Vec::new();
                    for object in listed.contents() {
                        let key = object.key().expect("key");
                        let body = client
                            .get_object()
                            .bucket(bucket)
                            .key(key)
                            .send()
                            .await
                            .expect("get object")
                            .body
                            .collect()
                            .await
                            .expect("read object");
                        all.extend_from_slice(&body.into_bytes());
                        all.push(b'\n');
                    }
                    all
                })
            }
            Backend::Postgres { cluster, table } => {
                let sql = format!(
                    "SELECT encode(document, 'hex') FROM {table}_state \
                     UNION ALL SELECT encode(entries, 'hex') FROM {table}_state_journal \
                     UNION ALL SELECT encode(convert_to(info, 'UTF8'), 'hex') FROM {table}_locks"
                );
                let out = self.psql(cluster, &sql);
                out.lines()
                    .flat_map(|line| hex::decode(line.trim()).expect("hex from psql"))
                    .collect()
            }
        }
    }

    /// Runs one SQL statement with `psql`; its unaligned output.
    fn psql(&self, cluster: &Postgres, sql: &str) -> String {
        let output = std::process::Command::new(cluster.psql())
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(cluster.url())
            .arg("-c")
            .arg(sql)
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }
}

/// A runtime for the raw clients.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Environment for `plinth` processes using the emulators.
pub fn environment() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_REGION", "us-east-1"),
        ("PLINTH_TEST_CANARY", CANARY),
        ("PLINTH_STATE_PASSPHRASE", "correct horse battery staple"),
    ]
}

/// The value of the `token` secret in the `team` fixture: must never be stored in plaintext.
pub const CANARY: &str = "canary-7f3a9c1e5d";

/// Text with miette's frame drawn away and whitespace collapsed, so that a message wrapped
/// across lines still matches.
pub fn flat(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "│×╰╭─▶├┬┴·".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces every occurrence of `from` in the fixture's `stack.toml`.
pub fn edit_all(fixture: &Fixture, from: &str, to: &str) {
    let path = fixture.path().join("stack.toml");
    let text = std::fs::read_to_string(&path).expect("read stack");
    assert!(text.contains(from), "the stack does not contain {from:?}");
    std::fs::write(&path, text.replace(from, to)).expect("write stack");
}
