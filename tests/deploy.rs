//! The deployment files in `deploy/` against the binary, and the metrics and
//! logs that watching a deployment relies on.
//!
//! Docker and Kubernetes do not run on the test machines, so each file is
//! checked for what the binary makes of it: every YAML file parses (PyYAML,
//! through python3: no YAML crate is in Cargo.lock); each kentongan service
//! of `compose.yaml` and container of `k8s/` runs a command and role the
//! binary takes, with a configuration (the TOML it mounts and its
//! `KENTONGAN_*` environment) that the binary loads (`kentongan classify`
//! reads the configuration exactly as `kentongan run` does, then classifies
//! an empty stdin); probes and healthchecks ask endpoints the API has; the
//! Dockerfile copies paths that exist; the systemd unit passes
//! `systemd-analyze verify`. With `--features services`, the compose and
//! Kubernetes topologies are booted outside containers: every kentongan
//! service as a process with its own command and environment, Kafka and
//! ClickHouse being the test harness's, and a report goes in at the intake
//! and comes back from the api's search.
//!
//! This is a Rust test rather than a script so that it runs in `cargo test`
//! with the binary cargo just built (`CARGO_BIN_EXE_kentongan`), and reads
//! the metric inventory (`api::health::METRICS`) and the API's routes
//! (`api::routes::document`) from the code itself.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TOKEN, client, eventually};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

/// Every document of a YAML file, as JSON (PyYAML's safe loader: anchors
/// and merge keys resolved).
fn yaml(path: &Path) -> Vec<Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml\njson.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)",
        ])
        .arg(path)
        .output()
        .expect("python3 runs (with PyYAML: apt-get install python3-yaml)");
    assert!(
        out.status.success(),
        "{} does not parse as YAML:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A command of the binary with no `KENTONGAN_*` variable of the test's own
/// environment leaking in.
fn kentongan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kentongan"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KENTONGAN_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// The roles `kentongan run --role` takes, from its help.
fn known_roles() -> BTreeSet<String> {
    let out = kentongan().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let list = help.split("Possible values:").nth(1).expect("run --help lists the roles");
    let roles: BTreeSet<String> = list
        .lines()
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split(':').next().unwrap().trim().to_owned())
        .collect();
    assert!(roles.contains("api") && roles.contains("ingest"), "{help}");
    roles
}

/// The paths the API serves (GET), from its OpenAPI document.
fn api_paths() -> BTreeSet<String> {
    let doc = api::routes::document();
    doc["paths"].as_object().unwrap().keys().cloned().collect()
}

/// One kentongan process as a deployment file describes it.
#[derive(Debug, Clone)]
struct Process {
    /// The compose service or Kubernetes workload.
    name: String,
    /// The arguments after the binary (`run --role api`).
    args: Vec<String>,
    /// Its environment, secrets and interpolations filled in.
    env: BTreeMap<String, String>,
    /// Where the config it mounts is on this machine.
    config: PathBuf,
    /// The HTTP paths its probes or healthcheck ask.
    probes: Vec<String>,
    /// The port the probes use, which must be the one it listens on.
    probe_port: u16,
    /// The compose healthcheck's command, if any (run by the boot test).
    #[cfg_attr(not(feature = "services"), allow(dead_code))]
    healthcheck: Option<Vec<String>>,
}

impl Process {
    fn roles(&self) -> Vec<String> {
        self.args.windows(2).filter(|w| w[0] == "--role").map(|w| w[1].clone()).collect()
    }

    fn listen_port(&self) -> u16 {
        let listen = self.env.get("KENTONGAN_HTTP__LISTEN").expect("KENTONGAN_HTTP__LISTEN is set");
        listen.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Checks what the binary makes of this process, without starting it.
    fn check(&self, roles: &BTreeSet<String>, paths: &BTreeSet<String>) {
        let name = &self.name;
        assert_eq!(self.args.first().map(String::as_str), Some("run"), "{name}: {:?}", self.args);
        let mine = self.roles();
        assert!(!mine.is_empty(), "{name} runs no --role: every stage would run in one process");
        for role in &mine {
            assert!(roles.contains(role), "{name}: role {role} is not one of {roles:?}");
        }
        // clap takes every argument (a --help after them exits 0 only then)
        let out = kentongan().args(&self.args).arg("--help").output().unwrap();
        assert!(out.status.success(), "{name}: {:?}: {}", self.args, String::from_utf8_lossy(&out.stderr));
        // the configuration and the environment, loaded as `run` loads them
        let out = self.command(&["classify"]).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{name}: the binary refuses its configuration ({}, {:?}):\n{}",
            self.config.display(),
            self.env.keys().collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(self.probe_port, self.listen_port(), "{name}: the probes ask another port than it listens on");
        for path in &self.probes {
            assert!(paths.contains(path), "{name}: the probe asks {path}, which the API does not serve");
        }
        assert!(self.probes.iter().any(|p| p == "/readyz"), "{name}: nothing asks /readyz");
    }

    /// The binary with this process's environment and `args`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = kentongan();
        cmd.args(args).envs(&self.env).env("KENTONGAN_CONFIG", &self.config);
        cmd
    }
}

/// What the test gives the `${VAR}` of compose.yaml.
fn compose_variables() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("KENTONGAN_BOOTSTRAP_TOKEN", TOKEN),
        ("KENTONGAN_LINK_SECRET", "rahasia-tautan-bersama-untuk-uji-deploy-0123"),
        ("CLICKHOUSE_PASSWORD", "kata-sandi-clickhouse"),
        ("KENTONGAN_SMTP_URL", "smtp://127.0.0.1:25"),
    ])
}

