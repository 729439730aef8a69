//! kill -9 of rdockerd in the middle of a pull: after a restart the image is absent or whole,
//! no temporary files remain in the data root, and the next pull succeeds.

use std::time::Duration;

use rdocker_tests::e2e;
use rdocker_tests::netfault::ThrottledProxy;
use rdocker_tests::util::wait_for;
use rdocker_tests::{fixtures, require_root, RegistryAuth, TestDaemon, TestRegistry};

fn dir_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    e2e::walk(p, &mut |_, m| {
        if m.is_file() {
            n += m.len();
        }
    });
    n
}

#[test]
fn kill9_mid_pull_then_recover() {
    require_root!();
    let reg = TestRegistry::start(RegistryAuth::None).unwrap();
    fixtures::push_sets(&reg, &["bulky"]).unwrap();
    // ≈31 MB at 6 MB/s: the pull lasts ~5 s, long enough to be killed in the middle.
    let proxy = ThrottledProxy::start(reg.addr(), 6 << 20).unwrap();
    let mut d = TestDaemon::start(&[], &[]).expect("rdockerd starts");
    let name = format!("{}/bulky", proxy.addr());

    let mut cli = d.cli_spawn(&["pull", &name]).unwrap();
    let started = wait_for(Duration::from_secs(30), || {
        (dir_size(&d.data_root()) > 4 << 20).then_some(())
    });
    if started.is_none() {
        let _ = cli.kill();
        panic!("the pull never wrote 4 MB into the data root\n{}", d.log());
    }
    d.kill9();
    let _ = cli.kill();
    let _ = cli.wait();

    d.restart().expect("rdockerd restarts after kill -9");
    let problems = e2e::store_problems(&d.data_root());
    assert!(
        problems.is_empty(),
        "after restart: {problems:?}\n{}",
        d.log()
    );
    let inspect = d.cli(&["image", "inspect", &name]);
    if inspect.success() {
        // Recorded means whole: every layer unpacked in full.
        for i in 0..3 {
            let dirs = e2e::layers_with(&d.data_root(), &format!("bulk/random-{i}.bin"));
            assert_eq!(dirs.len(), 1, "image recorded but layer {i} missing");
            let len = std::fs::metadata(dirs[0].join(format!("bulk/random-{i}.bin")))
                .unwrap()
                .len();
            assert_eq!(len, 10 << 20, "layer {i} cut short");
        }
    } else {
        assert!(inspect.all().contains("No such image"), "{inspect}");
    }

    // The next pull (straight from the registry, no throttle) succeeds and is whole.
    let direct = format!("{}/bulky", reg.addr());
    d.cli(&["pull", &direct]).assert_ok();
    for i in 0..3 {
        let dirs = e2e::layers_with(&d.data_root(), &format!("bulk/random-{i}.bin"));
        assert_eq!(dirs.len(), 1, "layer {i}");
    }
    let problems = e2e::store_problems(&d.data_root());
    assert!(problems.is_empty(), "after the second pull: {problems:?}");
    drop(proxy);
}

/// SIGTERM during a pull: the daemon exits cleanly (0) within its grace period and leaves
/// nothing half-done.
#[test]
fn sigterm_mid_pull_exits_cleanly() {
    require_root!();
    let reg = TestRegistry::start(RegistryAuth::None).unwrap();
    fixtures::push_sets(&reg, &["bulky"]).unwrap();
    let proxy = ThrottledProxy::start(reg.addr(), 4 << 20).unwrap();
    let mut d = TestDaemon::start(&[], &[]).expect("rdockerd starts");
    let mut cli = d
        .cli_spawn(&["pull", &format!("{}/bulky", proxy.addr())])
        .unwrap();
    wait_for(Duration::from_secs(30), || {
        (dir_size(&d.data_root()) > 4 << 20).then_some(())
    });
    let code = d.stop(Duration::from_secs(30));
    let _ = cli.kill();
    let _ = cli.wait();
    assert_eq!(
        code,
        Some(0),
        "rdockerd should exit 0 on SIGTERM\n{}",
        d.log()
    );
    d.restart().unwrap();
    let problems = e2e::store_problems(&d.data_root());
    assert!(problems.is_empty(), "{problems:?}");
}
