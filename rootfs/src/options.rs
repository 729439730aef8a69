//! OCI mount options → mount attributes, propagation, superblock flags and filesystem data,
//! the way runc splits them (unknown options are filesystem data such as `mode=755`).

use rustix::mount::{MountAttrFlags, MountFlags, MountPropagationFlags};

/// One propagation change: the kind plus whether it applies to the whole subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Propagation {
    pub kind: PropagationKind,
    pub recursive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropagationKind {
    Private,
    Shared,
    Slave,
    Unbindable,
}

impl Propagation {
    /// Parses `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`, `unbindable`,
    /// `runbindable`.
    pub fn parse(option: &str) -> Option<Self> {
        let (recursive, name) = match option.strip_prefix('r') {
            Some(rest) if rest != "o" && rest != "w" => (true, rest),
            _ => (false, option),
        };
        let kind = match name {
            "private" => PropagationKind::Private,
            "shared" => PropagationKind::Shared,
            "slave" => PropagationKind::Slave,
            "unbindable" => PropagationKind::Unbindable,
            _ => return None,
        };
        Some(Self { kind, recursive })
    }

    /// The `mount(2)` form, for `mount_change`.
    pub fn flags(self) -> MountPropagationFlags {
        let kind = match self.kind {
            PropagationKind::Private => MountPropagationFlags::PRIVATE,
            PropagationKind::Shared => MountPropagationFlags::SHARED,
            PropagationKind::Slave => MountPropagationFlags::DOWNSTREAM,
            PropagationKind::Unbindable => MountPropagationFlags::UNBINDABLE,
        };
        if self.recursive {
            kind | MountPropagationFlags::REC
        } else {
            kind
        }
    }

    /// The `MS_*` bit `mount_setattr` wants in `mount_attr.propagation`.
    pub fn ms_bit(self) -> u64 {
        match self.kind {
            PropagationKind::Private => libc::MS_PRIVATE,
            PropagationKind::Shared => libc::MS_SHARED,
            PropagationKind::Slave => libc::MS_SLAVE,
            PropagationKind::Unbindable => libc::MS_UNBINDABLE,
        }
    }
}

/// A parsed option list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountOptions {
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `rbind`: submounts of the source come along (and attributes apply to them too).
    pub recursive: bool,
    /// Mount attributes to set (`MOUNT_ATTR_*`).
    pub attr_set: MountAttrFlags,
    /// Mount attributes to clear (`rw`, `suid`, … and the atime field when one is chosen).
    pub attr_clr: MountAttrFlags,
    /// Superblock flags passed to the filesystem (`sync`, `dirsync`, `lazytime`).
    pub sb_flags: Vec<&'static str>,
    pub propagation: Option<Propagation>,
    /// Filesystem options (`mode=755`, `newinstance`, …), in order.
    pub data: Vec<String>,
    /// `rdocker.copyup`: fill an empty volume with the image's content first.
    pub copyup: bool,
    /// `rdocker.mkdir-source`: create a missing bind source directory.
    pub mkdir_source: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            bind: false,
            recursive: false,
            attr_set: MountAttrFlags::empty(),
            attr_clr: MountAttrFlags::empty(),
            sb_flags: Vec::new(),
            propagation: None,
            data: Vec::new(),
            copyup: false,
            mkdir_source: false,
        }
    }
}

impl MountOptions {
    pub fn parse<S: AsRef<str>>(options: &[S]) -> Self {
        let mut out = Self::default();
        for option in options {
            out.apply(option.as_ref());
        }
        out
    }

