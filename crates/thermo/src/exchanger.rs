//! First and second law of a heat exchanger between two metered streams.

use crate::error::{Error, Result};
use crate::exergy::DeadStateWater;
use crate::inputs::{ExchangerStream, HeatExchangerInputs};
use crate::results::{HeatExchangerResult, Warning};
use crate::streams;

/// Relative difference of the two duties above which the result carries a warning.
const DUTY_IMBALANCE_WARNING: f64 = 0.05;

/// Heat and exergy change (outlet − inlet) of one side, W, and its inlet and outlet
/// temperatures, K.
fn side(stream: &ExchangerStream, dead: &DeadStateWater) -> Result<(f64, f64, f64, f64)> {
    match stream {
        ExchangerStream::Water(w) => {
            let (q, ex) = streams::water(w, dead)?;
            Ok((
                q,
                ex,
                w.inlet_temperature.kelvin(),
                w.outlet_temperature.kelvin(),
            ))
        }
        ExchangerStream::Liquid(l) => {
            let (q, ex) = streams::liquid(l, dead)?;
            Ok((
                q,
                ex,
                l.inlet_temperature.kelvin(),
                l.outlet_temperature.kelvin(),
            ))
        }
    }
}

/// Duties, heat retained, effectiveness, counter-flow LMTD and the exergy balance.
///
/// Effectiveness is the mean of the two duties over C_min (T_hot,in − T_cold,in), with each
/// side's capacity rate taken as its duty over its temperature change (so IF97 water needs no
/// constant specific heat).
pub fn calculate_exchanger(inputs: &HeatExchangerInputs) -> Result<HeatExchangerResult> {
    let dead = &DeadStateWater::new(&inputs.dead_state)?;
    let (q_hot, ex_hot, th_in, th_out) = side(&inputs.hot, dead).map_err(|e| e.within("hot"))?;
    let (q_cold, ex_cold, tc_in, tc_out) =
        side(&inputs.cold, dead).map_err(|e| e.within("cold"))?;
    if th_out >= th_in {
        return Err(Error::inconsistent(
            "hot.outlet_temperature",
            "is not below the hot inlet temperature: the hot stream must cool",
        ));
    }
    if tc_out <= tc_in {
        return Err(Error::inconsistent(
            "cold.outlet_temperature",
            "is not above the cold inlet temperature: the cold stream must warm",
        ));
    }
    let (dt1, dt2) = (th_in - tc_out, th_out - tc_in);
    if dt1 <= 0.0 || dt2 <= 0.0 {
        return Err(Error::inconsistent(
            "cold.outlet_temperature",
            "the temperatures cross: no counter-flow exchanger can reach them",
        ));
    }
    let hot_duty = -q_hot;
    let cold_duty = q_cold;
    let c_hot = hot_duty / (th_in - th_out);
    let c_cold = cold_duty / (tc_out - tc_in);
    let q_max = c_hot.min(c_cold) * (th_in - tc_in);
    let lmtd = if (dt1 - dt2).abs() < 1e-9 * dt1 {
        dt1
    } else {
        (dt1 - dt2) / (dt1 / dt2).ln()
    };
    let hot_exergy_drop = -ex_hot;
    let mut warnings = Vec::new();
    let imbalance = (hot_duty - cold_duty) / hot_duty;
    if imbalance.abs() > DUTY_IMBALANCE_WARNING {
        warnings.push(Warning {
            code: "duty_imbalance",
            message: format!(
                "hot and cold duties differ by {:.1} % of the hot duty: check the meters or the \
                 insulation",
                100.0 * imbalance
            )
            .into(),
        });
    }
    Ok(HeatExchangerResult {
        hot_duty,
        cold_duty,
        efficiency: cold_duty / hot_duty,
        unaccounted: hot_duty - cold_duty,
        effectiveness: 0.5 * (hot_duty + cold_duty) / q_max,
        lmtd,
        hot_exergy_drop,
        cold_exergy_gain: ex_cold,
        exergy_destruction: hot_exergy_drop - ex_cold,
        exergy_efficiency: ex_cold / hot_exergy_drop,
        warnings,
    })
}