/// Compose's variable interpolation: `${NAME}`, `${NAME:-default}`,
/// `${NAME-default}`, `${NAME:?error}`, `${NAME?error}` and `$$`.
fn interpolate(text: &str, vars: &BTreeMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let r = rest.strip_prefix('{').unwrap_or_else(|| panic!("write ${{NAME}}, not ${rest}"));
        let end = r.find('}').expect("an unclosed ${");
        let expr = &r[..end];
        rest = &r[end + 1..];
        let at = expr.find([':', '-', '?']).unwrap_or(expr.len());
        let (name, op) = expr.split_at(at);
        let value = vars.get(name).copied();
        let default = op.trim_start_matches(':');
        match (value, default.chars().next()) {
            (Some(v), _) => out.push_str(v),
            (None, Some('-')) => out.push_str(&default[1..]),
            (None, Some('?')) => panic!("compose.yaml needs {name}: {}", &default[1..]),
            (None, _) => {}
        }
    }
    out.push_str(rest);
    out
}

/// The kentongan services of compose.yaml, in file order.
fn compose_processes() -> Vec<Process> {
    let doc = yaml(&deploy().join("compose.yaml")).remove(0);
    let vars = compose_variables();
    let mut processes = Vec::new();
    for (name, service) in doc["services"].as_object().unwrap() {
        let built_here = service["build"]["dockerfile"] == "deploy/Dockerfile";
        if !built_here {
            continue;
        }
        let args: Vec<String> =
            service["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
        let env: BTreeMap<String, String> = service["environment"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: environment as a map"))
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), interpolate(&v, &vars))
            })
            .collect();
        // the config: the bind mount of the file KENTONGAN_CONFIG names
        let inside = env.get("KENTONGAN_CONFIG").unwrap_or_else(|| panic!("{name}: no KENTONGAN_CONFIG"));
        let mounts: Vec<&str> = service["volumes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let config = mounts
            .iter()
            .find_map(|m| {
                let mut parts = m.split(':');
                let (from, to) = (parts.next()?, parts.next()?);
                (to == inside).then(|| deploy().join(from))
            })
            .unwrap_or_else(|| panic!("{name}: nothing is mounted at {inside}"));
        assert!(config.is_file(), "{name}: {} does not exist", config.display());
        let test: Vec<String> = service["healthcheck"]["test"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no healthcheck"))
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let script = test.last().unwrap();
        let port = script.split("/dev/tcp/127.0.0.1/").nth(1).and_then(|r| r.split(' ').next()).unwrap();
        let path = script.split("GET ").nth(1).and_then(|r| r.split(' ').next()).unwrap();
        processes.push(Process {
            name: name.clone(),
            args,
            env,
            config,
            probes: vec![path.to_owned()],
            probe_port: port.parse().unwrap(),
            healthcheck: Some(test),
        });
    }
    processes
}

/// Every Kubernetes document of deploy/k8s, with its file name.
fn k8s_documents() -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy().join("k8s")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        docs.extend(yaml(&file).into_iter().map(|d| (name.clone(), d)));
    }
    docs
}

/// The kentongan containers of the Kubernetes workloads, their ConfigMap
/// written out to `dir`.
fn k8s_processes(dir: &Path) -> Vec<Process> {
    let docs = k8s_documents();
    let of_kind = |kind: &'static str| docs.iter().filter(move |(_, d)| d["kind"] == kind).map(|(_, d)| d);
    let secret = of_kind("Secret").next().expect("secret.example.yaml");
    let mut processes = Vec::new();
    for workload in of_kind("Deployment").chain(of_kind("StatefulSet")) {
        let name = workload["metadata"]["name"].as_str().unwrap().to_owned();
        let pod = &workload["spec"]["template"]["spec"];
        for container in pod["containers"].as_array().unwrap() {
            assert!(container["image"].as_str().unwrap().starts_with("kentongan"), "{name}: not our image");
            let args = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
            let mut env = BTreeMap::new();
            for var in container["env"].as_array().unwrap() {
                let key = var["name"].as_str().unwrap().to_owned();
                let value = if let Some(v) = var["value"].as_str() {
                    v.to_owned()
                } else if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
                    assert_eq!(r["name"], secret["metadata"]["name"], "{name}: {key} names another Secret");
                    let value = &secret["stringData"][r["key"].as_str().unwrap()];
                    value.as_str().unwrap_or_else(|| panic!("{name}: the Secret has no key {}", r["key"])).to_owned()
                } else if var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name" {
                    format!("{name}-0")
                } else {
                    panic!("{name}: {key} has no value the test knows how to give")
                };
                env.insert(key, value);
            }
            // the config: the ConfigMap key mounted where KENTONGAN_CONFIG points
            let inside = PathBuf::from(&env["KENTONGAN_CONFIG"]);
            let mount = container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| inside.starts_with(m["mountPath"].as_str().unwrap()))
                .unwrap_or_else(|| panic!("{name}: nothing is mounted at {}", inside.display()));
            let volume = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == mount["name"])
                .unwrap_or_else(|| panic!("{name}: no volume {}", mount["name"]));
            let map_name = &volume["configMap"]["name"];
            let map = of_kind("ConfigMap")
                .find(|m| &m["metadata"]["name"] == map_name)
                .unwrap_or_else(|| panic!("{name}: no ConfigMap {map_name}"));
            let key = inside.strip_prefix(mount["mountPath"].as_str().unwrap()).unwrap().to_string_lossy().into_owned();
            let toml = map["data"][&key].as_str().unwrap_or_else(|| panic!("{name}: the ConfigMap has no {key}"));
            let config = dir.join(format!("{name}.toml"));
            std::fs::write(&config, toml).unwrap();
            let ports = container["ports"].as_array().unwrap();
            let mut probes = Vec::new();
            let mut probe_port = 0;
            for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                let get = &container[probe]["httpGet"];
                let path = get["path"].as_str().unwrap_or_else(|| panic!("{name}: no {probe}"));
                probes.push(path.to_owned());
                let port = ports
                    .iter()
                    .find(|p| p["name"] == get["port"] || p["containerPort"] == get["port"])
                    .unwrap_or_else(|| panic!("{name}: {probe} asks port {}, which the container lacks", get["port"]));
                probe_port = u16::try_from(port["containerPort"].as_u64().unwrap()).unwrap();
            }
            processes.push(Process { name: name.clone(), args, env, config, probes, probe_port, healthcheck: None });
        }
    }
    processes
}

