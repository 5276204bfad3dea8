//! The facility roll-up of its units' results, and the facility's provenance hash.
// Keys carry SI unit symbols (`_W`), whose case is part of their meaning.
#![allow(non_snake_case)]

use serde::Serialize;
use thermo::provenance::{METHOD_VERSION, sha256_hex};

use crate::calc::output::{Bases, Efficiencies, FiredDocument};

use super::{Period, UnitCalculation};

/// The facility's figures: sums over its units (all heat rates in W, mean over the period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilitySummary {
    /// Σ fuel input.
    pub fuel_input_W: Bases,
    /// Σ useful output.
    pub useful_output_W: f64,
    /// Input–output: Σ useful / Σ fuel input; heat-loss: Σ (efficiency × fuel input) /
    /// Σ fuel input; exergy: Σ useful exergy / Σ fuel exergy. Percent.
    pub efficiency_percent: Efficiencies,
    /// Σ unaccounted heat.
    pub unaccounted_W: Bases,
    /// Σ unaccounted / Σ fuel input, percent (signed).
    pub closure_percent: Bases,
    /// |closure|, percent, HHV basis: the stored `energy_balance_percent`.
    pub energy_balance_percent: f64,
    /// Expanded uncertainty of the facility efficiencies; absent when a unit states none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<RollupUncertainty>,
    /// Data-quality score of the calculation, 0..1.
    pub data_quality_score: f64,
}

/// Uncertainty of the facility efficiencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollupUncertainty {
    /// Coverage of the expanded uncertainties.
    pub coverage: &'static str,
    /// How the units' uncertainties were combined.
    pub method: &'static str,
    /// Each efficiency of the roll-up.
    pub figures: Vec<RollupFigure>,
}

/// One facility efficiency with its expanded uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollupFigure {
    /// `direct_hhv`, `direct_lhv`, `indirect_hhv`, `indirect_lhv` or `exergy_efficiency`.
    pub figure: &'static str,
    /// The facility efficiency, percent.
    pub value_percent: f64,
    /// Expanded uncertainty U95, percentage points.
    pub expanded_uncertainty_percent_points: f64,
}

/// One unit's provenance hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitHash {
    /// The unit.
    pub equipment_id: String,
    /// SHA-256 of its canonical inputs (thermo's provenance hash).
    pub sha256: String,
    /// SHA-256 of its `metered_extras` ([`extras_hash`]); absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras_sha256: Option<String>,
}

/// Provenance of a facility calculation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityProvenance {
    /// SHA-256 over the facility id, the period and the units' hashes ([`facility_hash`]).
    pub sha256: String,
    /// Version of the calculation method.
    pub method_version: &'static str,
    /// Each unit's hash.
    pub units: Vec<UnitHash>,
}

/// SHA-256 of a unit's `metered_extras` as stored: the text `thermaliq-extras/1` and the
/// JSON with its keys sorted (serde_json's map order), so a stored document read back
/// (PostgreSQL's JSONB reorders keys) hashes the same.
pub fn extras_hash(extras: &serde_json::Value) -> String {
    sha256_hex(format!("thermaliq-extras/1\n{extras}\n").as_bytes())
}

/// Facility hash: SHA-256 of the text `thermaliq-facility/1`, the method version, the
/// facility id, the period in µs and one line `unit=<hash> <equipment id>` per unit (and
/// `extras=<hash> <equipment id>` per unit with metered extras), sorted; the same units,
/// inputs and period give the same hash whatever the unit order.
pub fn facility_hash(facility_id: &str, period: Period, units: &[UnitHash]) -> String {
    let mut lines: Vec<String> = units
        .iter()
        .map(|u| format!("unit={} {}", u.sha256, u.equipment_id))
        .chain(units.iter().filter_map(|u| {
            u.extras_sha256
                .as_ref()
                .map(|h| format!("extras={h} {}", u.equipment_id))
        }))
        .collect();
    lines.sort();
    let text = format!(
        "thermaliq-facility/1\nmethod={METHOD_VERSION}\nfacility={facility_id}\n\
         period_start_us={}\nperiod_end_us={}\n{}\n",
        period.start_us,
        period.end_us,
        lines.join("\n")
    );
    sha256_hex(text.as_bytes())
}

pub(super) fn provenance(
    facility_id: &str,
    period: Period,
    units: &[UnitCalculation],
) -> FacilityProvenance {
    let hashes: Vec<UnitHash> = units
        .iter()
        .map(|u| UnitHash {
            equipment_id: u.equipment_id.clone(),
            sha256: u.result.provenance.sha256.clone(),
            extras_sha256: (!u.metered_extras.is_empty()).then(|| {
                // A map of quantity names to strings and JSON values always serializes.
                extras_hash(&serde_json::to_value(&u.metered_extras).unwrap_or_default())
            }),
        })
        .collect();
    FacilityProvenance {
        sha256: facility_hash(facility_id, period, &hashes),
        method_version: METHOD_VERSION,
        units: hashes,
    }
}

