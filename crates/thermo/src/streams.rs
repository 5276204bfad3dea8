//! Heat and exergy picked up (or given up) by a liquid or water stream between its inlet and
//! its outlet.

use crate::error::{Error, Result};
use crate::exergy;
use crate::inputs::{DeadState, LiquidStream, WaterStream};
use crate::steam;

/// Change of heat and exergy flow from inlet to outlet of a water stream, W (positive when the
/// stream is heated), by IF97 at the stream's pressure.
pub(crate) fn water(w: &WaterStream, dead: &DeadState) -> Result<(f64, f64)> {
    let inlet = steam::state_pt(w.pressure, w.inlet_temperature)
        .map_err(|e| e.within("inlet_temperature"))?;
    let outlet = steam::state_pt(w.pressure, w.outlet_temperature)
        .map_err(|e| e.within("outlet_temperature"))?;
    let m = w.flow.kg_per_s();
    let ex_in = exergy::flow_exergy(inlet.h, inlet.s, dead)?;
    let ex_out = exergy::flow_exergy(outlet.h, outlet.s, dead)?;
    Ok((m * (outlet.h - inlet.h), m * (ex_out - ex_in)))
}

/// Change of heat and exergy flow from inlet to outlet of a liquid of constant specific heat,
/// W: Q = m c (T2 − T1), Ex = m c [(T2 − T1) − T0 ln(T2/T1)].
pub(crate) fn liquid(l: &LiquidStream, dead: &DeadState) -> Result<(f64, f64)> {
    let cp = l.specific_heat;
    if !(cp.is_finite() && cp > 0.0) {
        return Err(Error::invalid("specific_heat", "must be a positive number"));
    }
    let (t1, t2) = (l.inlet_temperature.kelvin(), l.outlet_temperature.kelvin());
    let c = l.flow.kg_per_s() * cp;
    let t0 = dead.temperature.kelvin();
    Ok((c * (t2 - t1), c * ((t2 - t1) - t0 * (t2 / t1).ln())))
}
