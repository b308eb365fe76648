//! Test helpers: a real distribution registry (Debian's `docker-registry`) on a free
//! loopback port, optionally with htpasswd basic auth and TLS (a CA and a certificate
//! generated here), killed when the guard drops; tiny components made with `wat`; an OCI
//! image layout on disk for skopeo.
#![allow(dead_code)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flowhost_registry::auth::CredentialSources;
use flowhost_registry::{ResolveContext, Settings};
use sha2::{Digest, Sha256};

/// What the registry should demand.
#[derive(Default, Clone)]
pub struct RegistryOptions {
    /// htpasswd basic auth with this user and password.
    pub user: Option<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1 signed by a fresh CA.
    pub tls: bool,
}

/// A running registry; killed on drop.
pub struct TestRegistry {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The registry's storage root.
    pub storage: PathBuf,
    /// PEM of the CA that signed the registry's certificate (TLS only).
    pub ca_pem_path: Option<PathBuf>,
    dir: tempfile::TempDir,
}

/// The registry binary, or a failure that says how to install it.
pub fn registry_binary() -> PathBuf {
    if let Ok(p) = std::env::var("FLOWHOST_TEST_REGISTRY_BIN") {
        assert!(
            Path::new(&p).is_file(),
            "FLOWHOST_TEST_REGISTRY_BIN={p} does not exist: run scripts/install-test-deps.sh"
        );
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"] {
        if Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "the distribution registry (`docker-registry`) is not installed: run scripts/install-test-deps.sh \
         (or set FLOWHOST_TEST_REGISTRY_BIN)"
    );
}

/// `skopeo`, or a failure that says how to install it.
pub fn skopeo() -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join("skopeo").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "skopeo is not installed: run scripts/install-test-deps.sh"
    );
    Command::new("skopeo")
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

impl TestRegistry {
    pub fn start(opts: RegistryOptions) -> TestRegistry {
        let bin = registry_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: ADDR\n  secret: flowhost-test-secret\n",
            storage.display()
        );
        let mut ca_pem_path = None;
        if opts.tls {
            let (ca, cert, key) = generate_tls();
            let (ca_p, cert_p, key_p) = (
                dir.path().join("ca.pem"),
                dir.path().join("cert.pem"),
                dir.path().join("key.pem"),
            );
            std::fs::write(&ca_p, ca).unwrap();
            std::fs::write(&cert_p, cert).unwrap();
            std::fs::write(&key_p, key).unwrap();
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert_p.display(),
                key_p.display()
            ));
            ca_pem_path = Some(ca_p);
        }
        if let Some((user, password)) = &opts.user {
            let hash = bcrypt::hash_with_result(password, 4)
                .expect("bcrypt")
                .format_for_version(bcrypt::Version::TwoA);
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: flowhost-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        let log = dir.path().join("registry.log");
        let mut reg = TestRegistry {
            child: None,
            config: config_path,
            log,
            addr: String::new(),
            storage,
            ca_pem_path,
            dir,
        };
        // A free port can be taken by someone else between our probe and the registry's
        // bind: then the registry exits, and we try another port.
        for attempt in 1.. {
            reg.addr = format!("127.0.0.1:{}", free_port());
            std::fs::write(&reg.config, config.replace("ADDR", &reg.addr)).unwrap();
            match reg.spawn(&bin) {
                Ok(()) => break,
                Err(log) if attempt < 5 => {
                    eprintln!("registry did not start on {}, retrying:\n{log}", reg.addr)
                }
                Err(log) => panic!("registry did not start on {}:\n{log}", reg.addr),
            }
        }
        reg
    }

    fn spawn(&mut self, bin: &Path) -> Result<(), String> {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(&self.addr).is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!("exited with {status}: {}", self.log_text()));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!("not listening in time: {}", self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stop the server (the "registry is down" case).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Where the registry keeps a blob's bytes (filesystem driver layout).
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// A resolve context with an isolated cache and config, trusting this registry's CA and
    /// with no credentials unless given.
    pub fn context(&self, root: &Path, creds: Option<(&str, &str)>) -> ResolveContext {
        let mut settings = Settings::isolated(root);
        if let Some(ca) = &self.ca_pem_path {
            settings.ca_certs.push(ca.clone());
        }
        let mut ctx = ResolveContext::new(settings);
        ctx.progress = false;
        ctx.credentials = match creds {
            Some((u, p)) => {
                let (u, p) = (u.to_string(), p.to_string());
                CredentialSources::standard_with(&root.join("auth.json"), &move |k: &str| match k {
                    "FLOWHOST_REGISTRY_USERNAME" => Some(u.clone()),
                    "FLOWHOST_REGISTRY_PASSWORD" => Some(p.clone()),
                    _ => None,
                })
            }
            None => CredentialSources::standard_with(&root.join("auth.json"), &|_| None),
        };
        ctx
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA, and a certificate for 127.0.0.1 / localhost signed by it: (ca pem, cert pem, key pem).
fn generate_tls() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "flowhost test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// A small but real component: imports `test:demo/clock@0.1.0` (a `tick` function), exports
/// `test:demo/api@0.1.0` (an `answer` function returning `n`). Different `n`, different bytes.
pub fn component(n: u32) -> Vec<u8> {
    let text = format!(
        r#"(component
  (import "test:demo/clock@0.1.0" (instance $clock (export "tick" (func))))
  (alias export $clock "tick" (func $tick))
  (core func $tick_lowered (canon lower (func $tick)))
  (core module $m
    (import "host" "tick" (func))
    (func (export "answer") (result i32) i32.const {n}))
  (core instance $hi (export "tick" (func $tick_lowered)))
  (core instance $i (instantiate $m (with "host" (instance $hi))))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (instance $api (export "answer" (func $answer)))
  (export "test:demo/api@0.1.0" (instance $api))
)"#
    );
    wat::parse_str(&text).expect("valid component text")
}

/// Write `bytes` to `dir/name` and return the path.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn put_blob(layout: &Path, bytes: &[u8]) -> (String, u64) {
    let d = sha256(bytes);
    let p = layout
        .join("blobs/sha256")
        .join(d.strip_prefix("sha256:").unwrap());
    std::fs::write(p, bytes).unwrap();
    (d, bytes.len() as u64)
}

