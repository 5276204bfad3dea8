//! One OPC UA server's task: connect (endpoint discovery, secure channel, session), then
//! either keep a subscription or read every node at an interval; on any loss of the
//! connection drop the session and connect afresh after a backoff, behind a circuit breaker.
//!
//! Reconnection is ours, not async-opcua's (its session is told never to reconnect): every
//! new session creates its subscription anew, so what the server sends after an outage is
//! exactly what it holds then, and health, backoff and breaker follow one rule for both modes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connectors::Reading;
use connectors::buffer::Buffer;
use connectors::modbus::{Health, SourceStatus};
use connectors::opcua_config::{Identity, Mode, OpcUaSource, SecurityMode, SecurityPolicy};
use connectors::telemetry::{ERRORS, HEALTH, REQUEST_DURATION, REQUESTS};
use futures_util::StreamExt;
use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};
use opcua::client::{
    Client, ClientBuilder, DataChangeCallback, IdentityToken, Password, Session, SessionPollResult,
};
use opcua::types::{
    DataValue, EndpointDescription, MessageSecurityMode, MonitoredItemCreateRequest, NodeId,
    ReadValueId, TimestampsToReturn,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::OPC_UA;
use crate::value;

/// Interval of the session keep-alive reads; two failed in a row close the session, so a
/// server that hangs without closing its socket is noticed within about this twice.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Failed keep-alives that close the session.
const KEEP_ALIVE_FAILURES: u64 = 2;
/// Publishing intervals without a change after which the server still sends a keep-alive.
const MAX_KEEP_ALIVE_COUNT: u32 = 10;
/// Publishing intervals without a publish request after which the server drops the
/// subscription (three times the keep-alive count, as OPC UA Part 4 requires at least).
const LIFETIME_COUNT: u32 = 30;
/// Most samples the server queues per node between two publishes.
const MAX_QUEUE_SIZE: u32 = 1_000;

/// Why a connection (or a poll) failed; `kind` is the `error_type` label.
#[derive(Debug)]
struct Failure {
    kind: &'static str,
    message: String,
}

/// How a session ended.
enum End {
    /// Shutdown was asked for.
    Stopped,
    /// The connection failed or was lost.
    Failed(Failure),
}

/// What the session's event loop tells the source task.
enum Event {
    /// The session is open.
    Connected,
    /// The session could not be opened, or the connection was lost.
    Failed(String),
}

/// One OPC UA server's reader.
pub(crate) struct Source {
    index: usize,
    config: OpcUaSource,
    node_ids: Vec<NodeId>,
    identity: IdentityToken,
    session_name: String,
    status: Arc<Mutex<SourceStatus>>,
    health: Gauge,
    sent: Counter,
    duration: Histogram,
    /// Nodes of the current session whose last value was refused, with the reason.
    failing: BTreeMap<usize, String>,
}

impl Source {
    /// A reader of `config` (validated), whose node ids are parsed already.
    pub(crate) fn new(
        index: usize,
        facility_id: &str,
        config: &OpcUaSource,
        node_ids: Vec<NodeId>,
        password: Option<String>,
    ) -> Self {
        let identity = match (config.identity, &config.username, password) {
            (Identity::Username, Some(user), Some(password)) => {
                IdentityToken::UserName(user.clone(), Password::new(password))
            }
            _ => IdentityToken::Anonymous,
        };
        let source = config.name.clone();
        let health = gauge!(HEALTH, "connector_type" => OPC_UA, "source" => source.clone());
        health.set(0.0);
        Self {
            index,
            node_ids,
            identity,
            session_name: format!("THERMALIQ {facility_id} {}", config.name),
            status: Arc::new(Mutex::new(SourceStatus {
                connector_type: OPC_UA,
                source: source.clone(),
                health: Health::Unknown,
                last_success_us: None,
                last_error: None,
                consecutive_failures: 0,
                circuit_open: false,
            })),
            health,
            sent: counter!(REQUESTS, "connector_type" => OPC_UA, "source" => source.clone()),
            duration: histogram!(REQUEST_DURATION, "connector_type" => OPC_UA, "source" => source),
            config: config.clone(),
            failing: BTreeMap::new(),
        }
    }

    /// The status the poller reports.
    pub(crate) fn status(&self) -> Arc<Mutex<SourceStatus>> {
        self.status.clone()
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    /// Counts a failure of `kind` and describes it.
    fn fail(&self, kind: &'static str, message: String) -> Failure {
        counter!(
            ERRORS,
            "connector_type" => OPC_UA,
            "source" => self.config.name.clone(),
            "error_type" => kind
        )
        .increment(1);
        Failure { kind, message }
    }

    /// Connects, reads until the connection fails, and connects again until `stop`.
    pub(crate) async fn run(mut self, buffer: Arc<Buffer>, mut stop: watch::Receiver<bool>) {
        let mut client: Option<Client> = None;
        let mut backoff = self.config.retry_backoff();
        while !*stop.borrow() {
            let end = match &mut client {
                Some(c) => self.session(c, &buffer, &mut stop).await,
                None => match self.client().await {
                    Ok(c) => {
                        client = Some(c);
                        continue;
                    }
                    Err(f) => End::Failed(f),
                },
            };
            let failure = match end {
                End::Stopped => break,
                End::Failed(f) => f,
            };
            let wait = self.failed(failure, &mut backoff);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => break,
            }
        }
        self.health.set(0.0);
    }

    /// The client: its certificate store in `pki_dir` (for `None`, an empty store in the
    /// temporary directory, since no certificate is used), a new key pair created there on
    /// first use by a secure policy (slow: RSA key generation, hence a blocking thread).
    async fn client(&self) -> Result<Client, Failure> {
        let secure = self.config.security_policy != SecurityPolicy::None;
        let pki_dir = self
            .config
            .pki_dir
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("thermaliq-opcua-pki"));
        let builder = ClientBuilder::new()
            .application_name("THERMALIQ")
            .application_uri("urn:thermaliq:connectors-opcua")
            .product_uri("urn:thermaliq")
            .pki_dir(pki_dir)
            .create_sample_keypair(secure)
            .trust_server_certs(self.config.trust_server_certificate)
            .session_retry_limit(0)
            .request_timeout(self.config.timeout())
            .keep_alive_interval(KEEP_ALIVE)
            .max_failed_keep_alive_count(KEEP_ALIVE_FAILURES)
            .session_name(self.session_name.clone());
        match tokio::task::spawn_blocking(move || builder.client()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(errors)) => Err(self.fail(
                "client",
                format!("the OPC UA client is not usable: {}", errors.join("; ")),
            )),
            Err(e) => Err(self.fail("client", format!("creating the OPC UA client failed: {e}"))),
        }
    }

    /// One session: connect, then subscribe or poll until the connection fails or `stop`.
    async fn session(
        &mut self,
        client: &mut Client,
        buffer: &Buffer,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let timeout = self.config.timeout();
        let url = self.config.endpoint_url.clone();
        let started = Instant::now();
        self.sent.increment(1);
        let endpoint: EndpointDescription = (
            url.as_str(),
            self.config.security_policy.as_str(),
            message_security_mode(self.config.security_mode),
        )
            .into();
        let connect = client.connect_to_matching_endpoint(endpoint, self.identity.clone());
        let (session, event_loop) = tokio::select! {
            r = tokio::time::timeout(timeout, connect) => match r {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return End::Failed(self.fail(
                        "connection",
                        format!("cannot reach the endpoint {url}: {e}"),
                    ));
                }
                Err(_) => return End::Failed(self.timed_out("asking for the endpoints")),
            },
            _ = stop.changed() => return End::Stopped,
        };
        session.disable_reconnects();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let _driver = Driver(tokio::spawn(async move {
            let stream = event_loop.enter();
            futures_util::pin_mut!(stream);
            while let Some(polled) = stream.next().await {
                let event = match polled {
                    Ok(SessionPollResult::Reconnected(_)) => Event::Connected,
                    Ok(SessionPollResult::ReconnectFailed(code)) => {
                        Event::Failed(format!("opening the session failed: {code}"))
                    }
                    Ok(SessionPollResult::ConnectionLost(code)) => {
                        Event::Failed(format!("the connection was lost: {code}"))
                    }
                    Ok(_) => continue,
                    Err(code) => Event::Failed(format!("the session ended: {code}")),
                };
                if events_tx.send(event).is_err() {
                    break;
                }
            }
        }));
        // The driver forwards only the opening and the loss of the session: the first event
        // says whether it opened.
        tokio::select! {
            e = tokio::time::timeout(timeout, events.recv()) => match e {
                Ok(Some(Event::Connected)) => {}
                Ok(Some(Event::Failed(m))) => return End::Failed(self.fail("connection", m)),
                Ok(None) => {
                    return End::Failed(self.fail(
                        "connection",
                        "the session ended before it opened".to_string(),
                    ));
                }
                Err(_) => return End::Failed(self.timed_out("opening the session")),
            },
            _ = stop.changed() => return End::Stopped,
        }
        self.duration.record(started.elapsed().as_secs_f64());
        tracing::info!(
            source_kind = OPC_UA,
            source = self.name(),
            endpoint_url = %url,
            security_policy = self.config.security_policy.as_str(),
            mode = ?self.config.mode,
            "OpcUa connected"
        );
        self.failing.clear();
        let end = match self.config.mode {
            Mode::Subscribe => self.subscribe(&session, &mut events, buffer, stop).await,
            Mode::Poll => self.poll(&session, &mut events, buffer, stop).await,
        };
        if let End::Stopped = end {
            // Closing politely frees the server's session now instead of at its timeout; a
            // server already gone is no error worth a wait or a log.
            let _ = tokio::time::timeout(timeout, session.disconnect()).await;
        }
        end
    }

    /// Keeps a subscription of every node, delivering what the server sends.
    async fn subscribe(
        &mut self,
        session: &Session,
        events: &mut mpsc::UnboundedReceiver<Event>,
        buffer: &Buffer,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let timeout = self.config.timeout();
        let (values_tx, mut values) = mpsc::unbounded_channel::<(u32, DataValue)>();
        let callback = DataChangeCallback::new(move |value, item| {
            // The receiver lives as long as the session: a failed send is a session ending.
            let _ = values_tx.send((item.client_handle(), value));
        });
        self.sent.increment(1);
        let created = session.create_subscription(
            self.config.publishing_interval(),
            LIFETIME_COUNT,
            MAX_KEEP_ALIVE_COUNT,
            0,
            0,
            true,
            callback,
        );
        let subscription = tokio::select! {
            r = tokio::time::timeout(timeout, created) => match r {
                Ok(Ok(id)) => id,
                Ok(Err(e)) => {
                    return End::Failed(self.fail(
                        "transport",
                        format!("creating the subscription failed: {e}"),
                    ));
                }
                Err(_) => return End::Failed(self.timed_out("creating the subscription")),
            },
            _ = stop.changed() => return End::Stopped,
        };
        let sampling = self.config.sampling_interval();
        let queue_size = (self.config.publishing_interval().as_secs_f64() / sampling.as_secs_f64())
            .ceil()
            .clamp(1.0, f64::from(MAX_QUEUE_SIZE)) as u32;
        let items: Vec<MonitoredItemCreateRequest> = self
            .node_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut item = MonitoredItemCreateRequest::from(id.clone());
                // Handle 0 would make async-opcua choose one; ours map back to the node.
                item.requested_parameters.client_handle = handle(i);
                item.requested_parameters.sampling_interval = sampling.as_secs_f64() * 1000.0;
                item.requested_parameters.queue_size = queue_size;
                item.requested_parameters.discard_oldest = true;
                item
            })
            .collect();
        self.sent.increment(1);
        let create = session.create_monitored_items(subscription, TimestampsToReturn::Both, items);
        let results = tokio::select! {
            r = tokio::time::timeout(timeout, create) => match r {
                Ok(Ok(results)) => results,
                Ok(Err(e)) => {
                    return End::Failed(self.fail(
                        "transport",
                        format!("creating the monitored items failed: {e}"),
                    ));
                }
                Err(_) => return End::Failed(self.timed_out("creating the monitored items")),
            },
            _ = stop.changed() => return End::Stopped,
        };
        for (i, created) in results.iter().enumerate() {
            let status = created.result.status_code;
            if !status.is_good() {
                self.refused(
                    i,
                    "node",
                    format!("the server refused to monitor it: {status}"),
                );
            }
        }
        self.settle();
        loop {
            tokio::select! {
                v = values.recv() => {
                    let Some((client_handle, value)) = v else {
                        return End::Failed(self.fail(
                            "connection",
                            "the subscription ended".to_string(),
                        ));
                    };
                    let Some(i) = node_index(client_handle, self.node_ids.len()) else {
                        continue;
                    };
                    let mut out = Vec::with_capacity(1);
                    self.accept(i, &value, now_us(), &mut out);
                    buffer.push(self.index, out);
                    self.settle();
                }
                e = events.recv() => {
                    if let Some(f) = self.lost(e) {
                        return End::Failed(f);
                    }
                }
                _ = stop.changed() => return End::Stopped,
            }
        }
    }

    /// Reads every node each `poll_interval_s`.
    async fn poll(
        &mut self,
        session: &Session,
        events: &mut mpsc::UnboundedReceiver<Event>,
        buffer: &Buffer,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let ids: Vec<ReadValueId> = self.node_ids.iter().map(ReadValueId::from).collect();
        let mut ticker = tokio::time::interval(self.config.poll_interval());
        // A slow read skips the polls it overran instead of firing them in a burst.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                e = events.recv() => {
                    if let Some(f) = self.lost(e) {
                        return End::Failed(f);
                    }
                    continue;
                }
                _ = stop.changed() => return End::Stopped,
            }
            let read = tokio::select! {
                r = self.read(session, &ids) => r,
                _ = stop.changed() => return End::Stopped,
            };
            let (values, received_us) = match read {
                Ok(r) => r,
                Err(f) => return End::Failed(f),
            };
            if values.len() != ids.len() {
                return End::Failed(self.fail(
                    "protocol",
                    format!("{} values answered, {} asked", values.len(), ids.len()),
                ));
            }
            let mut out = Vec::with_capacity(values.len());
            for (i, value) in values.iter().enumerate() {
                self.accept(i, value, received_us, &mut out);
            }
            buffer.push(self.index, out);
            self.settle();
        }
    }

    /// One read of every node, with its retries; the values and the time they arrived.
    async fn read(
        &self,
        session: &Session,
        ids: &[ReadValueId],
    ) -> Result<(Vec<DataValue>, i64), Failure> {
        let timeout = self.config.timeout();
        let mut delay = self.config.retry_backoff();
        let mut last = None;
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            self.sent.increment(1);
            let started = Instant::now();
            let answer =
                tokio::time::timeout(timeout, session.read(ids, TimestampsToReturn::Both, 0.0))
                    .await;
            self.duration.record(started.elapsed().as_secs_f64());
            match answer {
                Ok(Ok(values)) => return Ok((values, now_us())),
                Ok(Err(e)) => last = Some(self.fail("transport", format!("the read failed: {e}"))),
                Err(_) => last = Some(self.timed_out("reading the nodes")),
            }
        }
        Err(last.unwrap_or_else(|| self.fail("transport", "no read attempted".to_string())))
    }

    fn timed_out(&self, what: &str) -> Failure {
        self.fail(
            "timeout",
            format!(
                "{what} at {} took more than {} s",
                self.config.endpoint_url, self.config.timeout_s
            ),
        )
    }

    /// The failure an event of the session means, if it means one.
    fn lost(&self, event: Option<Event>) -> Option<Failure> {
        match event {
            Some(Event::Connected) => None,
            Some(Event::Failed(m)) => Some(self.fail("connection", m)),
            None => Some(self.fail("connection", "the session ended".to_string())),
        }
    }

    /// Turns node `i`'s value into a reading, or records why it is none.
    fn accept(&mut self, i: usize, value: &DataValue, received_us: i64, out: &mut Vec<Reading>) {
        match value::reading(&self.config.nodes[i], value, received_us) {
            Ok(r) => {
                if self.failing.remove(&i).is_some() {
                    tracing::info!(
                        source_kind = OPC_UA,
                        source = self.name(),
                        node_id = %self.config.nodes[i].node_id,
                        tag = %self.config.nodes[i].tag,
                        "OpcUa node readable again"
                    );
                }
                out.push(r);
            }
            Err(e) => self.refused(i, e.kind(), e.to_string()),
        }
    }

    /// Records that node `i` yields no reading; logged when its reason changes, counted always.
    fn refused(&mut self, i: usize, kind: &'static str, reason: String) {
        let node = &self.config.nodes[i];
        let failure = self.fail(
            kind,
            format!("node {} (tag {}): {reason}", node.node_id, node.tag),
        );
        if self.failing.get(&i) != Some(&failure.message) {
            tracing::warn!(
                source_kind = OPC_UA,
                source = self.name(),
                node_id = %node.node_id,
                tag = %node.tag,
                error_type = kind,
                error = %reason,
                "OpcUa node refused: no reading"
            );
        }
        self.failing.insert(i, failure.message);
    }

    /// Health after a read or a change: up when every node yields readings.
    fn settle(&self) {
        let mut s = lock(&self.status);
        s.consecutive_failures = 0;
        s.circuit_open = false;
        match self.failing.values().next() {
            None => {
                if s.health != Health::Up {
                    tracing::info!(
                        source_kind = OPC_UA,
                        source = self.name(),
                        "OpcUa query success"
                    );
                }
                s.health = Health::Up;
                s.last_success_us = Some(now_us());
                self.health.set(1.0);
            }
            Some(reason) => {
                s.health = Health::Down;
                s.last_error = Some(reason.clone());
                self.health.set(0.0);
            }
        }
    }

    /// Records a failed connection; returns how long to wait before the next attempt: the
    /// backoff, doubled each time, or the breaker's open time once it opens.
    fn failed(&mut self, failure: Failure, backoff: &mut Duration) -> Duration {
        self.failing.clear();
        self.health.set(0.0);
        let mut s = lock(&self.status);
        s.health = Health::Down;
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        tracing::warn!(
            source_kind = OPC_UA,
            source = self.name(),
            consecutive_failures = s.consecutive_failures,
            error_type = failure.kind,
            error = %failure.message,
            "OpcUa connection failed"
        );
        s.last_error = Some(failure.message);
        let open = s.consecutive_failures >= self.config.breaker_failures;
        s.circuit_open = open;
        if open {
            tracing::warn!(
                source_kind = OPC_UA,
                source = self.name(),
                open_s = self.config.breaker_open_s,
                "OpcUa circuit open: connecting suspended"
            );
            *backoff = self.config.retry_backoff();
            self.config.breaker_open()
        } else {
            let wait = *backoff;
            *backoff = backoff.saturating_mul(2).min(self.config.breaker_open());
            wait
        }
    }
}

/// Aborts the task driving a session's event loop when the session is left.
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn message_security_mode(mode: SecurityMode) -> MessageSecurityMode {
    match mode {
        SecurityMode::None => MessageSecurityMode::None,
        SecurityMode::Sign => MessageSecurityMode::Sign,
        SecurityMode::SignAndEncrypt => MessageSecurityMode::SignAndEncrypt,
    }
}

/// The client handle of node `i`: its position plus one, as handle 0 means "unset".
fn handle(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

/// The node a client handle names, if it names one of `count`.
fn node_index(client_handle: u32, count: usize) -> Option<usize> {
    let i = usize::try_from(client_handle).ok()?.checked_sub(1)?;
    (i < count).then_some(i)
}

pub(crate) fn lock(status: &Mutex<SourceStatus>) -> MutexGuard<'_, SourceStatus> {
    // A status is plain data, consistent after any panic elsewhere.
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())
        .unwrap_or(0)
}