    fn apply(&mut self, option: &str) {
        type A = MountAttrFlags;
        let set = |s: &mut Self, f: A| {
            s.attr_set |= f;
            s.attr_clr &= !f;
        };
        let clr = |s: &mut Self, f: A| {
            s.attr_clr |= f;
            s.attr_set &= !f;
        };
        let atime = |s: &mut Self, f: A| {
            // The atime mode is a field, not independent bits: the kernel wants it cleared as a
            // whole before a new value is set.
            s.attr_set &= !A::MOUNT_ATTR__ATIME;
            s.attr_set |= f;
            s.attr_clr |= A::MOUNT_ATTR__ATIME;
        };
        match option {
            "bind" => self.bind = true,
            "rbind" => {
                self.bind = true;
                self.recursive = true;
            }
            "ro" => set(self, A::MOUNT_ATTR_RDONLY),
            "rro" => {
                set(self, A::MOUNT_ATTR_RDONLY);
                self.recursive = true;
            }
            "rw" => clr(self, A::MOUNT_ATTR_RDONLY),
            "nosuid" => set(self, A::MOUNT_ATTR_NOSUID),
            "suid" => clr(self, A::MOUNT_ATTR_NOSUID),
            "nodev" => set(self, A::MOUNT_ATTR_NODEV),
            "dev" => clr(self, A::MOUNT_ATTR_NODEV),
            "noexec" => set(self, A::MOUNT_ATTR_NOEXEC),
            "exec" => clr(self, A::MOUNT_ATTR_NOEXEC),
            "nosymfollow" => set(self, A::MOUNT_ATTR_NOSYMFOLLOW),
            "symfollow" => clr(self, A::MOUNT_ATTR_NOSYMFOLLOW),
            "nodiratime" => set(self, A::MOUNT_ATTR_NODIRATIME),
            "diratime" => clr(self, A::MOUNT_ATTR_NODIRATIME),
            "relatime" | "atime" | "norelatime" => atime(self, A::MOUNT_ATTR_RELATIME),
            "noatime" => atime(self, A::MOUNT_ATTR_NOATIME),
            "strictatime" | "nostrictatime" => atime(self, A::MOUNT_ATTR_STRICTATIME),
            "sync" => self.sb_flags.push("sync"),
            "dirsync" => self.sb_flags.push("dirsync"),
            "lazytime" => self.sb_flags.push("lazytime"),
            // Defaults of a fresh superblock or no-ops on Linux.
            "defaults" | "async" | "nolazytime" | "mand" | "nomand" | "loud" | "silent" | "" => {}
            "rdocker.copyup" => self.copyup = true,
            "rdocker.mkdir-source" => self.mkdir_source = true,
            other => match Propagation::parse(other) {
                Some(p) => self.propagation = Some(p),
                None => self.data.push(other.to_owned()),
            },
        }
    }

    /// `MS_*` flags for the classic `mount(2)` fallback.
    pub fn ms_flags(&self) -> MountFlags {
        let mut flags = attr_to_ms(self.attr_set);
        for sb in &self.sb_flags {
            flags |= match *sb {
                "sync" => MountFlags::SYNCHRONOUS,
                "dirsync" => MountFlags::DIRSYNC,
                _ => MountFlags::LAZYTIME,
            };
        }
        flags
    }

