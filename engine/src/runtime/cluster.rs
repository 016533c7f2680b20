//! Connecting the processes of a cluster.
//!
//! Timely can open the sockets itself, but it polls for peers once a
//! second and prints progress lines to stdout, where they mix with the
//! user's output. Here every process listens on its own address and dials
//! the processes before it, retrying every few milliseconds until a
//! deadline, and a handshake rejects anything that is not a Rillet peer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks};

use crate::errors::RunError;

const MAGIC: &[u8; 8] = b"RILLET01";
const RETRY: Duration = Duration::from_millis(10);

/// How long to wait for every process of the cluster to come up.
pub fn connect_timeout() -> Duration {
    std::env::var("RILLET_CLUSTER_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(120))
}

/// Sockets to every other process, by process index (`None` for this one).
pub fn connect(addresses: &[String], me: usize, timeout: Duration) -> Result<Vec<Option<TcpStream>>, RunError> {
    let deadline = Instant::now() + timeout;
    let listener = TcpListener::bind(&addresses[me]).map_err(|e| {
        RunError::External(format!(
            "process {me} can't listen on {}: {e}; is another program using that port, \
             or is the address not one of this machine's?",
            addresses[me]
        ))
    })?;
    listener.set_nonblocking(true).map_err(|e| RunError::External(format!("listening on {}: {e}", addresses[me])))?;

    let mut sockets: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    // Dial the processes before us while accepting those after us.
    let accepted = std::thread::scope(|scope| {
        let acceptor = scope.spawn(|| accept_later(&listener, addresses, me, deadline));
        for (peer, address) in addresses.iter().enumerate().take(me) {
            sockets[peer] = Some(dial(address, peer, me, deadline)?);
        }
        acceptor.join().map_err(|_| RunError::Internal("the cluster acceptor thread panicked".into()))?
    })?;
    for (peer, stream) in accepted {
        sockets[peer] = Some(stream);
    }
    Ok(sockets)
}

fn dial(address: &str, peer: usize, me: usize, deadline: Instant) -> Result<TcpStream, RunError> {
    let target = address
        .to_socket_addrs()
        .map_err(|e| RunError::External(format!("can't resolve the address of process {peer}, {address:?}: {e}")))?
        .next()
        .ok_or_else(|| {
            RunError::External(format!("the address of process {peer}, {address:?}, resolves to nothing"))
        })?;
    loop {
        match TcpStream::connect_timeout(&target, RETRY.max(Duration::from_millis(100))) {
            Ok(mut stream) => {
                stream.set_nodelay(true).ok();
                let mut hello = [0u8; 16];
                hello[..8].copy_from_slice(MAGIC);
                hello[8..].copy_from_slice(&(me as u64).to_le_bytes());
                stream
                    .write_all(&hello)
                    .map_err(|e| RunError::External(format!("greeting process {peer} at {address}: {e}")))?;
                return Ok(stream);
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(RunError::External(format!(
                    "process {me} could not reach process {peer} at {address} in time ({e}); start every \
                     process of the cluster with the same `-a` address list and its own `-i` id, or raise \
                     RILLET_CLUSTER_TIMEOUT (seconds)"
                )));
            }
            Err(_) => std::thread::sleep(RETRY),
        }
    }
}

fn accept_later(
    listener: &TcpListener,
    addresses: &[String],
    me: usize,
    deadline: Instant,
) -> Result<Vec<(usize, TcpStream)>, RunError> {
    let expected = addresses.len() - me - 1;
    let mut accepted: Vec<(usize, TcpStream)> = Vec::with_capacity(expected);
    while accepted.len() < expected {
        match listener.accept() {
            Ok((mut stream, from)) => {
                stream.set_nonblocking(false).ok();
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut hello = [0u8; 16];
                let peer = stream
                    .read_exact(&mut hello)
                    .ok()
                    .filter(|_| &hello[..8] == MAGIC)
                    .map(|_| u64::from_le_bytes(hello[8..].try_into().expect("8 bytes")) as usize);
                match peer {
                    Some(peer) if peer > me && peer < addresses.len() && !accepted.iter().any(|(p, _)| *p == peer) => {
                        stream.set_read_timeout(None).ok();
                        stream.set_nodelay(true).ok();
                        accepted.push((peer, stream));
                    }
                    // Not a Rillet peer of this cluster (a port scanner, a
                    // stale process): ignore it and keep waiting.
                    _ => eprintln!(
                        "rillet: process {me} ignored a connection from {from} that is not a peer of this cluster"
                    ),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<usize> =
                        (me + 1..addresses.len()).filter(|p| !accepted.iter().any(|(a, _)| a == p)).collect();
                    return Err(RunError::External(format!(
                        "process {me} waited in vain for process(es) {missing:?} to connect to {}; start every \
                         process of the cluster with the same `-a` address list and its own `-i` id, or raise \
                         RILLET_CLUSTER_TIMEOUT (seconds)",
                        addresses[me]
                    )));
                }
                std::thread::sleep(RETRY);
            }
            Err(e) => return Err(RunError::External(format!("accepting peers on {}: {e}", addresses[me]))),
        }
    }
    Ok(accepted)
}

/// Timely allocators for `threads` workers in this process, wired to the
/// other processes through `sockets`. The guard keeps the network threads
/// alive and must outlive the workers.
pub fn allocators(
    sockets: Vec<Option<TcpStream>>,
    me: usize,
    threads: usize,
) -> Result<(Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>), RunError> {
    let hooks = Hooks::default();
    let process = ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) = initialize_networking_from_sockets(process, sockets, me, threads, hooks)
        .map_err(|e| RunError::External(format!("starting the cluster's network threads: {e}")))?;
    Ok((builders.into_iter().map(AllocatorBuilder::Tcp).collect(), Box::new(guard)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_addresses(n: usize) -> Vec<String> {
        let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        listeners.iter().map(|l| l.local_addr().unwrap().to_string()).collect()
    }

    #[test]
    fn three_processes_connect_in_any_start_order() {
        let addresses = free_addresses(3);
        let handles: Vec<_> = [2usize, 0, 1]
            .into_iter()
            .map(|me| {
                let addresses = addresses.clone();
                std::thread::spawn(move || (me, connect(&addresses, me, Duration::from_secs(10))))
            })
            .collect();
        for handle in handles {
            let (me, sockets) = handle.join().unwrap();
            let sockets = sockets.unwrap_or_else(|e| panic!("process {me}: {e}"));
            assert_eq!(sockets.len(), 3);
            for (peer, socket) in sockets.iter().enumerate() {
                assert_eq!(socket.is_none(), peer == me, "process {me}, peer {peer}");
            }
        }
    }

    #[test]
    fn a_missing_peer_is_a_clear_error_after_the_deadline() {
        let addresses = free_addresses(2);
        let err = connect(&addresses, 1, Duration::from_millis(200)).unwrap_err().to_string();
        assert!(err.contains("could not reach process 0"), "{err}");
        assert!(err.contains("RILLET_CLUSTER_TIMEOUT"), "{err}");
        let err = connect(&addresses, 0, Duration::from_millis(200)).unwrap_err().to_string();
        assert!(err.contains("waited in vain for process(es) [1]"), "{err}");
    }

    #[test]
    fn strangers_are_ignored() {
        let addresses = free_addresses(2);
        let listening = addresses.clone();
        let process0 = std::thread::spawn(move || connect(&listening, 0, Duration::from_secs(5)));
        // A stranger gets in first, with a greeting that is not a peer's.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut stranger = loop {
            match TcpStream::connect(&addresses[0]) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(Instant::now() < deadline, "process 0 never listened: {e}");
                    std::thread::sleep(RETRY);
                }
            }
        };
        stranger.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let sockets1 = connect(&addresses, 1, Duration::from_secs(5)).unwrap();
        assert!(sockets1[0].is_some());
        let sockets0 = process0.join().unwrap().unwrap();
        assert!(sockets0[1].is_some());
    }
}
