//! Heat and exergy picked up (or given up) by a liquid or water stream between its inlet and
//! its outlet.

use crate::error::{Error, Result};
use crate::exergy::DeadStateWater;
use crate::inputs::{LiquidStream, WaterStream};
use crate::steam;

/// Change of heat and exergy flow from inlet to outlet of a water stream, W (positive when the
/// stream is heated), by IF97 at the stream's pressure.
pub(crate) fn water(w: &WaterStream, dead: &DeadStateWater) -> Result<(f64, f64)> {
    let end = |t, field| -> Result<(f64, f64)> {
        let h = steam::enthalpy_pt(w.pressure, t).map_err(|e| e.within(field))?;
        let s = steam::entropy_pt(w.pressure, t).map_err(|e| e.within(field))?;
        Ok((h, dead.flow_exergy(h, s)))
    };
    let (h_in, ex_in) = end(w.inlet_temperature, "inlet_temperature")?;
    let (h_out, ex_out) = end(w.outlet_temperature, "outlet_temperature")?;
    let m = w.flow.kg_per_s();
    Ok((m * (h_out - h_in), m * (ex_out - ex_in)))
}

/// Change of heat and exergy flow from inlet to outlet of a liquid of constant specific heat,
/// W: Q = m c (T2 − T1), Ex = m c [(T2 − T1) − T0 ln(T2/T1)].
pub(crate) fn liquid(l: &LiquidStream, dead: &DeadStateWater) -> Result<(f64, f64)> {
    let cp = l.specific_heat;
    if !(cp.is_finite() && cp > 0.0) {
        return Err(Error::invalid("specific_heat", "must be a positive number"));
    }
    let (t1, t2) = (l.inlet_temperature.kelvin(), l.outlet_temperature.kelvin());
    let c = l.flow.kg_per_s() * cp;
    let t0 = dead.t0;
    Ok((c * (t2 - t1), c * ((t2 - t1) - t0 * (t2 / t1).ln())))
}
