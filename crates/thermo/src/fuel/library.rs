//! Standard fuels with cited compositions. Each function documents its source; the
//! constructors run the same checks as for user-defined fuels.

use super::{DryAnalysis, Fuel, FuelKind, GasComponent, UltimateAnalysis};
use crate::error::Result;
use crate::quantity::Fraction;

// The library data are constants checked by the tests in tests/fuel_combustion.rs, so a
// failure here is a programming error, not a user-input error.
const LIBRARY_DATA_VALID: &str = "library fuel data are valid by construction";

/// Pipeline natural gas: the "Gulf Coast" gas of AGA Report No. 8 (1994), Table of example
/// gas compositions (mole %): CH4 96.5222, C2H6 1.8186, C3H8 0.4596, i-C4 0.0977,
/// n-C4 0.1007, i-C5 0.0473, n-C5 0.0324, n-C6 0.0664, N2 0.2595, CO2 0.5956.
pub fn natural_gas() -> Fuel {
    use GasComponent::*;
    Fuel::gas(
        "natural gas (AGA 8 Gulf Coast)",
        &[
            (Methane, 0.965222),
            (Ethane, 0.018186),
            (Propane, 0.004596),
            (IsoButane, 0.000977),
            (NButane, 0.001007),
            (IsoPentane, 0.000473),
            (NPentane, 0.000324),
            (NHexane, 0.000664),
            (Nitrogen, 0.002595),
            (CarbonDioxide, 0.005956),
        ],
    )
    .expect(LIBRARY_DATA_VALID)
}

/// Pure methane.
pub fn methane() -> Fuel {
    Fuel::gas("methane", &[(GasComponent::Methane, 1.0)]).expect(LIBRARY_DATA_VALID)
}

/// Pure propane (commercial LPG is mostly propane; use [`Fuel::gas`] for a measured blend).
pub fn propane() -> Fuel {
    Fuel::gas("propane", &[(GasComponent::Propane, 1.0)]).expect(LIBRARY_DATA_VALID)
}

/// Pure hydrogen.
pub fn hydrogen() -> Fuel {
    Fuel::gas("hydrogen", &[(GasComponent::Hydrogen, 1.0)]).expect(LIBRARY_DATA_VALID)
}

/// No. 2 distillate fuel oil, mass %: C 86.8, H 12.9, S 0.3; mid-range of the typical
/// analyses in Babcock & Wilcox, "Steam: its generation and use", 41st ed., ch. 9, fuel-oil
/// table (C 86.1–88.2, H 11.8–13.9, S 0.05–1.0; gross 19,170–19,750 Btu/lb).
pub fn fuel_oil_no2() -> Fuel {
    let analysis = UltimateAnalysis {
        carbon: 0.868,
        hydrogen: 0.129,
        oxygen: 0.0,
        nitrogen: 0.0,
        sulfur: 0.003,
        moisture: 0.0,
        ash: 0.0,
    };
    Fuel::ultimate("No. 2 fuel oil", FuelKind::Liquid, analysis).expect(LIBRARY_DATA_VALID)
}

/// No. 6 residual fuel oil, mass %: C 87.8, H 10.5, S 1.5, ash 0.2; within the typical
/// analyses in Babcock & Wilcox, "Steam: its generation and use", 41st ed., ch. 9, fuel-oil
/// table (C 86.5–90.2, H 9.5–12.0, S 0.7–3.5, ash 0.01–0.5; gross 17,410–18,990 Btu/lb).
pub fn fuel_oil_no6() -> Fuel {
    let analysis = UltimateAnalysis {
        carbon: 0.878,
        hydrogen: 0.105,
        oxygen: 0.0,
        nitrogen: 0.0,
        sulfur: 0.015,
        moisture: 0.0,
        ash: 0.002,
    };
    Fuel::ultimate("No. 6 fuel oil", FuelKind::Liquid, analysis).expect(LIBRARY_DATA_VALID)
}

