//! A raw HTTP/1.1 client over a tokio `TcpStream`, for tests that must send header bytes a real client
//! would refuse to send (CR, LF, control characters, non-ASCII bytes, over-long values). One request per
//! connection (`connection: close`); every network operation is bounded by a timeout.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a whole request (connect, write, read to the end) may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, values as the raw bytes received, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, de-chunked when the response was chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of header `name` (case-insensitive), lossily decoded.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The one value of header `name`; `None` when absent. Fails when the header is sent twice.
    pub fn header(&self, name: &str) -> Option<String> {
        let values = self.header_values(name);
        assert!(
            values.len() <= 1,
            "header {name} sent {} times: {values:?}",
            values.len()
        );
        values.into_iter().next()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The whole head as text (status line excluded), for "this string appears in no header" checks.
    pub fn all_headers_text(&self) -> String {
        self.headers
            .iter()
            .map(|(n, v)| format!("{n}: {}\n", String::from_utf8_lossy(v)))
            .collect()
    }
}

/// The bytes of one request: request line, `host`, `connection: close`, `content-length` when there is
/// a body, then each of `header_lines` verbatim (without their line ending: `\r\n` is appended).
pub fn build_request(method: &str, path: &str, header_lines: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n")
        .into_bytes();
    if !body.is_empty() || method == "POST" || method == "PUT" {
        raw.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    for line in header_lines {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(body);
    raw
}

/// Sends one request with the given raw header lines and reads the response to the end.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    header_lines: &[&[u8]],
) -> std::io::Result<Response> {
    send_raw(addr, &build_request(method, path, header_lines, b"")).await
}

/// Sends `raw` as is and reads the response to the end (the server closes: `connection: close`).
pub async fn send_raw(addr: SocketAddr, raw: &[u8]) -> std::io::Result<Response> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(raw).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let bytes = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response in time"))??;
    parse_response(&bytes)
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// Parses a complete HTTP/1.1 response.
pub fn parse_response(bytes: &[u8]) -> std::io::Result<Response> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            invalid(format!(
                "no end of head in {:?}",
                String::from_utf8_lossy(bytes)
            ))
        })?;
    let head = &bytes[..end];
    let rest = &bytes[end + 4..];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| invalid(format!("bad header {:?}", String::from_utf8_lossy(line))))?;
        let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
        let value = trim(&line[colon + 1..]).to_vec();
        headers.push((name, value));
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case(b"chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<usize>().ok());
        match length {
            Some(n) => rest
                .get(..n)
                .ok_or_else(|| invalid(format!("body shorter than {n}")))?
                .to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn dechunk(mut rest: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("unterminated chunk size".into()))?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|e| invalid(format!("bad chunk size {size_text:?}: {e}")))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest
            .get(..size)
            .ok_or_else(|| invalid("truncated chunk".into()))?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}
