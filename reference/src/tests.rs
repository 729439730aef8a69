//! Cases from docker/distribution's `reference/normalize_test.go` and `reference_test.go`.

use super::*;

const D: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn full(s: &str) -> String {
    Reference::parse(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .to_string()
}

#[test]
fn normalises_like_docker() {
    let cases: &[(&str, &str)] = &[
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        (
            "docker.io/library/busybox",
            "docker.io/library/busybox:latest",
        ),
        (
            "index.docker.io/busybox",
            "docker.io/library/busybox:latest",
        ),
        ("foo/bar", "docker.io/foo/bar:latest"),
        ("test_com", "docker.io/library/test_com:latest"),
        ("test.com:tag", "docker.io/library/test.com:tag"),
        ("test.com:5000", "docker.io/library/test.com:5000"),
        ("test.com/repo:tag", "test.com/repo:tag"),
        ("test:5000/repo", "test:5000/repo:latest"),
        ("test:5000/repo:tag", "test:5000/repo:tag"),
        (
            "lowercase:Uppercase",
            "docker.io/library/lowercase:Uppercase",
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux",
            "sub-dom1.foo.com/bar/baz/quux:latest",
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io/test.example.com/my-app:test.example.com",
        ),
        (
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com/myimage:xn--n3h.com",
        ),
        ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
        ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"),
        ("localhost/foo", "localhost/foo:latest"),
        ("localhost:5000/foo/bar", "localhost:5000/foo/bar:latest"),
        ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest"),
        ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo:latest"),
        ("[2001:db8::1]/repo", "[2001:db8::1]/repo:latest"),
        ("Uppercase/lowercase", "Uppercase/lowercase:latest"),
        ("a/a/a/a", "docker.io/a/a/a/a:latest"),
        ("foo__bar", "docker.io/library/foo__bar:latest"),
        ("foo-----bar", "docker.io/library/foo-----bar:latest"),
        ("foo.bar_baz-1", "docker.io/library/foo.bar_baz-1:latest"),
    ];
    for (input, want) in cases {
        assert_eq!(&full(input), want, "input {input}");
    }
}

#[test]
fn digests_and_tags() {
    let r = Reference::parse(&format!("test:5000/repo@{D}")).unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest(), Some(D));
    assert_eq!(r.to_string(), format!("test:5000/repo@{D}"));
    let r = Reference::parse(&format!("test:5000/repo:tag@{D}")).unwrap();
    assert_eq!(r.tag(), Some("tag"));
    assert_eq!(r.digest(), Some(D));
    let r = Reference::parse(&format!("busybox@{D}")).unwrap();
    assert_eq!(r.familiar(), format!("busybox@{D}"));
    assert_eq!(r.registry(), "docker.io");
    assert_eq!(r.repository(), "library/busybox");
    let r = Reference::parse_no_default_tag("busybox").unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.with_tag("1").familiar(), "busybox:1");
}

#[test]
fn familiar_forms() {
    let f = |s: &str| Reference::parse(s).unwrap().familiar();
    assert_eq!(f("busybox"), "busybox:latest");
    assert_eq!(f("docker.io/library/busybox:1"), "busybox:1");
    assert_eq!(f("docker.io/foo/bar"), "foo/bar:latest");
    assert_eq!(f("docker.io/library/a/b"), "library/a/b:latest");
    assert_eq!(f("127.0.0.1:5000/foo:x"), "127.0.0.1:5000/foo:x");
    assert_eq!(
        Reference::parse("localhost:5000/x")
            .unwrap()
            .familiar_name(),
        "localhost:5000/x"
    );
}