    /// The data string for `mount(2)`.
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

/// The `MS_*` equivalent of a set of mount attributes.
pub(crate) fn attr_to_ms(attrs: MountAttrFlags) -> MountFlags {
    type A = MountAttrFlags;
    let pairs = [
        (A::MOUNT_ATTR_RDONLY, MountFlags::RDONLY),
        (A::MOUNT_ATTR_NOSUID, MountFlags::NOSUID),
        (A::MOUNT_ATTR_NODEV, MountFlags::NODEV),
        (A::MOUNT_ATTR_NOEXEC, MountFlags::NOEXEC),
        (A::MOUNT_ATTR_NODIRATIME, MountFlags::NODIRATIME),
        (A::MOUNT_ATTR_NOSYMFOLLOW, MountFlags::NOSYMFOLLOW),
    ];
    let mut flags = MountFlags::empty();
    for (attr, ms) in pairs {
        if attrs.contains(attr) {
            flags |= ms;
        }
    }
    // RELATIME is the zero value of the atime field, which is also the kernel's default.
    let atime = attrs & A::MOUNT_ATTR__ATIME;
    if atime == A::MOUNT_ATTR_NOATIME {
        flags |= MountFlags::NOATIME;
    } else if atime == A::MOUNT_ATTR_STRICTATIME {
        flags |= MountFlags::STRICTATIME;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    type A = MountAttrFlags;

    #[test]
    fn docker_devpts_options() {
        let o = MountOptions::parse(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]);
        assert!(!o.bind);
        assert_eq!(o.attr_set, A::MOUNT_ATTR_NOSUID | A::MOUNT_ATTR_NOEXEC);
        assert_eq!(
            o.data,
            ["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
        );
        assert_eq!(o.data_string(), "newinstance,ptmxmode=0666,mode=0620,gid=5");
        assert_eq!(o.ms_flags(), MountFlags::NOSUID | MountFlags::NOEXEC);
    }

    #[test]
    fn bind_variants_and_rdocker_options() {
        let o = MountOptions::parse(&["rbind", "ro", "rprivate", "rdocker.copyup"]);
        assert!(o.bind && o.recursive && o.copyup && !o.mkdir_source);
        assert_eq!(o.attr_set, A::MOUNT_ATTR_RDONLY);
        assert_eq!(
            o.propagation,
            Some(Propagation {
                kind: PropagationKind::Private,
                recursive: true
            })
        );
        assert!(
            o.data.is_empty(),
            "rdocker options must be stripped: {:?}",
            o.data
        );

        let o = MountOptions::parse(&["bind", "rdocker.mkdir-source", "slave"]);
        assert!(o.bind && !o.recursive && o.mkdir_source);
        assert_eq!(
            o.propagation.map(|p| (p.kind, p.recursive)),
            Some((PropagationKind::Slave, false))
        );
        assert!(o.data.is_empty());
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let o = MountOptions::parse(&["ro", "rw", "nosuid", "suid", "noexec"]);
        assert_eq!(o.attr_set, A::MOUNT_ATTR_NOEXEC);
        assert!(o
            .attr_clr
            .contains(A::MOUNT_ATTR_RDONLY | A::MOUNT_ATTR_NOSUID));
        assert!(!o.attr_clr.contains(A::MOUNT_ATTR_NOEXEC));
    }

    #[test]
    fn atime_is_a_field() {
        let o = MountOptions::parse(&["noatime", "strictatime"]);
        assert_eq!(o.attr_set & A::MOUNT_ATTR__ATIME, A::MOUNT_ATTR_STRICTATIME);
        assert!(o.attr_clr.contains(A::MOUNT_ATTR__ATIME));
        assert_eq!(o.ms_flags(), MountFlags::STRICTATIME);
        let o = MountOptions::parse(&["relatime", "noatime"]);
        assert_eq!(o.ms_flags(), MountFlags::NOATIME);
    }

    #[test]
    fn tmpfs_data_and_sb_flags() {
        let o = MountOptions::parse(&["nosuid", "nodev", "mode=1777", "size=65536k", "sync"]);
        assert_eq!(o.data, ["mode=1777", "size=65536k"]);
        assert_eq!(o.sb_flags, ["sync"]);
        assert!(o
            .ms_flags()
            .contains(MountFlags::SYNCHRONOUS | MountFlags::NODEV));
    }

    #[test]
    fn propagation_names() {
        for (name, kind, rec) in [
            ("private", PropagationKind::Private, false),
            ("rshared", PropagationKind::Shared, true),
            ("rslave", PropagationKind::Slave, true),
            ("runbindable", PropagationKind::Unbindable, true),
        ] {
            let p = Propagation::parse(name).unwrap();
            assert_eq!((p.kind, p.recursive), (kind, rec), "{name}");
        }
        assert!(Propagation::parse("ro").is_none());
        assert!(Propagation::parse("rw").is_none());
        assert!(Propagation::parse("rbind").is_none());
        assert_eq!(
            Propagation::parse("rslave").unwrap().flags(),
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC
        );
    }
}