#[test]
fn every_yaml_and_json_file_in_deploy_parses() {
    let mut files = Vec::new();
    let mut dirs = vec![deploy()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut seen = 0;
    for file in &files {
        match file.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => {
                assert!(!yaml(file).is_empty(), "{} is empty", file.display());
                seen += 1;
            }
            Some("json") => {
                let _: Value = serde_json::from_slice(&std::fs::read(file).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                seen += 1;
            }
            _ => {}
        }
        // each file says at its top what it is
        let text = std::fs::read_to_string(file).unwrap();
        let head = text.lines().next().unwrap_or_default();
        assert!(
            head.starts_with('#') || text.contains("\"__comment\""),
            "{} does not start with a comment saying what it is",
            file.display()
        );
    }
    assert!(seen >= 9, "only {seen} YAML and JSON files under deploy/");
}

#[test]
fn compose_runs_every_role_with_settings_the_binary_takes() {
    let (roles, paths) = (known_roles(), api_paths());
    let processes = compose_processes();
    for p in &processes {
        p.check(&roles, &paths);
    }
    let covered: BTreeSet<String> = processes.iter().flat_map(Process::roles).collect();
    assert_eq!(covered, roles, "a role has no service of its own");

    let doc = yaml(&deploy().join("compose.yaml")).remove(0);
    let services = doc["services"].as_object().unwrap();
    // Kafka in KRaft mode, from the official image, and ClickHouse
    let kafka = &services["kafka"];
    assert!(kafka["image"].as_str().unwrap().starts_with("apache/kafka:"), "{kafka}");
    assert!(kafka["environment"]["KAFKA_PROCESS_ROLES"].as_str().unwrap().contains("controller"), "not KRaft");
    assert!(services["clickhouse"]["image"].as_str().unwrap().starts_with("clickhouse/clickhouse-server:"));
    let config = std::fs::read_to_string(&processes[0].config).unwrap();
    assert!(config.contains("brokers = \"kafka:9092\"") && config.contains("url = \"http://clickhouse:8123\""));
    let declared: BTreeSet<&String> = doc["volumes"].as_object().unwrap().keys().collect();
    for (name, service) in services {
        assert!(service["restart"].is_string(), "{name}: no restart policy");
        assert!(service["healthcheck"]["test"].is_array(), "{name}: no healthcheck");
        for dependency in service["depends_on"].as_object().into_iter().flat_map(|d| d.keys()) {
            assert!(services.contains_key(dependency), "{name} depends on {dependency}, which is not a service");
        }
        for mount in service["volumes"].as_array().into_iter().flatten() {
            let from = mount.as_str().unwrap().split(':').next().unwrap().to_owned();
            assert!(
                from.starts_with('.') || declared.contains(&from),
                "{name}: volume {from} is not declared under volumes:"
            );
        }
    }
    // the data_dir of each kentongan service is a named volume of its own
    let mut data_volumes = BTreeSet::new();
    for p in &processes {
        let mounts = services[&p.name]["volumes"].as_array().unwrap();
        let data = mounts
            .iter()
            .filter_map(|m| m.as_str()?.split_once(':'))
            .find(|(_, to)| *to == "/var/lib/kentongan")
            .unwrap_or_else(|| panic!("{}: no volume at data_dir /var/lib/kentongan", p.name));
        assert!(data_volumes.insert(data.0), "{}: shares its data volume", p.name);
    }
    duty_mail_goes_out_from_one_api_node(&processes);
    // the api is published on its listen port
    let api = processes.iter().find(|p| p.roles() == ["api"]).unwrap();
    let published = services[&api.name]["ports"].as_array().unwrap()[0].as_str().unwrap();
    assert!(published.ends_with(&format!(":{}", api.listen_port())), "{published}");

    // and the check above would catch a key the binary does not take
    let mut wrong = processes[0].clone();
    wrong.env.insert("KENTONGAN_HTTP__COLOUR".into(), "merah".into());
    let out = wrong.command(&["classify"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.colour"));
}

/// Reminders, summaries and morning briefs go out from one api node: the
/// configuration's `duties.sender` names it (an api StatefulSet's replicas
/// share one config, so only the first pod's name picks one), and it has SMTP.
fn duty_mail_goes_out_from_one_api_node(processes: &[Process]) {
    let api = processes.iter().find(|p| p.roles() == ["api"]).unwrap();
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(&api.config).unwrap()).unwrap();
    let sender = config["duties"]["sender"].as_str().expect("duties.sender: the api node that sends duty mail");
    assert_eq!(sender, api.env["KENTONGAN_NODE_NAME"], "{}: duties.sender names no api node", api.name);
    assert!(api.env.contains_key("KENTONGAN_SMTP__URL"), "{}: the duty mail sender has no SMTP", api.name);
}

#[test]
fn k8s_manifests_hang_together_and_run_what_the_binary_takes() {
    let (roles, paths) = (known_roles(), api_paths());
    let dir = tempfile::tempdir().unwrap();
    let processes = k8s_processes(dir.path());
    for p in &processes {
        p.check(&roles, &paths);
    }
    duty_mail_goes_out_from_one_api_node(&processes);
    let docs = k8s_documents();
    let of_kind = |kind: &str| docs.iter().filter(move |(_, d)| d["kind"] == kind).map(|(_, d)| d).collect::<Vec<_>>();
    let workloads: Vec<&Value> = of_kind("Deployment").into_iter().chain(of_kind("StatefulSet")).collect();
    // one workload per role; a StatefulSet where the role keeps state on disk
    let mut covered = BTreeSet::new();
    for w in &workloads {
        let name = w["metadata"]["name"].as_str().unwrap();
        let p = processes.iter().find(|p| p.name == name).unwrap();
        let role = match p.roles().as_slice() {
            [role] => role.clone(),
            other => panic!("{name} runs {other:?}: one role per workload"),
        };
        assert!(covered.insert(role.clone()), "two workloads run {role}");
        let stateful = ["ingest", "indexer", "alerter", "api"].contains(&role.as_str());
        let kind = if stateful { "StatefulSet" } else { "Deployment" };
        assert_eq!(w["kind"], kind, "{name}");
        let pod = &w["spec"]["template"];
        let labels = &pod["metadata"]["labels"];
        assert_eq!(&w["spec"]["selector"]["matchLabels"], labels, "{name}: the selector is not the pod's labels");
        let container = &pod["spec"]["containers"][0];
        assert!(container["resources"]["requests"]["cpu"].is_string(), "{name}: no CPU request");
        assert!(container["resources"]["requests"]["memory"].is_string(), "{name}: no memory request");
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false, "{name}");
        let data =
            container["volumeMounts"].as_array().unwrap().iter().find(|m| m["mountPath"] == "/var/lib/kentongan");
        let data = data.unwrap_or_else(|| panic!("{name}: nothing mounted at data_dir"));
        if stateful {
            let claims = w["spec"]["volumeClaimTemplates"].as_array().unwrap();
            assert!(claims.iter().any(|c| c["metadata"]["name"] == data["name"]), "{name}: data_dir is not a claim");
            let governing = w["spec"]["serviceName"].as_str().unwrap();
            let service = of_kind("Service").into_iter().find(|s| s["metadata"]["name"] == governing);
            assert_eq!(
                service.unwrap_or_else(|| panic!("{name}: no Service {governing}"))["spec"]["clusterIP"],
                "None"
            );
        }
        // a disruption budget
        let budgets = of_kind("PodDisruptionBudget");
        assert!(
            budgets.iter().any(|b| &b["spec"]["selector"]["matchLabels"] == labels),
            "{name}: no PodDisruptionBudget selects its pods"
        );
    }
    assert_eq!(covered, roles, "a role has no workload");
    // every Service selects one workload's pods, on a port its container has
    for service in of_kind("Service") {
        let name = service["metadata"]["name"].as_str().unwrap();
        let selector = &service["spec"]["selector"];
        let matching: Vec<_> =
            workloads.iter().filter(|w| &w["spec"]["template"]["metadata"]["labels"] == selector).collect();
        assert_eq!(matching.len(), 1, "{name} selects {} workloads", matching.len());
        let ports = &matching[0]["spec"]["template"]["spec"]["containers"][0]["ports"];
        for port in service["spec"]["ports"].as_array().unwrap() {
            let target = &port["targetPort"];
            assert!(
                ports.as_array().unwrap().iter().any(|p| &p["name"] == target || &p["containerPort"] == target),
                "{name}: targetPort {target} is not a port of the pods"
            );
        }
    }
    let api_service = of_kind("Service").into_iter().find(|s| s["metadata"]["name"] == "kentongan-api");
    assert!(api_service.is_some(), "no Service for the api");
    // kustomization.yaml lists every manifest but the example Secret
    let kustomization = yaml(&deploy().join("k8s/kustomization.yaml")).remove(0);
    let listed: BTreeSet<String> =
        kustomization["resources"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
    let files: BTreeSet<String> = docs
        .iter()
        .map(|(f, _)| f.clone())
        .filter(|f| f != "kustomization.yaml" && f != "secret.example.yaml")
        .collect();
    assert_eq!(listed, files);
}

/// The Dockerfile's instructions, continuation lines joined.
fn dockerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    let (word, rest) = current.trim().split_once(' ').unwrap_or((current.trim(), ""));
                    joined.push((word.to_uppercase(), rest.trim().to_owned()));
                }
                current.clear();
            }
        }
    }
    joined
}

