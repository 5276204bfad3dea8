//! Benchmarks: where a unit's efficiency stands among peers of its kind, fuel and size, and
//! what the gap to the median and to best practice is worth per year.
//!
//! The distributions, their sources and the CO2 emission factors live in a data file
//! (`data/benchmarks.toml`), embedded at compile time and parsed at first use. Every entry
//! names its sources, its heating-value basis, the efficiency metric it measures and how its
//! percentiles were derived. Formulas: `docs/ANALYSIS.md`, "Benchmarks".

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use thermo::fuel::{Fuel, FuelKind};
use thermo::inputs::FiredKind;

use crate::{Error, J_PER_GJ, Result};

/// The embedded data file.
const DATA_TOML: &str = include_str!("../data/benchmarks.toml");

/// Joules per International Table Btu, exact by definition (1 Btu_IT = 1055.05585262 J).
pub const J_PER_BTU: f64 = 1_055.055_852_62;

/// Dry-ash-free oxygen mass fraction above which a solid fuel counts as biomass: wood and
/// straw carry 40–45 % oxygen (daf), coals up to lignite's ~25 %.
const BIOMASS_MIN_OXYGEN_DAF: f64 = 0.30;

/// The fuel classes of the benchmark data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FuelClass {
    /// Natural gas and other gaseous fuels.
    Gas,
    /// Fuel oils.
    Oil,
    /// Coals.
    Coal,
    /// Solid biomass (wood, residues).
    Biomass,
}

impl FuelClass {
    /// The class of a thermo fuel: gas and liquid by state; a solid is biomass when its
    /// dry-ash-free oxygen exceeds 30 % by mass, else coal.
    pub fn of(fuel: &Fuel) -> Self {
        match fuel.kind() {
            FuelKind::Gas => Self::Gas,
            FuelKind::Liquid => Self::Oil,
            FuelKind::Solid => {
                let e = fuel.elemental();
                let daf = 1.0 - e.moisture - e.ash;
                if daf > 0.0 && e.o / daf > BIOMASS_MIN_OXYGEN_DAF {
                    Self::Biomass
                } else {
                    Self::Coal
                }
            }
        }
    }

    /// `"gas"`, `"oil"`, `"coal"` or `"biomass"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gas => "gas",
            Self::Oil => "oil",
            Self::Coal => "coal",
            Self::Biomass => "biomass",
        }
    }
}

/// Heating-value basis of a benchmark figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeatingBasis {
    /// Higher (gross) heating value.
    #[serde(rename = "HHV")]
    Hhv,
    /// Lower (net) heating value.
    #[serde(rename = "LHV")]
    Lhv,
}

/// A publication the data cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Short id used by entries (`doe-steam-tip-4`).
    pub id: String,
    /// Full citation.
    pub citation: String,
    /// Table, page or sentence the figures come from.
    pub locator: String,
    /// Heating-value basis of its figures.
    pub basis: HeatingBasis,
}

/// One benchmark distribution: efficiency percentiles of one equipment kind, fuel and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable id (`steam-boiler-gas-economizer`).
    pub id: String,
    /// Equipment kind, as [`FiredKind::as_str`].
    pub equipment: String,
    /// Fuel class.
    pub fuel: FuelClass,
    /// Whether the entry is for units with (true) or without (false) a feedwater
    /// economizer or air preheater; absent when it does not distinguish.
    #[serde(default)]
    pub economizer: Option<bool>,
    /// Smallest rating covered, W (fuel input or output as the source states).
    pub rating_min_w: f64,
    /// Largest rating covered, W (exclusive); absent for no upper bound.
    #[serde(default)]
    pub rating_max_w: Option<f64>,
    /// Heating-value basis of the percentiles.
    pub basis: HeatingBasis,
    /// What efficiency the figures measure (`combustion_efficiency`, `thermal_efficiency`).
    pub metric: String,
    /// How the percentiles follow from the source figures (`normal_from_range`).
    pub rule: String,
    /// 10th percentile, %.
    pub p10: f64,
    /// 25th percentile, %.
    pub p25: f64,
    /// Median, %.
    pub median: f64,
    /// 75th percentile, %.
    pub p75: f64,
    /// 90th percentile, %.
    pub p90: f64,
    /// Best practice, %.
    pub best_practice: f64,
    /// Ids of the [`Source`]s.
    pub sources: Vec<String>,
    /// How the figures were derived from the sources.
    pub derivation: String,
}

impl Entry {
    /// The five percentiles (10, 25, 50, 75, 90), %.
    pub fn percentiles(&self) -> [f64; 5] {
        [self.p10, self.p25, self.median, self.p75, self.p90]
    }

    /// Factor that brings the entry's figures to the HHV basis for `fuel`: 1 for HHV
    /// entries, LHV/HHV of the fuel for LHV entries (η_HHV = η_LHV · LHV/HHV, the same
    /// output over a larger input).
    pub fn to_hhv(&self, fuel: &Fuel) -> f64 {
        match self.basis {
            HeatingBasis::Hhv => 1.0,
            HeatingBasis::Lhv => fuel.lhv() / fuel.hhv(),
        }
    }
}

