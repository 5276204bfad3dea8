//! `thermaliq health`: asks a running server whether it is healthy, for a container
//! `HEALTHCHECK` or a runbook step where no curl is installed. Exit 0 when the server answers
//! `{"status":"healthy"}`, 1 otherwise, with the reason on stderr.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;

use crate::failure::{Failure, Outcome};

/// The health path of the contract, under the API base path.
const HEALTH_PATH: &str = "/v1/thermaliq/health";

/// The base URL of the server this configuration's `bind` serves: a wildcard bind address
/// (0.0.0.0, ::) is reached on loopback, since it listens there too.
pub fn local_url(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, bind.port()))
}

/// GETs `{base_url}/v1/thermaliq/health` and prints the answer; fails unless the status is
/// `healthy`.
pub async fn health(base_url: &str, timeout: Duration) -> Outcome {
    let url = format!("{}{HEALTH_PATH}", base_url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| Failure::Other(format!("health: HTTP client: {e}")))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| Failure::Other(format!("health: {url} did not answer: {e}")))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| Failure::Other(format!("health: reading the answer of {url}: {e}")))?;
    let reported = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string));
    println!("{}", body.trim_end());
    match reported.as_deref() {
        Some("healthy") if status.is_success() => Ok(()),
        Some(other) => Err(Failure::Other(format!(
            "health: {url} answered HTTP {status} with status {other:?}"
        ))),
        None => Err(Failure::Other(format!(
            "health: {url} answered HTTP {status} without a JSON status"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_probed_on_loopback() {
        assert_eq!(
            local_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(local_url("[::]:9000".parse().unwrap()), "http://[::1]:9000");
        assert_eq!(
            local_url("10.1.2.3:80".parse().unwrap()),
            "http://10.1.2.3:80"
        );
    }
}
