//! A TCP forwarder on 127.0.0.1 that a test can switch off, to make a service behind it
//! unreachable in the middle of a run (open connections are cut, new ones refused).

use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (up, _) = watch::channel(true);
        let watch_up = up.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut rx = watch_up.subscribe();
                if !*rx.borrow() {
                    drop(inbound);
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = async { while rx.changed().await.is_ok() { if !*rx.borrow() { break; } } } => {}
                    }
                });
            }
        });
        Proxy { addr, up, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `false`: every open connection is cut and new ones are closed at once.
    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}
