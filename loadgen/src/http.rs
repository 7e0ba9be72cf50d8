//! The bare HTTP/1.1 client of the closed-loop [`crate::graphql`] load: one hyper
//! connection per worker, no pool, no TLS, a body serialised once, so the load generator
//! spends as little as possible of the CPU it shares with the server it measures. (The
//! trading load is a typed API client and uses the `client` crate instead.)

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection, one request in flight at a time.
pub type Connection = SendRequest<Full<Bytes>>;

/// Where requests go: a resolved address, the `Host` header and the path.
#[derive(Debug, Clone)]
pub struct Endpoint {
    addr: SocketAddr,
    authority: HeaderValue,
    path: Uri,
}

impl Endpoint {
    /// Resolves `http://host:port/path` once.
    ///
    /// # Errors
    /// A URL that is not plain `http://`, or a host that does not resolve.
    pub fn new(url: &Uri) -> anyhow::Result<Self> {
        if url.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported, not {url}");
        }
        let authority = url.authority().context("the URL has no host")?.clone();
        let port = authority.port_u16().unwrap_or(80);
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(authority.host(), port))
            .with_context(|| format!("resolving {authority}"))?
            .next()
            .with_context(|| format!("{authority} resolves to no address"))?;
        let path = url
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string)
            .parse()
            .context("the URL's path")?;
        Ok(Self {
            addr,
            authority: HeaderValue::from_str(authority.as_str())?,
            path,
        })
    }

    /// The resolved socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Opens a connection (`TCP_NODELAY`, HTTP/1.1 handshake).
    ///
    /// # Errors
    /// The server does not accept the connection.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(async move {
            // Ends when the worker drops its sender or the server closes; either way the
            // worker sees the error on its next send and reconnects.
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// POSTs a JSON body and reads the whole answer.
    ///
    /// # Errors
    /// The connection broke (the caller reconnects).
    pub async fn post_json(
        &self,
        sender: &mut Connection,
        body: Bytes,
        headers: &[(HeaderName, HeaderValue)],
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        sender.ready().await.context("connection not ready")?;
        let mut request = Request::post(self.path.clone())
            .header(header::HOST, self.authority.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(body))?;
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let response = sender.send_request(request).await.context("sending")?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading the body")?
            .to_bytes();
        Ok((status, body))
    }
}
