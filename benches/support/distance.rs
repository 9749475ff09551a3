//! Distance, the way a network has it: a TCP relay on 127.0.0.1 in front of the API server that delays
//! every byte by half a round-trip time in each direction, and a new connection by one round trip
//! (the TCP handshake) before anything flows. TLS passes through untouched, so a client pays what it
//! would pay at that distance: one RTT to connect, one (TLS 1.3) to set up TLS, one per exchange it
//! waits on. Requests sent together travel together; nothing is charged per request as such.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Distance {
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl Distance {
    /// A relay to `127.0.0.1:target` at `rtt`.
    pub fn start(target: u16, rtt: Duration) -> Distance {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the distance relay");
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::Relaxed);
                std::thread::spawn(move || relay(client, target, rtt));
            }
        });
        Distance { port, connections }
    }

    /// TCP connections clients opened through the relay so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

fn relay(client: TcpStream, target: u16, rtt: Duration) {
    // SYN, SYN-ACK: the first byte can leave only one round trip after connect() began.
    std::thread::sleep(rtt);
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (c2, u2) = match (client.try_clone(), upstream.try_clone()) {
        (Ok(c), Ok(u)) => (c, u),
        _ => return,
    };
    let half = rtt / 2;
    let up = std::thread::spawn(move || delayed_copy(client, upstream, half));
    delayed_copy(u2, c2, half);
    let _ = up.join();
}

/// Copies `from` to `to`, each chunk delivered `delay` after it was read (order kept, pipelined).
fn delayed_copy(mut from: TcpStream, to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        let mut to = to;
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}