#[test]
fn the_dockerfile_copies_what_exists_and_runs_unprivileged() {
    let lines = dockerfile();
    let froms: Vec<&String> = lines.iter().filter(|(w, _)| w == "FROM").map(|(_, r)| r).collect();
    assert_eq!(froms.len(), 2, "a builder stage and a runtime stage: {froms:?}");
    // the builder's Rust is at least the one Cargo.toml asks for
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&cargo).unwrap();
    let wanted = manifest["workspace"]["package"]["rust-version"].as_str().unwrap();
    let image = froms[0].split_whitespace().next().unwrap();
    let version = image.strip_prefix("rust:").unwrap().split('-').next().unwrap();
    let number = |v: &str| v.split('.').map(|p| p.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(number(version) >= number(wanted), "{image}: Cargo.toml needs Rust {wanted}");
    assert!(froms[1].contains("-slim") || froms[1].contains("distroless"), "a small runtime: {}", froms[1]);
    // every COPY source exists, and together they hold what the build needs,
    // none of it left out of the build context by the ignore file
    let ignore = std::fs::read_to_string(deploy().join("Dockerfile.dockerignore")).unwrap();
    let ignored: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let left_out = |path: &str| {
        ignored.iter().find(|pattern| {
            let bare = pattern.trim_start_matches("**/");
            path == bare
                || path.starts_with(&format!("{bare}/"))
                || (pattern.starts_with("**/") && path.split('/').any(|c| c == bare))
        })
    };
    let mut copied = Vec::new();
    for (_, rest) in lines.iter().filter(|(w, r)| w == "COPY" && !r.starts_with("--from")) {
        let parts: Vec<&str> = rest.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(repo().join(source).exists(), "COPY {source}: no such path in the repository");
            copied.push(source.trim_end_matches('/').to_owned());
        }
    }
    let members = manifest["workspace"]["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned());
    for needed in members.chain(["Cargo.toml", "Cargo.lock", "src", "web/dist"].map(String::from)) {
        assert!(repo().join(&needed).exists(), "{needed} is not in the repository");
        let in_copy = copied.iter().any(|c| c == "." || *c == needed || needed.starts_with(&format!("{c}/")));
        assert!(in_copy, "the build needs {needed}, which the Dockerfile does not copy");
        assert_eq!(left_out(&needed), None, "the build needs {needed}, which Dockerfile.dockerignore leaves out");
    }
    // (the ignore check can fail)
    assert!(left_out("target/debug").is_some() && left_out("web/node_modules/x").is_some());
    // the binary it builds is ours, and the image runs it unprivileged
    let run = lines.iter().find(|(w, r)| w == "RUN" && r.contains("cargo build")).expect("a cargo build");
    assert!(run.1.contains("--bin kentongan") && run.1.contains("--locked"), "{}", run.1);
    let runtime = lines.iter().rposition(|(w, _)| w == "FROM").unwrap();
    let user = lines[runtime..].iter().rfind(|(w, _)| w == "USER").expect("a USER in the runtime stage");
    assert!(!["root", "0", "0:0"].contains(&user.1.as_str()), "runs as {}", user.1);
    let entry = lines.iter().find(|(w, _)| w == "ENTRYPOINT").unwrap();
    let copied_binary =
        lines.iter().any(|(w, r)| w == "COPY" && r.starts_with("--from") && r.ends_with("/usr/local/bin/kentongan"));
    assert!(copied_binary && entry.1.contains("/usr/local/bin/kentongan"), "{}", entry.1);
    let env = lines.iter().filter(|(w, _)| w == "ENV").map(|(_, r)| r.as_str()).collect::<String>();
    let expose = lines.iter().find(|(w, _)| w == "EXPOSE").unwrap();
    assert!(env.contains(&format!("KENTONGAN_HTTP__LISTEN=0.0.0.0:{}", expose.1)), "{env}");
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let unit = std::fs::read_to_string(deploy().join("kentongan.service")).unwrap();
    let setting = |key: &str| {
        unit.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_owned).collect::<Vec<_>>()
    };
    for (key, value) in [
        ("NoNewPrivileges", "true"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "true"),
        ("PrivateTmp", "true"),
        ("PrivateDevices", "true"),
        ("ProtectKernelTunables", "true"),
        ("ProtectControlGroups", "true"),
        ("RestrictSUIDSGID", "true"),
        ("CapabilityBoundingSet", ""),
        ("StateDirectory", "kentongan"),
        ("ReadWritePaths", "/var/lib/kentongan"),
        ("User", "kentongan"),
    ] {
        assert!(setting(key).iter().any(|v| v == value), "{key}={value} is missing");
    }
    // the command it starts is one the binary takes, with the example config
    let exec = &setting("ExecStart")[0];
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/kentongan"));
    let args: Vec<&str> = words.collect();
    assert_eq!(args, ["run", "--config", "/etc/kentongan/kentongan.toml"]);
    let out = kentongan().args(&args).arg("--help").output().unwrap();
    assert!(out.status.success());
    let example = deploy().join("kentongan.example.toml");
    let out = kentongan().arg("classify").env("KENTONGAN_CONFIG", &example).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "the example config: {}", String::from_utf8_lossy(&out.stderr));
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(&example).unwrap()).unwrap();
    assert_eq!(config["data_dir"].as_str(), Some("/var/lib/kentongan"), "data_dir is not the StateDirectory");
    // systemd reads every line of it (ExecStart on a binary that exists here)
    let dir = tempfile::tempdir().unwrap();
    let verify = |text: &str| {
        let path = dir.path().join("kentongan.service");
        std::fs::write(&path, text.replace("/usr/local/bin/kentongan", env!("CARGO_BIN_EXE_kentongan"))).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .expect("systemd-analyze runs (apt-get install systemd)");
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    };
    let complaints = verify(&unit);
    assert!(complaints.trim().is_empty(), "systemd-analyze verify:\n{complaints}");
    // and would say so of a setting it does not know
    let complaints = verify(&unit.replace("ProtectSystem=strict", "ProtectSystem=stricter"));
    assert!(complaints.contains("ProtectSystem") || complaints.contains("protect system"), "{complaints}");
}

