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
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{s}");
        assert!(
            e.to_string().starts_with("invalid reference format"),
            "{s}: {e}"
        );
    }
}

#[test]
fn uppercase_path_and_hex_ids() {
    let e = Reference::parse("test:5000/Uppercase/lowercase:tag").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"
    );
    let id = "f".repeat(64);
    let e = Reference::parse(&id).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    // A 64-hex *path component under a registry* is a name, not an id.
    assert!(Reference::parse(&format!("foo/{id}")).is_ok());
}