/// Ratio in percent; 0 when the denominator is 0 (no fuel burned).
fn percent(num: f64, den: f64) -> f64 {
    if den > 0.0 { 100.0 * num / den } else { 0.0 }
}

/// The facility roll-up of its units' results, summed in the order given (the service and
/// the integrity check both sum in spec order, so they agree to the last bit).
pub fn summarize(results: &[&FiredDocument], data_quality_score: f64) -> FacilitySummary {
    let sum = |f: &dyn Fn(&FiredDocument) -> f64| results.iter().map(|r| f(r)).sum::<f64>();
    let fuel = Bases {
        hhv: sum(&|r| r.energy_balance.fuel_input_W.hhv),
        lhv: sum(&|r| r.energy_balance.fuel_input_W.lhv),
    };
    let useful = sum(&|r| r.energy_balance.useful_output_W);
    let unaccounted = Bases {
        hhv: sum(&|r| r.energy_balance.unaccounted_W.hhv),
        lhv: sum(&|r| r.energy_balance.unaccounted_W.lhv),
    };
    let fuel_exergy = sum(&|r| r.exergy.fuel_W);
    let efficiency = Efficiencies {
        direct: Bases {
            hhv: percent(useful, fuel.hhv),
            lhv: percent(useful, fuel.lhv),
        },
        indirect: Bases {
            hhv: percent(
                sum(&|r| r.efficiency_percent.indirect.hhv * r.energy_balance.fuel_input_W.hhv)
                    / 100.0,
                fuel.hhv,
            ),
            lhv: percent(
                sum(&|r| r.efficiency_percent.indirect.lhv * r.energy_balance.fuel_input_W.lhv)
                    / 100.0,
                fuel.lhv,
            ),
        },
        exergy: percent(sum(&|r| r.exergy.useful_W), fuel_exergy),
    };
    let closure = Bases {
        hhv: percent(unaccounted.hhv, fuel.hhv),
        lhv: percent(unaccounted.lhv, fuel.lhv),
    };
    FacilitySummary {
        fuel_input_W: fuel,
        useful_output_W: useful,
        uncertainty: uncertainty(results, &efficiency, fuel, fuel_exergy),
        efficiency_percent: efficiency,
        unaccounted_W: unaccounted,
        energy_balance_percent: closure.hhv.abs(),
        closure_percent: closure,
        data_quality_score,
    }
}

/// Root-sum-square of the units' U95 weighted by their share of the fuel input on the
/// figure's basis (fuel exergy for the exergy efficiency): the facility figure is
/// Σ wᵢ ηᵢ, and the units' errors are taken as independent.
fn uncertainty(
    results: &[&FiredDocument],
    efficiency: &Efficiencies,
    fuel: Bases,
    fuel_exergy: f64,
) -> Option<RollupUncertainty> {
    let figures = [
        ("direct_hhv", efficiency.direct.hhv),
        ("direct_lhv", efficiency.direct.lhv),
        ("indirect_hhv", efficiency.indirect.hhv),
        ("indirect_lhv", efficiency.indirect.lhv),
        ("exergy_efficiency", efficiency.exergy),
    ];
    let mut out = Vec::with_capacity(figures.len());
    for (figure, value_percent) in figures {
        let mut variance = 0.0;
        for r in results {
            let first_order = r.uncertainty.as_ref()?.first_order.as_ref()?;
            let f = first_order.iter().find(|f| f.figure == figure)?;
            let b = &r.energy_balance.fuel_input_W;
            let (share, total) = match figure {
                "direct_hhv" | "indirect_hhv" => (b.hhv, fuel.hhv),
                "direct_lhv" | "indirect_lhv" => (b.lhv, fuel.lhv),
                _ => (r.exergy.fuel_W, fuel_exergy),
            };
            let w = if total > 0.0 { share / total } else { 0.0 };
            variance += (w * f.expanded_uncertainty_percent_points).powi(2);
        }
        out.push(RollupFigure {
            figure,
            value_percent,
            expanded_uncertainty_percent_points: variance.sqrt(),
        });
    }
    Some(RollupUncertainty {
        coverage: "95 % (k = 2, normal distribution)",
        method: "root-sum-square of the units' U95 weighted by their share of the fuel input \
                 (fuel exergy for the exergy efficiency); units taken as independent",
        figures: out,
    })
}
