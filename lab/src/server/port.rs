//! Picking a free loopback port.

use std::io;
use std::net::{Ipv4Addr, TcpListener};

/// A port on 127.0.0.1 that was free a moment ago: bind port 0, read the
/// port the kernel chose, close the socket.
///
/// Another process can take the port before the server binds it; the caller
/// notices ("Address already in use" in the server's log) and tries again
/// with a new port.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether a server's log says it could not bind its port.
pub(crate) fn log_says_port_in_use(log: &str) -> bool {
    log.contains("Address already in use")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_nonzero_and_bindable() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn recognises_redis_bind_failure() {
        let log = "1:M 01 Jan 2025 00:00:00.000 # Warning: Could not create server TCP \
                   listening socket 127.0.0.1:4242: bind: Address already in use\n\
                   1:M 01 Jan 2025 00:00:00.000 # Failed listening on port 4242 (TCP), aborting.\n";
        assert!(log_says_port_in_use(log));
        assert!(!log_says_port_in_use("Ready to accept connections"));
    }
}
