//! A throwaway PostgreSQL cluster: `initdb` into a temp dir, `pg_ctl start` on 127.0.0.1
//! and a free port, stopped (immediate mode) and deleted on drop.
//!
//! initdb refuses to run as root, so as root the cluster is created and run as the
//! `postgres` system user (through `runuser`, or `su` where that is missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::{free_port, wait_for_port};

/// A running throwaway cluster with trust authentication for user `postgres`.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    /// The port it listens on (127.0.0.1 only).
    pub port: u16,
    as_root: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
fn find_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `scripts/test-deps.sh`"
        ),
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

impl Postgres {
    /// Creates and starts a cluster; panics with the server's log when it cannot.
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// Like [`Postgres::start`], with TLS on: a throwaway CA signs a certificate for
    /// `127.0.0.1` (see [`Postgres::ca_file`]). Needs the `openssl` program.
    pub fn start_tls() -> Postgres {
        Postgres::start_with(true)
    }

    /// The CA certificate of a [`Postgres::start_tls`] cluster (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self._dir.path().join("tls/ca.crt")
    }

    fn start_with(tls: bool) -> Postgres {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("plinth-pg-")
            .tempdir()
            .expect("a temp dir for PostgreSQL");
        let data = dir.path().join("data");
        let as_root = running_as_root();
        if as_root {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status();
            assert!(
                status.map(|s| s.success()).unwrap_or(false),
                "cannot hand {} to the `postgres` user (does it exist? run `scripts/test-deps.sh`)",
                dir.path().display()
            );
        }
        let port = free_port();
        let mut cluster = Postgres {
            bin,
            data,
            _dir: dir,
            port,
            as_root,
        };
        let initdb = cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data_str(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        assert!(
            initdb.status.success(),
            "initdb failed:\n{}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            cluster.data_str()
        );
        if tls {
            let dir = cluster.make_certificates();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                dir.display()
            ));
        }
        let log = cluster.data.join("server.log");
        let started = cluster.run(
            "pg_ctl",
            &[
                "-D",
                &cluster.data_str(),
                "-l",
                &log.display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        if !started.status.success() || !wait_for_port(port, Duration::from_secs(30)) {
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            cluster.port = 0;
            panic!(
                "PostgreSQL did not start on port {port}:\n{}\n{server_log}",
                String::from_utf8_lossy(&started.stderr)
            );
        }
        cluster
    }

    /// A CA and a server certificate for 127.0.0.1 under `<tmp>/tls`, readable by the server.
    fn make_certificates(&self) -> PathBuf {
        let dir = self._dir.path().join("tls");
        std::fs::create_dir_all(&dir).expect("a directory for certificates");
        let script = "set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
              -subj /CN=plinth-test-ca -keyout ca.key -out ca.crt \
              -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
              -keyout server.key -out server.csr
            printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
              -extfile ext -out server.crt
            chmod 600 server.key";
        let made = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .output();
        match made {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "making test certificates failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) => panic!("running openssl to make test certificates: {e}"),
        }
        if self.as_root {
            let owned = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&dir)
                .status();
            assert!(
                owned.map(|s| s.success()).unwrap_or(false),
                "cannot hand the certificates to `postgres`"
            );
        }
        dir
    }

    fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    /// Runs a PostgreSQL program, as the `postgres` user when this process is root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = if self.as_root {
            if Path::new("/usr/sbin/runuser").exists() || Path::new("/sbin/runuser").exists() {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&path).args(args);
                command
            } else {
                let quoted: Vec<String> = std::iter::once(path.display().to_string())
                    .chain(args.iter().map(|a| a.to_string()))
                    .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
                    .collect();
                let mut command = Command::new("su");
                command.args(["postgres", "-s", "/bin/sh", "-c", &quoted.join(" ")]);
                command
            }
        } else {
            let mut command = Command::new(&path);
            command.args(args);
            command
        };
        command.current_dir("/").stdin(Stdio::null());
        command
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"))
    }

    /// `postgresql://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The `psql` program of the same installation.
    pub fn psql(&self) -> PathBuf {
        self.bin.join("psql")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self.run(
                "pg_ctl",
                &["-D", &self.data_str(), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}
