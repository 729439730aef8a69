//! rdocker end-to-end test harness.