/// A default CO2 emission factor of one fuel class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmissionFactor {
    /// Fuel class.
    pub fuel: FuelClass,
    /// Which fuel of the source table.
    pub name: String,
    /// kg CO2 per mmBtu on the HHV basis (the value used).
    pub kg_co2_per_mmbtu_hhv: f64,
    /// Id of its source.
    pub source: String,
    /// The IPCC default for comparison, kg CO2 per TJ on the NCV (LHV) basis.
    pub ipcc_kg_co2_per_tj_ncv: f64,
    /// Id of the IPCC source.
    pub ipcc_source: String,
    /// Whether the CO2 is biogenic (reported separately under most schemes).
    pub biogenic: bool,
}

impl EmissionFactor {
    /// kg CO2 per GJ of fuel on the HHV basis: kg/mmBtu over 1.05505585262 GJ/mmBtu.
    pub fn kg_per_gj_hhv(&self) -> f64 {
        self.kg_co2_per_mmbtu_hhv / (1e6 * J_PER_BTU / J_PER_GJ)
    }
}

/// The whole data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Cited publications.
    pub sources: Vec<Source>,
    /// Efficiency distributions.
    pub entries: Vec<Entry>,
    /// CO2 emission factors.
    pub emission_factors: Vec<EmissionFactor>,
}

/// The embedded data, parsed once.
pub fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        toml::from_str(DATA_TOML).expect("the embedded benchmark data file parses (tested)")
    })
}

/// All benchmark entries, in file order.
pub fn entries() -> &'static [Entry] {
    &data().entries
}

/// All cited sources.
pub fn sources() -> &'static [Source] {
    &data().sources
}

/// A source by id.
pub fn source(id: &str) -> Option<&'static Source> {
    sources().iter().find(|s| s.id == id)
}

/// The default emission factor of a fuel class.
pub fn emission_factor(fuel: FuelClass) -> Option<&'static EmissionFactor> {
    data().emission_factors.iter().find(|f| f.fuel == fuel)
}

/// CO2 from burning the fuel's carbon completely, kg per GJ HHV: c · M_CO2 / M_C / HHV. A
/// check on the table values, and the factor for fuels no table row describes (hydrogen: 0).
pub fn stoichiometric_emission_factor(fuel: &Fuel) -> f64 {
    const M_C: f64 = 12.011e-3;
    const M_CO2: f64 = 44.0095e-3;
    fuel.elemental().c * (M_CO2 / M_C) / fuel.hhv() * J_PER_GJ
}

/// What is being benchmarked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Equipment {
    /// Kind of fired equipment.
    pub kind: FiredKind,
    /// Whether it has a feedwater economizer or an air preheater.
    pub economizer: bool,
}

/// The best entry for a unit: same kind, fuel class and size class, with a matching
/// economizer flag preferred over an entry that does not distinguish.
pub fn select(equipment: Equipment, fuel: FuelClass, rating_w: f64) -> Option<&'static Entry> {
    let candidates = entries().iter().filter(|e| {
        e.equipment == equipment.kind.as_str()
            && e.fuel == fuel
            && rating_w >= e.rating_min_w
            && e.rating_max_w.is_none_or(|max| rating_w < max)
            && e.economizer.is_none_or(|x| x == equipment.economizer)
    });
    candidates.min_by_key(|e| e.economizer.is_none())
}

/// Percentile rank of `x` in the distribution given by its 10/25/50/75/90 percentiles:
/// linear between the points, extended beyond p10 and p90 with the slope of the outer
/// segment, clamped to 0–100.
pub fn percentile_rank(x: f64, percentiles: &[f64; 5]) -> f64 {
    const RANKS: [f64; 5] = [10.0, 25.0, 50.0, 75.0, 90.0];
    let segment = |i: usize| {
        let (x0, x1) = (percentiles[i], percentiles[i + 1]);
        let (r0, r1) = (RANKS[i], RANKS[i + 1]);
        if x1 > x0 {
            r0 + (x - x0) * (r1 - r0) / (x1 - x0)
        } else if x < x0 {
            r0
        } else {
            r1
        }
    };
    let i = match percentiles.iter().rposition(|&p| p <= x) {
        None => 0,
        Some(i) => i.min(3),
    };
    segment(i).clamp(0.0, 100.0)
}

/// The gap from the unit to a reference efficiency, per year. Positive when the unit is
/// below the reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gap {
    /// Reference efficiency, % (HHV).
    pub reference_percent: f64,
    /// Reference minus the unit's efficiency, percentage points.
    pub points: f64,
    /// Fuel the unit burns beyond what it would at the reference efficiency for the same
    /// useful output, J/year (HHV): F (1 − η/η_ref).
    pub energy_j_per_year: f64,
    /// The same in GJ/year.
    pub energy_gj_per_year: f64,
    /// Its cost per year, in the currency of the fuel price.
    pub cost_per_year: f64,
    /// Its CO2, kg/year.
    pub co2_kg_per_year: f64,
}