/// An OCI image layout at `layout` holding image index `tag` (platform `wasi/wasm`, plus a
/// `linux/amd64` decoy), whose manifest's one gzip layer holds `wasm_path` (e.g. `app.wasm`)
/// and the config's entrypoint names it: the shape containerd's Wasm shims run.
pub fn oci_layout_with_wasm(layout: &Path, tag: &str, wasm_path: &str, wasm: &[u8]) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();

    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(wasm.len() as u64);
    h.set_mode(0o755);
    h.set_cksum();
    tar.append_data(&mut h, wasm_path, wasm).unwrap();
    let mut readme = tar::Header::new_gnu();
    readme.set_size(5);
    readme.set_mode(0o644);
    readme.set_cksum();
    tar.append_data(&mut readme, "README", &b"hello"[..])
        .unwrap();
    let tar_bytes = tar.into_inner().unwrap();
    let diff_id = sha256(&tar_bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar_bytes).unwrap();
    let layer = gz.finish().unwrap();
    let (layer_d, layer_n) = put_blob(layout, &layer);

    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasi",
        "config": { "Entrypoint": [format!("/{wasm_path}")] },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
    });
    let (config_d, config_n) = put_blob(layout, &serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d, "size": config_n },
        "layers": [ { "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_d, "size": layer_n } ],
    });
    let (manifest_d, manifest_n) = put_blob(layout, &serde_json::to_vec(&manifest).unwrap());

    // A decoy platform, so the index really has to be read for wasi/wasm.
    let decoy_config = serde_json::json!({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}});
    let (dc_d, dc_n) = put_blob(layout, &serde_json::to_vec(&decoy_config).unwrap());
    let decoy = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": dc_d, "size": dc_n },
        "layers": [],
    });
    let (decoy_d, decoy_n) = put_blob(layout, &serde_json::to_vec(&decoy).unwrap());

    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": decoy_d, "size": decoy_n,
              "platform": { "architecture": "amd64", "os": "linux" } },
            { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_d, "size": manifest_n,
              "platform": { "architecture": "wasm", "os": "wasi" } },
        ],
    });
    let (index_d, index_n) = put_blob(layout, &serde_json::to_vec(&index).unwrap());
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [
            { "mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_d, "size": index_n,
              "annotations": { "org.opencontainers.image.ref.name": tag } },
        ],
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
}
