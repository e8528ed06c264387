//! `locklab explore`: the Stateright Explorer serves the model.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::locklab;

/// Kills the explorer when the test ends, passed or failed.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_explorer_serves_the_model_on_a_loopback_port() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_locklab"))
        .args(["explore", "naive", "--faults", "pause", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start locklab explore");
    let stderr = child.stderr.take().expect("stderr");
    let _explorer = Killed(child);
    let mut stderr = BufReader::new(stderr);
    let mut line = String::new();
    stderr.read_line(&mut line).expect("the banner");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // The banner comes just before the server binds: wait (bounded) for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(&addr) {
            Ok(stream) => break stream,
            Err(e) if std::time::Instant::now() > deadline => panic!("connect to {addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(stream, "GET /.states/0 HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    // The steps from the initial state, named and told as in a counterexample.
    assert!(response.contains("acquire c1"), "{response}");
    assert!(response.contains("c1 acquires the lock"), "{response}");
}

#[test]
fn a_busy_port_or_bad_scenario_is_one_line_and_exit_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("addr").port().to_string();
    for args in [
        vec!["explore", "naive", "--port", port.as_str()],
        vec!["explore", "redlok"],
        vec!["explore", "naive", "--faults", "gc"],
        vec!["explore", "naive", "--clients", "0"],
    ] {
        let run = locklab(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
    }
}