/// The metrics the source emits: `(name, kind)` of every `counter!`,
/// `gauge!` and `histogram!` whose name is a literal.
fn emitted_metrics() -> BTreeSet<(String, &'static str)> {
    let mut found = BTreeSet::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file() && p.join("src").is_dir())
        .map(|p| p.join("src"))
        .chain([repo().join("src")])
        .filter(|p| !p.starts_with(repo().join("fuzz")) && !p.starts_with(repo().join("bench")))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (mac, kind) in [("counter!(", "counter"), ("gauge!(", "gauge"), ("histogram!(", "histogram")] {
                for (i, _) in text.match_indices(mac) {
                    let rest = text[i + mac.len()..].trim_start();
                    if let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next())
                        && name.starts_with("kentongan_")
                    {
                        found.insert((name.to_owned(), kind));
                    }
                }
            }
        }
    }
    found
}

fn kind_name(kind: api::health::Kind) -> &'static str {
    match kind {
        api::health::Kind::Counter => "counter",
        api::health::Kind::Gauge => "gauge",
        api::health::Kind::Histogram => "histogram",
    }
}

/// The metric names a Prometheus expression uses, `_bucket`, `_sum` and
/// `_count` taken back to their histogram.
fn names_in(expr: &str) -> BTreeSet<String> {
    let histograms: BTreeSet<&str> =
        api::health::METRICS.iter().filter(|m| m.kind == api::health::Kind::Histogram).map(|m| m.name).collect();
    let mut names = BTreeSet::new();
    for (i, _) in expr.match_indices("kentongan_") {
        if i > 0 && expr.as_bytes()[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let name: String =
            expr[i..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|b| histograms.contains(b)))
            .map_or(name.clone(), str::to_owned);
        names.insert(base);
    }
    names
}

