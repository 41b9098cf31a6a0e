//! systemd's service notification protocol (`sd_notify(3)`), for units of `Type=notify`:
//! `READY=1` once the server serves, `STATUS=` lines as its health changes, `STOPPING=1`
//! when the drain begins. One datagram to the socket named by `NOTIFY_SOCKET` (a path, or
//! `@name` in the abstract namespace); without that variable (not under systemd) nothing
//! is sent. Never fails the server: a lost notification is logged.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;

/// Sends `state` (newline-separated `KEY=VALUE` lines) to systemd, if it asked for them.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else { return };
    if let Err(e) = send_to(&socket, state) {
        tracing::warn!(error = %e, socket = ?socket, "cannot notify systemd");
    }
}

/// One datagram with `state` to `socket`: a path, or `@name` for the abstract namespace.
pub fn send_to(socket: &OsStr, state: &str) -> std::io::Result<()> {
    let d = UnixDatagram::unbound()?;
    match socket.as_bytes().strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            d.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            d.send_to(state.as_bytes(), socket)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What systemd would receive, on a socket of its own: a path, and an abstract name.
    #[test]
    fn sends_one_datagram_to_the_named_socket() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut buf = [0u8; 64];
        send_to(path.as_os_str(), "READY=1\nSTATUS=serving").unwrap_or_else(|e| panic!("{e}"));
        let n = listener.recv(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("consentd-notify-test-{}", std::process::id());
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let abstract_listener = UnixDatagram::bind_addr(&addr).unwrap_or_else(|e| panic!("{e}"));
        send_to(OsStr::new(&format!("@{name}")), "STOPPING=1").unwrap_or_else(|e| panic!("{e}"));
        let n = abstract_listener.recv(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