/// A unit's standing against its benchmark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The entry compared with.
    pub entry: &'static Entry,
    /// Its sources.
    pub sources: Vec<&'static Source>,
    /// The unit's efficiency, % (HHV).
    pub efficiency_percent_hhv: f64,
    /// The entry's percentiles on the HHV basis, % (10, 25, 50, 75, 90).
    pub percentiles_hhv: [f64; 5],
    /// Best practice on the HHV basis, %.
    pub best_practice_hhv: f64,
    /// Percentile rank of the unit, 0–100.
    pub percentile_rank: f64,
    /// Gap to the median.
    pub gap_to_median: Gap,
    /// Gap to best practice.
    pub gap_to_best_practice: Gap,
    /// Annual fuel input, GJ/year (HHV).
    pub annual_fuel_gj: f64,
    /// Annual fuel cost.
    pub annual_fuel_cost: f64,
    /// Annual CO2, kg/year.
    pub annual_co2_kg: f64,
    /// What the reader must know to interpret the figures.
    pub notes: Vec<String>,
}

fn check(field: &str, value: f64, positive: bool) -> Result<f64> {
    let ok = value.is_finite() && if positive { value > 0.0 } else { value >= 0.0 };
    if ok {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            format!(
                "{value} must be a finite number {}",
                if positive { "above 0" } else { "of 0 or more" }
            ),
        ))
    }
}

/// Compares a unit with its benchmark. `efficiency_hhv` is a fraction (0.82), the annual
/// fuel input in J on the HHV basis, the price per GJ HHV, the emission factor in kg CO2 per
/// GJ HHV. `Ok(None)` when no entry covers the unit.
pub fn compare(
    equipment: Equipment,
    fuel: &Fuel,
    rating_w: f64,
    efficiency_hhv: f64,
    annual_fuel_input_j: f64,
    fuel_price_per_gj: f64,
    emission_factor_kg_per_gj: f64,
) -> Result<Option<Comparison>> {
    check("rating", rating_w, false)?;
    let eta = check("efficiency_hhv", efficiency_hhv, true)?;
    let fuel_j = check("annual_fuel_input", annual_fuel_input_j, false)?;
    let price = check("fuel_price", fuel_price_per_gj, false)?;
    let factor = check("emission_factor", emission_factor_kg_per_gj, false)?;
    let class = FuelClass::of(fuel);
    let Some(entry) = select(equipment, class, rating_w) else {
        return Ok(None);
    };
    let mut notes = Vec::new();
    let to_hhv = entry.to_hhv(fuel);
    if entry.basis == HeatingBasis::Lhv {
        notes.push(format!(
            "the benchmark is stated on the LHV basis; converted to HHV with this fuel's \
             LHV/HHV = {to_hhv:.4}"
        ));
    }
    let percentiles_hhv = entry.percentiles().map(|p| p * to_hhv);
    let best_practice_hhv = entry.best_practice * to_hhv;
    let percent = 100.0 * eta;
    let rank = percentile_rank(percent, &percentiles_hhv);
    if percent < percentiles_hhv[0] || percent > percentiles_hhv[4] {
        notes.push(
            "the efficiency lies outside the 10th–90th percentile range: its rank is \
             extrapolated linearly and clamped to 0–100"
                .to_string(),
        );
    }
    if entry.metric == "combustion_efficiency" {
        notes.push(
            "the benchmark is a combustion efficiency (stack losses only); a measured \
             fuel-to-output efficiency also carries casing and blowdown losses, typically \
             0.5–3 points"
                .to_string(),
        );
    }
    if class == FuelClass::Biomass {
        notes.push(format!(
            "this fuel's latent-heat share (HHV − LHV)/HHV is {:.1} %; the biomass benchmark \
             assumes 11.8 % (wood at 30 % moisture)",
            100.0 * (fuel.hhv() - fuel.lhv()) / fuel.hhv()
        ));
    }
    let gap = |reference_percent: f64| {
        let energy = fuel_j * (1.0 - percent / reference_percent);
        let gj = energy / J_PER_GJ;
        Gap {
            reference_percent,
            points: reference_percent - percent,
            energy_j_per_year: energy,
            energy_gj_per_year: gj,
            cost_per_year: gj * price,
            co2_kg_per_year: gj * factor,
        }
    };
    let annual_fuel_gj = fuel_j / J_PER_GJ;
    Ok(Some(Comparison {
        entry,
        sources: entry.sources.iter().filter_map(|id| source(id)).collect(),
        efficiency_percent_hhv: percent,
        percentiles_hhv,
        best_practice_hhv,
        percentile_rank: rank,
        gap_to_median: gap(percentiles_hhv[2]),
        gap_to_best_practice: gap(best_practice_hhv),
        annual_fuel_gj,
        annual_fuel_cost: annual_fuel_gj * price,
        annual_co2_kg: annual_fuel_gj * factor,
        notes,
    }))
}
