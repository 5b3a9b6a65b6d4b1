//! A small HTTP/1.1 client over raw TCP (so tests can also send malformed requests), and
//! servers started in process on a free loopback port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use writ_serve::{Config, Server};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config serving an example directory (and its `entities.json`) on a free port.
pub fn example_config(name: &str) -> Config {
    let dir = repo_root().join("examples").join(name);
    Config {
        entities: Some(dir.join("entities.json")).filter(|p| p.is_file()),
        policies: vec![dir],
        addr: "127.0.0.1:0".parse().unwrap(),
        watch: false,
        ..Config::default()
    }
}

pub async fn start(config: Config) -> Server {
    writ_serve::start(config).await.unwrap_or_else(|e| panic!("the server did not start:\n{e}"))
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads one response (Content-Length bodies, or to the end of the stream).
pub async fn read_response(s: &mut TcpStream) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed before a response"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let mut body = buf[head_end..].to_vec();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse::<usize>().unwrap());
    match len {
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            s.read_to_end(&mut body).await?;
        }
    }
    Ok(Resp { status, headers, body })
}

/// Sends raw bytes on a fresh connection and reads one response.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(bytes).await?;
    read_response(&mut s).await
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: pdp.test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub async fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    raw(addr, &request("POST", path, &[("Content-Type", "application/json")], body.as_bytes())).await.unwrap()
}

pub async fn post_json(addr: SocketAddr, path: &str, body: &Value) -> Resp {
    post(addr, path, &body.to_string()).await
}

pub async fn get(addr: SocketAddr, path: &str) -> Resp {
    raw(addr, &request("GET", path, &[], b"")).await.unwrap()
}