#[test]
fn every_metric_is_described_and_the_dashboard_asks_only_for_those() {
    let inventory: BTreeSet<(String, &str)> =
        api::health::METRICS.iter().map(|m| (m.name.to_owned(), kind_name(m.kind))).collect();
    let emitted = emitted_metrics();
    let undescribed: Vec<_> = emitted.difference(&inventory).collect();
    assert!(undescribed.is_empty(), "emitted but not in api::health::METRICS: {undescribed:?}");
    let unused: Vec<_> = inventory.difference(&emitted).collect();
    assert!(unused.is_empty(), "in api::health::METRICS but emitted nowhere: {unused:?}");
    for m in api::health::METRICS {
        let name = m.name.strip_prefix("kentongan_").unwrap();
        let stage = name.split('_').next().unwrap();
        assert!(["http", "bus", "stage", "ingest", "classifier", "indexer", "alerter"].contains(&stage), "{}", m.name);
        let unit_ok = match m.kind {
            api::health::Kind::Counter => name.ends_with("_total"),
            api::health::Kind::Histogram => name.ends_with("_seconds"),
            api::health::Kind::Gauge => !name.ends_with("_total"),
        };
        assert!(unit_ok, "{}: the name does not end in its unit", m.name);
        assert!(!m.help.is_empty());
    }
    // the dashboard
    let dashboard: Value =
        serde_json::from_slice(&std::fs::read(deploy().join("grafana/kentongan.json")).unwrap()).unwrap();
    let names: BTreeSet<&str> = api::health::METRICS.iter().map(|m| m.name).collect();
    let mut used = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let found = names_in(expr);
            assert!(!found.is_empty(), "{}: a query with no kentongan metric: {expr}", panel["title"]);
            for name in found {
                assert!(names.contains(name.as_str()), "{}: {name} is not a metric the code emits", panel["title"]);
                used.insert(name);
            }
        }
    }
    for wanted in [
        "kentongan_ingest_received_total",
        "kentongan_ingest_processed_total",
        "kentongan_classifier_processed_total",
        "kentongan_indexer_processed_total",
        "kentongan_classifier_failed_total",
        "kentongan_classifier_lag_seconds",
        "kentongan_bus_consumer_lag_records",
        "kentongan_indexer_end_to_end_seconds",
        "kentongan_alerter_end_to_end_seconds",
        "kentongan_alerter_outbox_depth",
        "kentongan_http_request_duration_seconds",
    ] {
        assert!(used.contains(wanted), "the dashboard does not show {wanted}");
    }
    // the check would see a name the code does not emit
    assert_eq!(
        names_in("rate(kentongan_ingest_reports_total[5m])"),
        BTreeSet::from(["kentongan_ingest_reports_total".into()])
    );
}

