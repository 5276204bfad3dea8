//! Modbus TCP energy meters: configuration, register decoding, request planning and the
//! poller.

pub mod config;
pub mod decode;
pub mod plan;
mod poller;

pub use crate::config::{ConfigError, ConnectorsConfig};
pub use config::{DataType, ModbusDevice, ModbusPoint, Order, RegisterFunction};
pub use poller::{Health, ModbusPoller, SourceStatus, StartError};
