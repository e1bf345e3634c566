//! The HTTP side of the nodes: a client, Prometheus metrics (the only window into what a
//! separate process shows while its broker is gone) and the counters' local API.

use super::*;

pub fn http_client() -> reqwest::Client {
    // No pooled connections: a connection kept to a process that was killed would fail
    // the next call without it ever reaching the restarted process.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

pub async fn metrics_text(http: &reqwest::Client, address: &str) -> Option<String> {
    let response = http
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .ok()?;
    response.text().await.ok()
}

/// The value of one series (`name` or `name{labels}`) in a Prometheus text page.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Refused bus messages by reason, from a Prometheus text page.
pub fn refusals(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("raincheck_bus_messages_refused_total{reason=\"")?;
            let (reason, value) = rest.split_once("\"} ")?;
            Some((reason.to_owned(), value.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// Polls a node's metrics (bounded) until `condition` holds. Nothing outside the process
/// signals a change of its metrics, and the node may not be listening yet.
pub async fn wait_metrics(
    http: &reqwest::Client,
    address: &str,
    within: Duration,
    what: &str,
    condition: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    loop {
        if let Some(text) = metrics_text(http, address).await {
            if condition(&text) {
                return text;
            }
            last = text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what} at {address}; last metrics:\n{last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Why a counter API call did not give the answer asked for.
#[derive(Debug)]
pub enum CallError {
    /// Nothing listening (the process is down or restarting): the call was never made.
    NotListening(String),
    /// The call was made but no answer came: the process died while serving it.
    NoAnswer(String),
    /// An HTTP answer with an error status.
    Refused(u16, Value),
}

fn call_error(error: reqwest::Error) -> CallError {
    if error.is_connect() {
        CallError::NotListening(error.to_string())
    } else {
        CallError::NoAnswer(error.to_string())
    }
}

/// The counter's local API (`counter.api_listen`).
#[derive(Clone)]
pub struct CounterApi {
    pub base: String,
    pub(super) http: reqwest::Client,
}

impl CounterApi {
    async fn post(&self, path: &str, body: Value) -> Result<(u16, Value), CallError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(call_error)?;
        let status = response.status().as_u16();
        let body = response
            .json()
            .await
            .map_err(|error| CallError::NoAnswer(error.to_string()))?;
        Ok((status, body))
    }

    /// Issues a popcorn voucher; the compact code once the counter says it is durable.
    pub async fn issue(&self) -> Result<String, CallError> {
        match self
            .post(
                "/v1/vouchers",
                json!({ "offer": "popcorn", "staff": "chaos" }),
            )
            .await?
        {
            (201, body) => Ok(body["code"]
                .as_str()
                .unwrap_or_else(|| panic!("201 without a code: {body}"))
                .replace('-', "")),
            (status, body) => Err(CallError::Refused(status, body)),
        }
    }

    /// The counter's answer to a redemption ("VALID", "ALREADY REDEEMED", …).
    pub async fn redeem(&self, code: &str) -> Result<String, CallError> {
        match self
            .post("/v1/redemptions", json!({ "code": code, "staff": "chaos" }))
            .await?
        {
            (200, body) => Ok(body["answer"]
                .as_str()
                .unwrap_or_else(|| panic!("200 without an answer: {body}"))
                .to_owned()),
            (status, body) => Err(CallError::Refused(status, body)),
        }
    }

    /// What the counter holds about `code` (`None`: valid, but no record here yet).
    pub async fn record(&self, code: &str) -> Result<Option<VoucherRecord>, CallError> {
        let response = self
            .http
            .get(format!("{}/v1/vouchers/{code}", self.base))
            .send()
            .await
            .map_err(call_error)?;
        match response.status().as_u16() {
            404 => Ok(None),
            200 => response
                .json()
                .await
                .map(Some)
                .map_err(|error| CallError::NoAnswer(error.to_string())),
            status => Err(CallError::Refused(
                status,
                response.json().await.unwrap_or(Value::Null),
            )),
        }
    }

    /// Waits (bounded) until the counter says on `/healthz` that it serves requests.
    pub async fn wait_serving(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let health = self.http.get(format!("{}/healthz", self.base)).send().await;
            let serving = match health {
                Ok(response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|health| health["serving"] == true),
                Err(_) => false,
            };
            if serving {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the counter at {} did not serve within {within:?}",
                self.base
            );
            // Nothing pushes readiness to a client: ask again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
