//! The connectors of `serve`: every stored facility whose spec has a `connectors` section has
//! its sources polled into the store, through the same idempotent insert as
//! `POST /facilities/{id}/readings`.
//!
//! With several replicas on one PostgreSQL database, a facility's sources are polled by one
//! replica only: the one holding the store lease `connectors:{facility_id}`; the others retry
//! the lease at every sync and take over when the holder stops or loses its database session.
//! A facility file applied through the API or the CLI is picked up at the next sync
//! ([`SYNC_INTERVAL`], or at once when applied through this replica's API).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors::config::ConnectorsConfig;
use connectors::erp::ErpStatus;
use connectors::historian::HistorianFollower;
use connectors::modbus::{ModbusPoller, SourceStatus};
use connectors::{Reading, ReadingSink};
use connectors_opcua::OpcUaPoller;
use serde::Serialize;
use store::{Lease, Store};
use tokio::sync::{Mutex, Notify};

use crate::facility::FacilitySpec;

/// Time between two comparisons of the running connectors with the stored facility specs.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(15);

/// Delivers connector readings to the store: the API's idempotent insert, so a batch
/// delivered twice after a lost acknowledgement is absorbed.
pub struct StoreSink(Store);

impl ReadingSink for StoreSink {
    type Error = store::Error;

    async fn ingest(&self, facility_id: &str, readings: &[Reading]) -> Result<(), store::Error> {
        self.0
            .insert_readings(facility_id, readings)
            .await
            .map(drop)
    }
}

/// The connectors of this process, by facility, and its ERP export; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Connectors {
    running: Arc<Mutex<BTreeMap<String, Entry>>>,
    nudge: Arc<Notify>,
    erp: Arc<std::sync::OnceLock<ErpStatus>>,
}

/// What this process does with one facility's sources.
enum Entry {
    /// Polling them, holding the facility's lease.
    Polling {
        config: ConnectorsConfig,
        pollers: Box<Pollers>,
        lease: Lease,
    },
    /// Another replica holds the lease; tried again at the next sync.
    Elsewhere,
    /// The sources could not be started; retried when the spec changes.
    Failed {
        config: ConnectorsConfig,
        error: String,
    },
}

impl Entry {
    /// Stops polling, delivering what the buffers hold, then releases the lease.
    async fn stop(self, facility_id: &str) {
        if let Entry::Polling { pollers, lease, .. } = self {
            let undelivered = pollers.shutdown().await;
            lease.release().await;
            tracing::info!(facility_id, undelivered, "connectors stopped");
        }
    }
}

/// The running pollers of one facility, one per source kind that it configures.
struct Pollers {
    modbus: Option<ModbusPoller>,
    opcua: Option<OpcUaPoller>,
    historian: Option<HistorianFollower>,
}

impl Pollers {
    /// Starts a poller for each kind of source `config` lists.
    fn start(
        facility_id: &str,
        config: &ConnectorsConfig,
        sink: &Arc<StoreSink>,
    ) -> Result<Self, String> {
        let modbus = if config.modbus.is_empty() {
            None
        } else {
            Some(
                ModbusPoller::start(facility_id, config, sink.clone())
                    .map_err(|e| e.to_string())?,
            )
        };
        let opcua = if config.opcua.is_empty() {
            None
        } else {
            Some(
                OpcUaPoller::start(
                    facility_id,
                    &config.opcua,
                    config.buffer_limit,
                    sink.clone(),
                )
                .map_err(|e| e.to_string())?,
            )
        };
        let historian = if config.historian.is_empty() {
            None
        } else {
            Some(
                HistorianFollower::start(facility_id, config, sink.clone())
                    .map_err(|e| e.to_string())?,
            )
        };
        Ok(Self {
            modbus,
            opcua,
            historian,
        })
    }

    fn status(&self) -> Vec<SourceStatus> {
        let mut all = self
            .modbus
            .as_ref()
            .map(ModbusPoller::status)
            .unwrap_or_default();
        all.extend(
            self.opcua
                .as_ref()
                .map(OpcUaPoller::status)
                .unwrap_or_default(),
        );
        all.extend(
            self.historian
                .as_ref()
                .map(HistorianFollower::status)
                .unwrap_or_default(),
        );
        all
    }

    fn buffered(&self) -> usize {
        self.modbus.as_ref().map_or(0, ModbusPoller::buffered)
            + self.opcua.as_ref().map_or(0, OpcUaPoller::buffered)
    }

    fn dropped(&self) -> u64 {
        self.modbus.as_ref().map_or(0, ModbusPoller::dropped)
            + self.opcua.as_ref().map_or(0, OpcUaPoller::dropped)
    }

    /// Stops every poller; the readings that could not be delivered (a historian window
    /// being delivered is not counted: the historian keeps it, and it is read again).
    async fn shutdown(self) -> usize {
        if let Some(f) = self.historian {
            f.shutdown().await;
        }
        let mut undelivered = 0;
        if let Some(p) = self.modbus {
            undelivered += p.shutdown().await;
        }
        if let Some(p) = self.opcua {
            undelivered += p.shutdown().await;
        }
        undelivered
    }
}

/// Who polls a facility's sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolledBy {
    /// This replica.
    ThisReplica,
    /// Another replica holds the facility's lease; ask it (or read its metrics) for health.
    AnotherReplica,
    /// Nobody: the sources could not be started (see `error`).
    Nobody,
}

