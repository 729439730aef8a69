//! Docker's `User` (`name`, `uid`, `name:group`, `uid:gid`) resolved in the container's
//! `/etc/passwd` and `/etc/group`, with moby's rules (github.com/moby/sys/user GetExecUser).

use std::path::Path;

use crate::error::{Context, ShimError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `spec` ("user[:group]") and the `--group-add` entries inside `root`.
pub fn resolve(root: &Path, spec: &str, group_add: &[String]) -> Result<ExecUser, ShimError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = parse_passwd(&read_optional(&root.join("etc/passwd"))?);
    let groups = parse_group(&read_optional(&root.join("etc/group"))?);

    let user_num = user_arg.parse::<u32>().ok();
    let found = passwd
        .iter()
        .find(|p| p.name == user_arg || Some(p.uid) == user_num);
    let mut out = match (found, user_num) {
        (Some(p), _) => ExecUser {
            uid: p.uid,
            gid: p.gid,
            groups: Vec::new(),
            home: p.home.clone(),
        },
        (None, Some(uid)) => ExecUser {
            uid,
            gid: 0,
            groups: Vec::new(),
            home: "/".into(),
        },
        (None, None) if user_arg.is_empty() => ExecUser {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            home: "/".into(),
        },
        (None, None) => return Err(ShimError::UnknownUser(user_arg.to_string())),
    };

    match group_arg {
        Some(g) if !g.is_empty() => out.gid = lookup_group(&groups, g)?,
        _ => {
            // Supplementary groups only come from /etc/group in the implicit form.
            if let Some(p) = found {
                out.groups = groups
                    .iter()
                    .filter(|g| g.members.contains(&p.name))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    for g in group_add {
        let gid = lookup_group(&groups, g)?;
        if !out.groups.contains(&gid) {
            out.groups.push(gid);
        }
    }
    Ok(out)
}

fn lookup_group(groups: &[Group], arg: &str) -> Result<u32, ShimError> {
    let num = arg.parse::<u32>().ok();
    if let Some(g) = groups.iter().find(|g| g.name == arg || Some(g.gid) == num) {
        return Ok(g.gid);
    }
    num.ok_or_else(|| ShimError::UnknownGroup(arg.to_string()))
}

/// A missing file is an empty database (numeric users still work, as in docker).
fn read_optional(path: &Path) -> Result<String, ShimError> {
    match std::fs::read(path) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).ctx(|| format!("read {}", path.display())),
    }
}

fn fields(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

fn parse_passwd(text: &str) -> Vec<Passwd> {
    fields(text)
        .filter_map(|f| {
            Some(Passwd {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<Group> {
    fields(text)
        .filter_map(|f| {
            Some(Group {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n# c\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nalice:x:1000:\nstaff:x:50:alice,bob\naudio:x:29:bob\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn name_gets_primary_and_supplementary_groups() {
        let r = root();
        let u = resolve(r.path(), "alice", &[]).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.groups, u.home.as_str()),
            (1000, 1000, vec![50], "/home/alice")
        );
    }

    #[test]
    fn explicit_group_and_group_add() {
        let r = root();
        let u = resolve(r.path(), "alice:audio", &["staff".into(), "77".into()]).unwrap();
        assert_eq!((u.uid, u.gid, u.groups), (1000, 29, vec![50, 77]));
    }

    #[test]
    fn numeric_unknown_uid_is_allowed() {
        let r = root();
        let u = resolve(r.path(), "4242:4343", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 4343, "/"));
    }

    #[test]
    fn unknown_names_fail_with_dockers_messages() {
        let r = root();
        let e = resolve(r.path(), "xyz", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user xyz: no matching entries in passwd file"
        );
        let e = resolve(r.path(), "alice:nogroup", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
    }
}