/// Illinois No. 6 bituminous coal as received, US DOE/NETL "Quality Guidelines for Energy
/// System Studies: Detailed Coal Specifications" (DOE/NETL-401/012111, 2012), mass %:
/// moisture 11.12, ash 9.70, C 63.75, H 4.50, N 1.25, Cl 0.29, S 2.51, O 6.88; stated HHV
/// 27,113 kJ/kg. Chlorine is counted with the ash (it leaves as HCl, 0.3 % of the fuel).
pub fn bituminous_coal() -> Fuel {
    let analysis = UltimateAnalysis {
        carbon: 0.6375,
        hydrogen: 0.0450,
        oxygen: 0.0688,
        nitrogen: 0.0125,
        sulfur: 0.0251,
        moisture: 0.1112,
        ash: 0.0970 + 0.0029,
    };
    Fuel::ultimate(
        "bituminous coal (Illinois No. 6)",
        FuelKind::Solid,
        analysis,
    )
    .expect(LIBRARY_DATA_VALID)
}

/// Powder River Basin subbituminous coal (Montana Rosebud) as received, same NETL source as
/// [`bituminous_coal`], mass %: moisture 25.77, ash 8.19, C 50.07, H 3.38, N 0.71, Cl 0.01,
/// S 0.73, O 11.14; stated HHV 19,920 kJ/kg. Chlorine is counted with the ash.
pub fn subbituminous_coal() -> Fuel {
    let analysis = UltimateAnalysis {
        carbon: 0.5007,
        hydrogen: 0.0338,
        oxygen: 0.1114,
        nitrogen: 0.0071,
        sulfur: 0.0073,
        moisture: 0.2577,
        ash: 0.0819 + 0.0001,
    };
    Fuel::ultimate("subbituminous coal (PRB)", FuelKind::Solid, analysis).expect(LIBRARY_DATA_VALID)
}

/// Dry-basis analysis of wood: red oak sawdust, Miles et al., "Alkali deposits found in
/// biomass power plants", NREL/TP-433-8142 (1995), vol. II, fuel analyses, mass % dry:
/// C 49.96, H 5.92, O 43.77, N 0.03, S 0.01, ash 0.31.
pub const WOOD_DRY: DryAnalysis = DryAnalysis {
    carbon: 0.4996,
    hydrogen: 0.0592,
    oxygen: 0.4377,
    nitrogen: 0.0003,
    sulfur: 0.0001,
    ash: 0.0031,
};

/// Wood ([`WOOD_DRY`]) at the given moisture, kg water per kg as fired (wet basis).
pub fn wood(moisture: Fraction) -> Result<Fuel> {
    let analysis = UltimateAnalysis::from_dry(WOOD_DRY, moisture)?;
    let name = format!("wood, {:.0} % moisture", moisture.value() * 100.0);
    Fuel::ultimate(&name, FuelKind::Solid, analysis)
}

/// Moisture of the `"wood"` standard fuel, kg/kg as fired: seasoned chips and logs as
/// commonly fired in industrial boilers.
pub const WOOD_STANDARD_MOISTURE: f64 = 0.30;

const IDS: [&str; 10] = [
    "natural_gas",
    "methane",
    "propane",
    "hydrogen",
    "fuel_oil_no2",
    "fuel_oil_no6",
    "bituminous_coal",
    "subbituminous_coal",
    "wood",
    "wood_dry",
];

/// The ids accepted by [`standard`].
pub fn standard_ids() -> &'static [&'static str] {
    &IDS
}

/// A standard fuel by id (see [`standard_ids`]); `"wood"` is wood at 30 % moisture,
/// `"wood_dry"` at 0 %.
pub fn standard(id: &str) -> Option<Fuel> {
    let wood_at = |m: f64| Fraction::new(m).and_then(wood).expect(LIBRARY_DATA_VALID);
    Some(match id {
        "natural_gas" => natural_gas(),
        "methane" => methane(),
        "propane" => propane(),
        "hydrogen" => hydrogen(),
        "fuel_oil_no2" => fuel_oil_no2(),
        "fuel_oil_no6" => fuel_oil_no6(),
        "bituminous_coal" => bituminous_coal(),
        "subbituminous_coal" => subbituminous_coal(),
        "wood" => wood_at(WOOD_STANDARD_MOISTURE),
        "wood_dry" => wood_at(0.0),
        _ => return None,
    })
}
