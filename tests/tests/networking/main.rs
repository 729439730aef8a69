//! Networking end to end (issue 5), against Docker's behaviour: published ports (loopback,
//! every address, random, `-P`, ranges, UDP, hairpin), user networks with the embedded DNS
//! (names, aliases, short ids, isolation, forwarding to the test's own upstream), network
//! modes (host, none, container:), outbound NAT to a test host in a namespace of its own,
//! internal networks, /etc/hosts and resolv.conf, bad input that leaves nothing half-created,
//! and leaks after rm / network rm.
//!
//! Traffic goes only to 127.0.0.0/8, container addresses and the test host (198.18.128.0/17,
//! its own netns). `RDOCKER_NET_CLI=docker` drives the suite with the stock docker CLI instead
//! of rdocker (to tell an engine bug from a CLI bug).

mod bad_input;
mod common;
mod etc_files;
mod leaks;
mod modes;
mod outbound;
mod ports;
mod user_nets;
