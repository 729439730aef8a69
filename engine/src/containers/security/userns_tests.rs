use super::*;

struct Tmp {
    dir: tempfile::TempDir,
}

impl Tmp {
    fn new(subuid: &str, subgid: &str) -> Tmp {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("subuid"), subuid).unwrap();
        std::fs::write(dir.path().join("subgid"), subgid).unwrap();
        std::fs::write(
            dir.path().join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        Tmp { dir }
    }
    fn p(&self, f: &str) -> std::path::PathBuf {
        self.dir.path().join(f)
    }
    fn resolve(&self, spec: &str) -> Result<Remap, UsernsError> {
        let (a, b, c, d) = (
            self.p("subuid"),
            self.p("subgid"),
            self.p("passwd"),
            self.p("group"),
        );
        resolve(
            spec,
            &Files {
                subuid: &a,
                subgid: &b,
                passwd: &c,
                group: &d,
            },
        )
    }
}

fn m(c: u32, h: u32, s: u32) -> IdMap {
    IdMap {
        container_id: c,
        host_id: h,
        size: s,
    }
}

#[test]
fn ranges_by_name_or_id_in_file_order() {
    let t = Tmp::new(
        "alice:200000:1000\nbob:300000:65536\n1000:500000:10\n",
        "staff:400000:65536\n",
    );
    let r = t.resolve("alice:staff").unwrap();
    assert_eq!(r.uids, [m(0, 200000, 1000), m(1000, 500000, 10)]);
    assert_eq!(r.gids, [m(0, 400000, 65536)]);
    assert_eq!(r.root(), (200000, 400000));
    // By uid, group = 50 resolved through /etc/group.
    let r = t.resolve("1000:50").unwrap();
    assert_eq!(r.uids.len(), 2);
    assert_eq!(r.gids, [m(0, 400000, 65536)]);
}

#[test]
fn a_user_without_ranges_stops_the_daemon() {
    let t = Tmp::new("bob:100000:65536\n", "bob:100000:65536\n");
    let e = t.resolve("x").unwrap_err().to_string();
    assert_eq!(
        e,
        format!("user \"x\" has no ranges in {}", t.p("subuid").display())
    );
    assert!(t.resolve("bob").is_ok());
    assert!(t.resolve("bob:").is_err());
}

#[test]
fn default_allocates_a_free_range_once() {
    let t = Tmp::new(
        "alice:100000:65536\nbob:165536:1000",
        "alice:100000:70000\n",
    );
    let r = t.resolve("default").unwrap();
    // Past bob's end (166536) and alice's gid range (170000): 170000.
    assert_eq!(r.user, "dockremap");
    assert_eq!(r.uids, [m(0, 170000, 65536)]);
    assert_eq!(r.gids, [m(0, 170000, 65536)]);
    let uid_text = std::fs::read_to_string(t.p("subuid")).unwrap();
    assert_eq!(
        uid_text,
        "alice:100000:65536\nbob:165536:1000\ndockremap:170000:65536\n"
    );
    // A second start finds it and writes nothing.
    assert_eq!(t.resolve("default").unwrap(), r);
    assert_eq!(std::fs::read_to_string(t.p("subuid")).unwrap(), uid_text);
    // Files that do not exist yet are created.
    let t = Tmp::new("", "");
    std::fs::remove_file(t.p("subgid")).unwrap();
    let r = t.resolve("default").unwrap();
    assert_eq!(r.gids, [m(0, 100000, 65536)]);
}

#[test]
fn container_checks_say_what_moby_says() {
    let hc = |f: fn(&mut HostConfig)| {
        let mut h = HostConfig::default();
        f(&mut h);
        h
    };
    let priv_ = hc(|h| h.privileged = Some(true));
    assert_eq!(
        validate(true, &priv_).unwrap_err(),
        "privileged mode is incompatible with user namespaces.  You must run the container in \
         the host namespace when running privileged mode"
    );
    assert!(validate(false, &priv_).is_ok());
    let host_ns = hc(|h| {
        h.privileged = Some(true);
        h.userns_mode = Some("host".into());
    });
    assert!(validate(true, &host_ns).is_ok());
    assert!(!applies(true, &host_ns));
    assert_eq!(
        validate(true, &hc(|h| h.network_mode = Some("host".into()))).unwrap_err(),
        "cannot share the host's network namespace when user namespaces are enabled"
    );
    assert_eq!(
        validate(true, &hc(|h| h.pid_mode = Some("host".into()))).unwrap_err(),
        "cannot share the host PID namespace when user namespaces are enabled"
    );
    assert!(validate(true, &hc(|h| h.ipc_mode = Some("host".into()))).is_err());
    assert!(validate(true, &hc(|h| h.uts_mode = Some("host".into()))).is_err());
    assert_eq!(
        validate(false, &hc(|h| h.userns_mode = Some("private".into()))).unwrap_err(),
        "invalid UsernsMode: private"
    );
}
