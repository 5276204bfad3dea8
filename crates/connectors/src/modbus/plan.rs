//! Which requests read a device's register map: contiguous or overlapping points of the same
//! table share one request, up to the protocol's limit. Gaps are never bridged, since a
//! meter may answer "illegal data address" for a register it does not map.

use super::config::{ModbusPoint, RegisterFunction};
use crate::config::ConfigError;

/// Most registers one read request may ask for (Modbus Application Protocol V1.1b3, §6.3 and
/// §6.4: 1 to 125 registers).
pub const MAX_REGISTERS_PER_REQUEST: u16 = 125;

/// One read request and the points its answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// The table read.
    pub function: RegisterFunction,
    /// First register, zero-based protocol address.
    pub address: u16,
    /// Registers read.
    pub count: u16,
    /// Indices (into the device's points) of the points it covers, by address.
    pub points: Vec<usize>,
}

/// The fewest requests that read every point without reading an unmapped register: points
/// sorted by table and address, each joining the current request when it starts at or before
/// the request's end and the request stays within [`MAX_REGISTERS_PER_REQUEST`]. Refuses a
/// point outside the address space (which validation refuses first, with its full path).
pub fn plan(points: &[ModbusPoint]) -> Result<Vec<ReadRequest>, ConfigError> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].function, points[i].address, i));
    let mut out: Vec<ReadRequest> = Vec::new();
    for i in order {
        let p = &points[i];
        let count = p.registers();
        let address = u16::try_from(p.address)
            .ok()
            .filter(|&a| u32::from(a) + u32::from(count) <= 65_536)
            .ok_or_else(|| ConfigError {
                field: format!("points[{i}].address"),
                reason: format!(
                    "{} {} is outside the register space",
                    p.address,
                    p.data_type.as_str()
                ),
            })?;
        let start = u32::from(address);
        let end = start + u32::from(count);
        if let Some(r) = out.last_mut() {
            let r_start = u32::from(r.address);
            let r_end = r_start + u32::from(r.count);
            let merged_end = r_end.max(end);
            let merged = u16::try_from(merged_end - r_start)
                .ok()
                .filter(|&n| n <= MAX_REGISTERS_PER_REQUEST);
            if let Some(merged) = merged
                && r.function == p.function
                && start <= r_end
            {
                r.count = merged;
                r.points.push(i);
                continue;
            }
        }
        out.push(ReadRequest {
            function: p.function,
            address,
            count,
            points: vec![i],
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::config::DataType;

    fn p(function: RegisterFunction, address: u32, data_type: DataType) -> ModbusPoint {
        ModbusPoint {
            tag: format!("{function:?}-{address}"),
            address,
            function,
            data_type,
            word_order: None,
            byte_order: None,
            scale: 1.0,
            offset: 0.0,
            unit: "kW".into(),
        }
    }

    fn shape(requests: &[ReadRequest]) -> Vec<(RegisterFunction, u16, u16, Vec<usize>)> {
        requests
            .iter()
            .map(|r| (r.function, r.address, r.count, r.points.clone()))
            .collect()
    }

    use DataType::*;
    use RegisterFunction::{Holding, Input};

    #[test]
    fn contiguous_points_share_a_request_and_gaps_split() {
        let points = [
            p(Holding, 4, F32),  // 4-5
            p(Holding, 0, U16),  // 0
            p(Holding, 1, I16),  // 1
            p(Holding, 2, U32),  // 2-3
            p(Holding, 10, F64), // 10-13: gap 6-9
            p(Input, 0, F32),    // another table
            p(Input, 1, U16),    // overlaps the f32 above
        ];
        assert_eq!(
            shape(&plan(&points).expect("a plan")),
            [
                (Holding, 0, 6, vec![1, 2, 3, 0]),
                (Holding, 10, 4, vec![4]),
                (Input, 0, 2, vec![5, 6]),
            ]
        );
    }

    #[test]
    fn a_request_never_exceeds_125_registers_nor_splits_a_value() {
        // 130 contiguous u16: 125 + 5.
        let points: Vec<ModbusPoint> = (0..130).map(|a| p(Input, a, U16)).collect();
        let r = plan(&points).expect("a plan");
        assert_eq!(
            r.iter().map(|r| (r.address, r.count)).collect::<Vec<_>>(),
            [(0, 125), (125, 5)]
        );
        // 62 u32 fill 124 registers; the f64 at 124 would end at 128: it starts a request.
        let mut points: Vec<ModbusPoint> = (0..62).map(|k| p(Holding, 2 * k, U32)).collect();
        points.push(p(Holding, 124, F64));
        let r = plan(&points).expect("a plan");
        assert_eq!(
            r.iter().map(|r| (r.address, r.count)).collect::<Vec<_>>(),
            [(0, 124), (124, 4)]
        );
        assert!(r.iter().all(|r| r.count <= MAX_REGISTERS_PER_REQUEST));
    }

    #[test]
    fn the_last_register_is_reachable() {
        let r = plan(&[p(Holding, 65_534, U32), p(Holding, 65_535, U16)]).expect("a plan");
        assert_eq!(shape(&r), [(Holding, 65_534, 2, vec![0, 1])]);
        let refused = plan(&[p(Holding, 1, U16), p(Holding, 65_535, U32)]).expect_err("past 65535");
        assert_eq!(refused.field, "points[1].address");
    }
}