#[test]
fn rejects_invalid() {
    let long = "a".repeat(256);
    let bad: Vec<String> = vec![
        "".into(),
        ":justtag".into(),
        format!("@{D}"),
        "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            .into(),
        "validname@sha256:fff".into(),
        "a@sha256:abc".into(),
        "a:t@x".into(),
        "repo@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF".into(),
        "aa/asdf$$^/aa".into(),
        "-foo".into(),
        "foo-".into(),
        "foo___bar".into(),
        "foo..bar".into(),
        "foo/.bar".into(),
        "foo//bar".into(),
        "a/".into(),
        "busybox:latest:foo".into(),
        "busybox:".into(),
        "busybox:-tag".into(),
        format!("busybox:{}", "t".repeat(129)),
        long,
        "-host.com/foo".into(),
        "host-.com/foo".into(),
        ":5000/foo".into(),
        "test:50a0/repo".into(),
        "[::1/foo".into(),
        "[zz::1]/foo".into(),
        "foo bar".into(),
    ];
    for s in &bad {
        let e = Reference::parse(s).expect_err(s);
        assert!(
            e.to_string().starts_with("invalid reference format"),
            "{s}: {e}"
        );
        assert!(Reference::parse_no_default_tag(s).is_err(), "{s}");
    }
    assert!(Reference::parse("a__b.c-d---e").is_ok());
}

#[test]
fn error_messages_are_dockers() {
    let msg = |s: &str| Reference::parse(s).unwrap_err().to_string();
    assert_eq!(msg("foo bar"), "invalid reference format");
    assert_eq!(
        msg("test:5000/Uppercase/lowercase:tag"),
        "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"
    );
    // Docker Hub names are checked after `library/` is added, as Docker does.
    assert_eq!(
        msg("Busybox"),
        "invalid reference format: repository name (library/Busybox) must be lowercase"
    );
    assert_eq!(
        Reference::parse("Busybox").unwrap_err(),
        ReferenceError::NotLowercase("library/Busybox".into())
    );
    // The length limit applies to the normalised name (`docker.io/library/…`).
    assert_eq!(
        msg(&"a".repeat(240)),
        "invalid reference format: repository name must not be more than 255 characters"
    );
    assert!(Reference::parse(&"a".repeat(237)).is_ok());
}

#[test]
fn hex_ids_are_not_references() {
    let id = "f".repeat(64);
    assert_eq!(
        Reference::parse(&id).unwrap_err().to_string(),
        format!("invalid repository name ({id}), cannot specify 64-byte hexadecimal strings")
    );
    assert_eq!(
        Reference::parse_no_default_tag(&id).unwrap_err(),
        ReferenceError::IsId(id.clone())
    );
    // A 64-hex *path component under a registry* is a name, not an id.
    assert!(Reference::parse(&format!("foo/{id}")).is_ok());
    assert!(is_full_hex_id(&id));
    assert!(!is_full_hex_id(&"F".repeat(64)));
    assert!(!is_full_hex_id(&"f".repeat(63)));
}

#[test]
fn no_default_tag_keeps_what_was_given() {
    let p = |s: &str| Reference::parse_no_default_tag(s).expect(s);
    assert_eq!(p("busybox").to_string(), "docker.io/library/busybox");
    assert_eq!(p("user/app:1.0").to_string(), "docker.io/user/app:1.0");
    assert_eq!(
        p("index.docker.io/busybox:1").to_string(),
        "docker.io/library/busybox:1"
    );
    let r = p("localhost:5000/a/b:t");
    assert_eq!((r.registry(), r.repository()), ("localhost:5000", "a/b"));
    assert_eq!(r.tag(), Some("t"));
    assert_eq!(r.familiar_name(), "localhost:5000/a/b");
    assert_eq!(p("localhost/x").registry(), "localhost");
    assert_eq!(p("docker.io/library/busybox").familiar_name(), "busybox");
    assert_eq!(p("docker.io/library/a/b").familiar_name(), "library/a/b");
    let r = p(&format!("busybox:1.36@{D}"));
    assert_eq!(r.to_string(), format!("docker.io/library/busybox:1.36@{D}"));
    assert_eq!(r.familiar(), format!("busybox:1.36@{D}"));
    assert_eq!(
        r.with_digest(D).to_string(),
        format!("docker.io/library/busybox@{D}")
    );
}

#[test]
fn digest_validation() {
    assert!(validate_digest(D).is_ok());
    assert!(validate_digest(&format!("sha512:{}", "a".repeat(128))).is_ok());
    for bad in [
        "sha256:fff",
        "sha512:ffff",
        "md5:ffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ] {
        assert_eq!(
            validate_digest(bad),
            Err(ReferenceError::InvalidFormat),
            "{bad}"
        );
    }
}
