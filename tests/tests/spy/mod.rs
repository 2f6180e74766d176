//! A stand-in for a server the user never meant to trust: it records every request that
//! reaches it (head and body) and answers each with one fixed response.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the spy answers when nothing else is asked for: a reply a mem0 client would take
/// as success, so that a leak would also show as a command that worked.
pub const API_LIKE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
    Content-Length: 31\r\nConnection: close\r\n\r\n{\"success\":true,\"contexts\":[]}\n";

pub struct Spy {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Spy {
    pub fn start() -> Self {
        Self::answering(API_LIKE.to_owned())
    }

    pub fn answering(response: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        // Lives as long as the test binary; it only ever waits in accept.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = read_request(&mut stream);
                record.lock().expect("not poisoned").push(request);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Self { url, seen }
    }

    /// Every request that arrived, as text; a connection that sent nothing shows as "".
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// The head and, by its Content-Length, the body: read whole, so that the answer is not
/// lost to a reset over unread bytes.
fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut text = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return text,
            Ok(_) => {}
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        let end = line == "\r\n";
        text.push_str(&line);
        if end {
            break;
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    if reader.read_exact(&mut body).is_ok() {
        text.push_str(&String::from_utf8_lossy(&body));
    }
    text
}