/// The connectors of one facility, as `GET /integrations/status` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct FacilityConnectors {
    /// The facility.
    pub facility_id: String,
    /// Who polls its sources.
    pub polled_by: PolledBy,
    /// Why they could not be started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Readings polled and waiting for the store (this replica only).
    pub buffered: usize,
    /// Readings dropped because the buffer was full, since the sources started here.
    pub dropped: u64,
    /// Each source polled here, in configuration order; empty when polled elsewhere.
    pub sources: Vec<SourceStatus>,
}

impl FacilityConnectors {
    /// Whether nothing here is known to be wrong: every source polled here is up or not yet
    /// polled, and the sources could be started. Sources polled by another replica count as
    /// healthy here; that replica reports them.
    pub fn is_healthy(&self) -> bool {
        self.polled_by != PolledBy::Nobody
            && self
                .sources
                .iter()
                .all(|s| s.health != connectors::modbus::Health::Down)
    }
}

impl Connectors {
    /// Records the running ERP export, whose health the integration status shows.
    pub fn set_erp(&self, status: ErpStatus) {
        // Set once at start; a second export in one process does not exist.
        let _ = self.erp.set(status);
    }

    /// The ERP export's health, when this process runs one.
    pub fn erp(&self) -> Option<SourceStatus> {
        self.erp.get().map(ErpStatus::get)
    }

    /// Asks the sync loop to compare with the stored specs now (a facility was applied).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Keeps the running connectors equal to the stored facility specs until the task is
    /// aborted: at once, then every [`SYNC_INTERVAL`] or when nudged.
    pub async fn watch(self, store: Store) {
        let sink = Arc::new(StoreSink(store.clone()));
        loop {
            if let Err(e) = self.sync(&store, &sink).await {
                tracing::warn!(error = %e, "connectors: cannot read the facility specs");
            }
            tokio::select! {
                () = tokio::time::sleep(SYNC_INTERVAL) => {}
                () = self.nudge.notified() => {}
            }
        }
    }

    /// Starts, restarts and stops connectors so that they match the stored specs.
    async fn sync(&self, store: &Store, sink: &Arc<StoreSink>) -> store::Result<()> {
        let wanted = wanted(store).await?;
        let mut running = self.running.lock().await;
        let ids: Vec<String> = running.keys().cloned().collect();
        for id in ids {
            let keep = match (running.get(&id), wanted.get(&id)) {
                (Some(Entry::Polling { config, lease, .. }), Some(w)) if config == w => {
                    let held = lease.check().await;
                    if !held {
                        tracing::warn!(facility_id = %id, "connectors: lease lost with the database session; stopping");
                    }
                    held
                }
                (Some(Entry::Failed { config, .. }), Some(w)) => config == w,
                _ => false,
            };
            if !keep && let Some(entry) = running.remove(&id) {
                entry.stop(&id).await;
            }
        }
        for (id, config) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let entry = match store.try_lease(&format!("connectors:{id}")).await? {
                None => Entry::Elsewhere,
                Some(lease) => match Pollers::start(&id, &config, sink) {
                    Ok(pollers) => {
                        let pollers = Box::new(pollers);
                        tracing::info!(
                            facility_id = %id,
                            modbus = config.modbus.len(),
                            opcua = config.opcua.len(),
                            historian = config.historian.len(),
                            "connectors started"
                        );
                        Entry::Polling {
                            config,
                            pollers,
                            lease,
                        }
                    }
                    Err(error) => {
                        tracing::error!(facility_id = %id, %error, "connectors cannot start");
                        lease.release().await;
                        Entry::Failed { config, error }
                    }
                },
            };
            running.insert(id, entry);
        }
        Ok(())
    }

    /// Every facility with sources, as this replica sees it.
    pub async fn status(&self) -> Vec<FacilityConnectors> {
        let running = self.running.lock().await;
        running
            .iter()
            .map(|(id, entry)| {
                let mut out = FacilityConnectors {
                    facility_id: id.clone(),
                    polled_by: PolledBy::AnotherReplica,
                    error: None,
                    buffered: 0,
                    dropped: 0,
                    sources: Vec::new(),
                };
                match entry {
                    Entry::Polling { pollers, .. } => {
                        out.polled_by = PolledBy::ThisReplica;
                        out.buffered = pollers.buffered();
                        out.dropped = pollers.dropped();
                        out.sources = pollers.status();
                    }
                    Entry::Elsewhere => {}
                    Entry::Failed { error, .. } => {
                        out.polled_by = PolledBy::Nobody;
                        out.error = Some(error.clone());
                    }
                }
                out
            })
            .collect()
    }

    /// Stops every connector, delivering what their buffers hold, and releases the leases.
    pub async fn shutdown(&self) {
        let mut running = self.running.lock().await;
        for (id, entry) in std::mem::take(&mut *running) {
            entry.stop(&id).await;
        }
    }
}

/// The connectors section of every stored facility that has sources. A stored spec that no
/// longer reads (written by another release) is skipped with a warning, not fatal.
async fn wanted(store: &Store) -> store::Result<BTreeMap<String, ConnectorsConfig>> {
    let mut wanted = BTreeMap::new();
    for record in store.facilities().await? {
        match FacilitySpec::from_json(&record.spec) {
            Ok(spec) => {
                if let Some(config) = spec.connectors
                    && !(config.modbus.is_empty()
                        && config.opcua.is_empty()
                        && config.historian.is_empty())
                {
                    wanted.insert(record.id, config);
                }
            }
            Err(e) => tracing::warn!(
                facility_id = %record.id,
                error = %e,
                "connectors: the stored facility spec does not read; its sources are not polled"
            ),
        }
    }
    Ok(wanted)
}
