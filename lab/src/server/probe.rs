//! Asking a server whether it is up, over raw RESP: no client crate, every
//! step under a timeout.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `PING` to `127.0.0.1:port` and succeeds when the reply is `+PONG`
/// within `timeout` (applied to the connect, the write and the read each).
/// A paused (SIGSTOPped) server accepts the connection, since the kernel
/// does that, but never answers: the error is then `WouldBlock` or
/// `TimedOut`.
pub fn ping(port: u16, timeout: Duration) -> io::Result<()> {
    let mut conn = Conn::open(port, timeout)?;
    conn.ping()
}

/// `PING`, then `INFO server`: the process id of the server that answers on
/// `port`, so that the lab never mistakes someone else's server for its own.
pub(crate) fn ping_and_pid(port: u16, timeout: Duration) -> io::Result<u32> {
    let mut conn = Conn::open(port, timeout)?;
    conn.ping()?;
    conn.send("INFO server")?;
    let info = conn.read_bulk()?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .ok_or_else(|| invalid("INFO server has no process_id"))
}

struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16, timeout: Duration) -> io::Result<Self> {
        // A zero timeout is an error for the socket calls below.
        let timeout = timeout.max(Duration::from_millis(1));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    fn send(&mut self, inline_command: &str) -> io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(inline_command.as_bytes())?;
        stream.write_all(b"\r\n")
    }

    fn ping(&mut self) -> io::Result<()> {
        self.send("PING")?;
        let line = self.read_line()?;
        if line == "+PONG" {
            Ok(())
        } else {
            Err(invalid(&format!("PING got {line:?}")))
        }
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    fn read_bulk(&mut self) -> io::Result<String> {
        let header = self.read_line()?;
        let len: usize = header
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid(&format!("expected a bulk string, got {header:?}")))?;
        let mut body = vec![0; len + 2];
        self.reader.read_exact(&mut body)?;
        body.truncate(len);
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}