/// A `kentongan run` started by a test, killed when dropped.
struct Started {
    name: String,
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Started {
    /// Starts `cmd` on a port the OS picks as the node binds it; `ready` reads it from the log.
    fn spawn(name: &str, mut cmd: Command, dir: &Path) -> Started {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join("kentongan.log");
        let child = cmd
            .env("KENTONGAN_HTTP__LISTEN", "127.0.0.1:0")
            .env("KENTONGAN_DATA_DIR", dir.join("data"))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Started { name: name.to_owned(), child, port: 0, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.port == 0 {
            match self.log().lines().find_map(common::listening_port) {
                Some(port) => self.port = port,
                None if self.child.try_wait().unwrap().is_none() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                None => panic!(
                    "{} did not listen (exit: {:?}); log:\n{}",
                    self.name,
                    self.child.try_wait().unwrap(),
                    self.log()
                ),
            }
        }
        let url = self.url("/readyz");
        let ready = eventually(Duration::from_secs(60), || async {
            let r = client().get(&url).send().await.ok()?;
            (r.status() == 200).then_some(())
        })
        .await;
        if ready.is_none() {
            panic!("{} is not ready (exit: {:?}); log:\n{}", self.name, self.child.try_wait().unwrap(), self.log());
        }
    }

    /// Posts a report about sabu as `token`; returns its id once taken (202).
    async fn post_report(&self, token: &str) -> String {
        let r = client()
            .post(self.url("/api/v1/reports"))
            .bearer_auth(token)
            .json(&json!({"text": "Warga melaporkan pesta sabu setiap malam di rumah kontrakan", "region": "72.71.02"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}: {}", self.name, r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// The JSON log lines about `report`, as (target, message).
    fn report_events(&self, report: &str) -> Vec<(String, String)> {
        self.log()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", self.name)))
            .filter(|v| v["fields"]["report"] == report)
            .map(|v| (v["target"].as_str().unwrap_or_default().to_owned(), v["fields"]["message"].to_string()))
            .collect()
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a follow-one-report log filter is: every stage's per-report events.
const FOLLOW_REPORTS: &str = "info,ingest=debug,classifier=debug,archive=debug,alerter=debug,tantivy=warn,rdkafka=warn";

/// Checks a live node's /metrics: every kentongan metric in it is in the
/// inventory, and these were emitted.
async fn check_live_metrics(node: &Started, token: &str, expected: &[&str]) {
    let text = client().get(node.url("/metrics")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    let names: BTreeSet<&str> = api::health::METRICS.iter().map(|m| m.name).collect();
    let live: BTreeSet<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    for name in &live {
        if name.starts_with("kentongan_") {
            assert!(names.contains(name), "{}: {name} is emitted but not in the inventory", node.name);
        }
    }
    for name in expected {
        assert!(live.contains(name), "{}: no {name} after traffic:\n{text}", node.name);
    }
    let described = text.lines().any(|l| l.starts_with("# HELP kentongan_http_request_duration_seconds "));
    assert!(described, "{}: the metrics are not described", node.name);
}

/// JSON logs on the embedded default: every line an object, and one report's
/// events in the intake, the classifier and the indexer carry its id.
#[tokio::test]
async fn json_logs_follow_a_report_through_the_stages() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = kentongan();
    cmd.arg("run")
        .env("KENTONGAN_AUTH__BOOTSTRAP_TOKEN", TOKEN)
        .env("KENTONGAN_LOG_FORMAT", "json")
        .env("KENTONGAN_LOG", FOLLOW_REPORTS);
    let mut node = Started::spawn("embedded", cmd, dir.path());
    node.ready().await;
    let id = node.post_report(TOKEN).await;
    let events = eventually(Duration::from_secs(30), || async {
        let events = node.report_events(&id);
        let messages: BTreeSet<&str> = events.iter().map(|(_, m)| m.as_str()).collect();
        ["\"report accepted\"", "\"report classified\"", "\"report indexed\""]
            .iter()
            .all(|m| messages.contains(m))
            .then_some(events)
    })
    .await
    .unwrap_or_else(|| panic!("the report's events are missing; log:\n{}", node.log()));
    let targets: BTreeSet<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    for stage in ["ingest", "classifier::stage", "archive::stage"] {
        assert!(targets.contains(stage), "no event of {stage}: {events:?}");
    }
    check_live_metrics(
        &node,
        TOKEN,
        &[
            "kentongan_ingest_received_total",
            "kentongan_ingest_processed_total",
            "kentongan_classifier_received_total",
            "kentongan_classifier_processed_total",
            "kentongan_classifier_lag_seconds",
            "kentongan_indexer_processed_total",
            "kentongan_indexer_end_to_end_seconds",
            "kentongan_http_request_duration_seconds",
        ],
    )
    .await;
    // the one report posted is one request of its route, counted once
    let text = client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    let posts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("kentongan_http_request_duration_seconds_count{"))
        .filter(|l| ["route=\"/api/v1/reports\"", "method=\"POST\"", "status=\"202\""].iter().all(|x| l.contains(x)))
        .collect();
    assert_eq!(posts.len(), 1, "{text}");
    assert!(posts[0].ends_with(" 1"), "{}", posts[0]);
}

/// A node told `http.listen = 127.0.0.1:0` takes the port the system gives
/// it, and its links (here the morning brief's; an alert email's come from
/// the same `public_url`) name that port, not 0.
#[tokio::test]
async fn a_node_on_port_0_links_to_the_port_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = kentongan();
    cmd.arg("run").env("KENTONGAN_AUTH__BOOTSTRAP_TOKEN", TOKEN);
    let mut node = Started::spawn("embedded", cmd, dir.path());
    node.ready().await;
    assert_ne!(node.port, 0);
    // a day ago: yesterday in every zone, the day this morning's brief covers
    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let yesterday = yesterday.format(&time::format_description::well_known::Rfc3339).unwrap();
    let text = "Warga melaporkan pesta sabu setiap malam di rumah kontrakan";
    let report = json!({"text": text, "region": "72.71.02", "reported_at": yesterday});
    let r = client().post(node.url("/api/v1/reports")).bearer_auth(TOKEN).json(&report).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let link = format!("127.0.0.1:{}&#x2f;#&#x2f;reports&#x2f;{id}", node.port);
    let brief = || async {
        let r = client().get(node.url("/api/v1/briefs?region=72")).bearer_auth(TOKEN).send().await.unwrap();
        r.text().await.unwrap()
    };
    let linked = eventually(Duration::from_secs(30), || async { brief().await.contains(&link).then_some(()) }).await;
    assert!(linked.is_some(), "the brief does not link to the report on port {}:\n{}", node.port, brief().await);
}

#[test]
fn an_unknown_log_format_is_refused() {
    let out = kentongan().args(["rules", "check", "/nonexistent"]).env("KENTONGAN_LOG_FORMAT", "jsn").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KENTONGAN_LOG_FORMAT is `jsn`"));
}

/// Booting the deployment topologies outside containers, against the
/// harness's Kafka, ClickHouse and SMTP.
#[cfg(feature = "services")]
mod boot {
    use super::*;

    fn service(var: &str) -> String {
        std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set: start the services with tests/services/up and source its env file")
        })
    }

    /// A TCP relay in front of `target`, which the test can cut and mend.
    struct Relay {
        port: u16,
        task: Option<tokio::task::JoinHandle<()>>,
        target: String,
        listener: Option<std::net::TcpListener>,
    }

    impl Relay {
        fn new(target: &str) -> Relay {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut relay = Relay { port, task: None, target: target.to_owned(), listener: Some(listener) };
            relay.mend();
            relay
        }

        /// Starts relaying (again).
        fn mend(&mut self) {
            let listener =
                self.listener.take().unwrap_or_else(|| std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap());
            listener.set_nonblocking(true).unwrap();
            let target = self.target.clone();
            self.task = Some(tokio::spawn(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let mut links = tokio::task::JoinSet::new();
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else { continue };
                    let target = target.clone();
                    links.spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            }));
        }

        /// Refuses connections, and ends the ones open.
        async fn cut(&mut self) {
            if let Some(task) = self.task.take() {
                task.abort();
                let _ = task.await;
            }
        }
    }

    /// Starts every process of a topology with its own command and
    /// environment; what a container would reach over the network (Kafka,
    /// ClickHouse, SMTP) and where it keeps state are the harness's and the
    /// test's.
    fn start(processes: &[Process], root: &Path, clickhouse: &str) -> (Vec<Started>, String) {
        let prefix = format!("deploy-{}.", uuid::Uuid::now_v7().simple());
        let database = format!("deploy_{}", uuid::Uuid::now_v7().simple());
        let smtp = service("TEST_KENTONGAN_SMTP");
        let nodes = processes
            .iter()
            .map(|p| {
                let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
                let mut cmd = p.command(&args);
                cmd.env("KENTONGAN_KAFKA__BROKERS", service("TEST_KENTONGAN_KAFKA"))
                    .env("KENTONGAN_KAFKA__TOPIC_PREFIX", &prefix)
                    // the harness has one broker
                    .env("KENTONGAN_KAFKA__REPLICATION_FACTOR", "1")
                    .env("KENTONGAN_KAFKA__SESSION_TIMEOUT", "3s")
                    .env("KENTONGAN_CLICKHOUSE__URL", clickhouse)
                    .env("KENTONGAN_CLICKHOUSE__DATABASE", &database)
                    .env("KENTONGAN_CLICKHOUSE__USER", "default")
                    .env("KENTONGAN_CLICKHOUSE__PASSWORD", "")
                    .env("KENTONGAN_LOG", FOLLOW_REPORTS);
                if p.env.contains_key("KENTONGAN_SMTP__URL") {
                    cmd.env("KENTONGAN_SMTP__URL", &smtp);
                }
                Started::spawn(&p.name, cmd, &root.join(&p.name))
            })
            .collect();
        (nodes, database)
    }

    /// Boots `processes`, then: every /readyz and healthcheck answers, a
    /// report taken in at the intake comes back from the api's search and is
    /// in ClickHouse, its id is in each stage's JSON log, and the api's
    /// /readyz goes 503 while ClickHouse is away.
    async fn boot(processes: Vec<Process>) {
        let root = tempfile::tempdir().unwrap();
        let mut relay = Relay::new(service("TEST_KENTONGAN_CLICKHOUSE").trim_start_matches("http://"));
        let clickhouse = format!("http://127.0.0.1:{}", relay.port);
        let (mut nodes, database) = start(&processes, root.path(), &clickhouse);
        for node in &mut nodes {
            node.ready().await;
        }
        for (node, p) in nodes.iter().zip(&processes) {
            if let Some(test) = &p.healthcheck {
                assert_eq!(test[0], "CMD");
                let script = test.last().unwrap().replace(
                    &format!("/dev/tcp/127.0.0.1/{}", p.probe_port),
                    &format!("/dev/tcp/127.0.0.1/{}", node.port),
                );
                let status = Command::new(&test[1]).args(&test[2..test.len() - 1]).arg(script).status().unwrap();
                assert!(status.success(), "{}: the compose healthcheck fails on a ready node", p.name);
            }
        }
        let by_role = |role: &str| {
            let i = processes.iter().position(|p| p.roles() == [role]).unwrap();
            &nodes[i]
        };
        let (ingest, api) = (by_role("ingest"), by_role("api"));
        // the bootstrap admin's token, as the deployment gives it
        let token = processes[0].env["KENTONGAN_AUTH__BOOTSTRAP_TOKEN"].as_str();
        let id = ingest.post_report(token).await;
        let hit = eventually(Duration::from_secs(60), || async {
            let r = client().get(api.url("/api/v1/search?q=sabu")).bearer_auth(token).send().await.ok()?;
            let body: Value = r.json().await.ok()?;
            body["hits"].as_array()?.iter().find(|h| h["id"] == id.as_str()).cloned()
        })
        .await;
        assert!(hit.is_some(), "the report is not searchable on the api; log:\n{}", api.log());
        let ch = service("TEST_KENTONGAN_CLICKHOUSE");
        let query = format!("SELECT count() FROM {database}.reports FINAL WHERE id = toUUID('{id}')");
        let in_clickhouse = eventually(Duration::from_secs(60), || async {
            let count = client().post(&ch).body(query.clone()).send().await.ok()?.text().await.ok()?;
            (count.trim() == "1").then_some(())
        })
        .await;
        assert!(in_clickhouse.is_some(), "the report is not in ClickHouse; indexer log:\n{}", by_role("indexer").log());
        // one report, followed by its id through the stages' JSON logs
        let followed = eventually(Duration::from_secs(20), || async {
            let seen = |role: &str, message: &str| {
                by_role(role).report_events(&id).iter().any(|(_, m)| m == &format!("\"{message}\""))
            };
            (seen("ingest", "report accepted")
                && seen("classifier", "report classified")
                && seen("indexer", "report indexed")
                && seen("api", "report indexed"))
            .then_some(())
        })
        .await;
        assert!(followed.is_some(), "the report's id is not in every stage's log");
        check_live_metrics(
            ingest,
            token,
            &["kentongan_ingest_processed_total", "kentongan_http_request_duration_seconds"],
        )
        .await;
        check_live_metrics(by_role("classifier"), token, &["kentongan_classifier_processed_total"]).await;
        check_live_metrics(
            by_role("indexer"),
            token,
            &["kentongan_indexer_processed_total", "kentongan_indexer_lag_seconds"],
        )
        .await;
        // /readyz reflects ClickHouse: away, then back
        relay.cut().await;
        let unready = eventually(Duration::from_secs(20), || async {
            let r = client().get(api.url("/readyz")).send().await.ok()?;
            (r.status() == 503).then_some(r.text().await.ok()?)
        })
        .await
        .expect("the api stays ready while ClickHouse is away");
        assert!(unready.contains("ClickHouse"), "{unready}");
        relay.mend();
        let ready = eventually(Duration::from_secs(20), || async {
            (client().get(api.url("/readyz")).send().await.ok()?.status() == 200).then_some(())
        })
        .await;
        assert!(ready.is_some(), "the api is not ready again once ClickHouse is back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_compose_topology_boots_outside_containers() {
        boot(compose_processes()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_k8s_topology_boots_outside_kubernetes() {
        let dir = tempfile::tempdir().unwrap();
        boot(k8s_processes(dir.path())).await;
    }
}
