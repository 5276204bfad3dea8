//! The one entry point of the engineering core: inputs of any equipment in, its result out.

use crate::error::Result;
use crate::exchanger::calculate_exchanger;
use crate::fired::calculate_fired;
use crate::inputs::EquipmentInputs;
use crate::results::EquipmentResult;

/// Computes the complete result of one equipment calculation. Deterministic: the same inputs
/// give bit-identical results on every run.
pub fn calculate(inputs: &EquipmentInputs) -> Result<EquipmentResult> {
    match inputs {
        EquipmentInputs::Fired(f) => calculate_fired(f).map(EquipmentResult::Fired),
        EquipmentInputs::HeatExchanger(x) => {
            calculate_exchanger(x).map(EquipmentResult::HeatExchanger)
        }
    }
}
