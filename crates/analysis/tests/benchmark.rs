//! The benchmark data file is complete and traceable, its percentiles follow the derivation
//! it states, and the comparison arithmetic matches hand calculations.

use analysis::benchmark::{
    self, Equipment, FuelClass, HeatingBasis, compare, emission_factor, entries, percentile_rank,
    select, stoichiometric_emission_factor,
};
use thermo::fuel::standard;
use thermo::inputs::FiredKind;

#[test]
fn every_figure_names_known_sources_and_a_derivation() {
    let data = benchmark::data();
    assert!(!data.sources.is_empty());
    for s in &data.sources {
        assert!(!s.citation.is_empty() && !s.locator.is_empty(), "{}", s.id);
    }
    for e in &data.entries {
        assert!(!e.sources.is_empty(), "{}", e.id);
        for id in &e.sources {
            assert!(
                benchmark::source(id).is_some(),
                "{}: unknown source {id}",
                e.id
            );
        }
        assert!(e.derivation.len() > 40, "{}", e.id);
        let p = e.percentiles();
        assert!(p.windows(2).all(|w| w[0] < w[1]), "{} not increasing", e.id);
        assert!(
            e.best_practice >= e.median && e.best_practice <= 100.0,
            "{}",
            e.id
        );
        assert!(e.p10 > 0.0);
        assert!(!e.metric.is_empty());
    }
    for f in &data.emission_factors {
        assert!(benchmark::source(&f.source).is_some());
        assert!(benchmark::source(&f.ipcc_source).is_some());
    }
    let ids: Vec<&str> = data.entries.iter().map(|e| e.id.as_str()).collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[..i].contains(id), "{id} twice");
    }
}

#[test]
fn percentiles_follow_the_stated_rule() {
    // normal_from_range: p10/p90 are the range ends; median the midpoint; p25/p75 at
    // z75/z90 = 0.67449/1.28155 of the half range (standard normal quantiles).
    let ratio = 0.674_489_750 / 1.281_551_566;
    for e in entries() {
        assert_eq!(e.rule, "normal_from_range", "{}", e.id);
        let mid = 0.5 * (e.p10 + e.p90);
        let half = 0.5 * (e.p90 - e.p10);
        let close = |a: f64, b: f64| (a - b).abs() <= 0.006;
        assert!(close(e.median, mid), "{} median", e.id);
        assert!(close(e.p25, mid - ratio * half), "{} p25", e.id);
        assert!(close(e.p75, mid + ratio * half), "{} p75", e.id);
    }
}

#[test]
fn covers_the_required_equipment() {
    for fuel in [
        FuelClass::Gas,
        FuelClass::Oil,
        FuelClass::Coal,
        FuelClass::Biomass,
    ] {
        for economizer in [false, true] {
            let e = Equipment {
                kind: FiredKind::SteamBoiler,
                economizer,
            };
            let entry = select(e, fuel, 10e6).unwrap();
            assert_eq!(entry.economizer, Some(economizer));
            assert_eq!(entry.fuel, fuel);
        }
    }
    for kind in [
        FiredKind::HotWaterBoiler,
        FiredKind::ProcessFurnace,
        FiredKind::FiredHeater,
    ] {
        let e = Equipment {
            kind,
            economizer: false,
        };
        assert!(select(e, FuelClass::Gas, 5e6).is_some(), "{kind:?}");
    }
    let none = Equipment {
        kind: FiredKind::ThermalOilHeater,
        economizer: false,
    };
    assert!(select(none, FuelClass::Gas, 5e6).is_none());
}

#[test]
fn percentile_rank_matches_a_hand_example() {
    // Hand example: percentiles 70, 75, 80, 84, 87 %.
    let p = [70.0, 75.0, 80.0, 84.0, 87.0];
    assert_eq!(percentile_rank(82.0, &p), 62.5); // 50 + 25 · 2/4
    assert_eq!(percentile_rank(77.5, &p), 37.5); // 25 + 25 · 2.5/5
    assert_eq!(percentile_rank(70.0, &p), 10.0);
    assert_eq!(percentile_rank(87.0, &p), 90.0);
    assert_eq!(percentile_rank(68.0, &p), 4.0); // 10 − 2 · 15/5
    assert_eq!(percentile_rank(95.0, &p), 100.0); // 90 + 8 · 15/3 = 130, clamped
    assert_eq!(percentile_rank(50.0, &p), 0.0); // clamped
}

#[test]
fn comparison_matches_a_hand_calculation() {
    // Gas steam boiler without economizer at 79.0 % (HHV), 100 TJ/year of fuel, 10 per GJ,
    // 50 kg CO2/GJ. Entry: p25 77.07, median 79.15, best practice 83.1 %.
    let gas = standard("natural_gas").unwrap();
    let e = Equipment {
        kind: FiredKind::SteamBoiler,
        economizer: false,
    };
    let c = compare(e, &gas, 20e6, 0.79, 1e14, 10.0, 50.0)
        .unwrap()
        .unwrap();
    assert_eq!(c.entry.id, "steam-boiler-gas-no-economizer");
    // rank = 25 + (79 − 77.07) · 25 / (79.15 − 77.07) = 48.197
    assert!(
        (c.percentile_rank - 48.197).abs() < 1e-3,
        "{}",
        c.percentile_rank
    );
    // gap to median: 0.15 points; fuel 1e14 · 0.15/79.15 = 1.8951e11 J = 189.51 GJ,
    // 1895.1 per year, 9475.7 kg CO2.
    let g = c.gap_to_median;
    assert!((g.points - 0.15).abs() < 1e-9);
    assert!((g.energy_gj_per_year - 189.513_58).abs() < 1e-4);
    assert!((g.energy_j_per_year - 1.895_135_8e11).abs() < 1e5);
    assert!((g.cost_per_year - 1_895.135_8).abs() < 1e-3);
    assert!((g.co2_kg_per_year - 9475.679).abs() < 1e-2);
    // gap to best practice 83.1: 1e14 · 4.1/83.1 J = 4933.81 GJ.
    let b = c.gap_to_best_practice;
    assert!((b.points - 4.1).abs() < 1e-9);
    assert!((b.energy_gj_per_year - 4_933.814_7).abs() < 1e-3);
    assert!((c.annual_fuel_cost - 1e6).abs() < 1e-6);
    assert!((c.annual_co2_kg - 5e6).abs() < 1e-6);
    assert!(!c.notes.is_empty());
    // A unit above the median has a negative gap (it is ahead).
    let ahead = compare(e, &gas, 20e6, 0.82, 1e14, 10.0, 50.0)
        .unwrap()
        .unwrap();
    assert!(ahead.gap_to_median.energy_j_per_year < 0.0);
    // No entry: no comparison.
    let heater = Equipment {
        kind: FiredKind::ThermalOilHeater,
        economizer: false,
    };
    assert!(
        compare(heater, &gas, 1e6, 0.8, 1e13, 10.0, 50.0)
            .unwrap()
            .is_none()
    );
    assert!(compare(e, &gas, 1e6, f64::NAN, 1e13, 10.0, 50.0).is_err());
    assert!(compare(e, &gas, 1e6, 0.8, -1.0, 10.0, 50.0).is_err());
}

#[test]
fn lhv_entries_convert_with_the_fuels_ratio() {
    let gas = standard("natural_gas").unwrap();
    let mut entry = entries()[0].clone();
    assert_eq!(entry.to_hhv(&gas), 1.0);
    entry.basis = HeatingBasis::Lhv;
    // Same output over the larger HHV input: η_HHV = η_LHV · LHV/HHV.
    assert_eq!(entry.to_hhv(&gas), gas.lhv() / gas.hhv());
}

#[test]
fn fuel_classes_of_the_library_fuels() {
    for (id, class) in [
        ("natural_gas", FuelClass::Gas),
        ("propane", FuelClass::Gas),
        ("fuel_oil_no2", FuelClass::Oil),
        ("fuel_oil_no6", FuelClass::Oil),
        ("bituminous_coal", FuelClass::Coal),
        ("subbituminous_coal", FuelClass::Coal),
        ("wood", FuelClass::Biomass),
        ("wood_dry", FuelClass::Biomass),
    ] {
        assert_eq!(FuelClass::of(&standard(id).unwrap()), class, "{id}");
    }
}

#[test]
fn epa_and_ipcc_factors_agree_after_the_basis_conversion() {
    // EPA 40 CFR 98 Table C-1 (HHV) against IPCC 2006 Vol. 2 Table 2.2 (NCV) converted with
    // the library fuel's LHV/HHV: two independent publications, within 2.5 %.
    for (class, fuel) in [
        (FuelClass::Gas, "natural_gas"),
        (FuelClass::Oil, "fuel_oil_no2"),
        (FuelClass::Coal, "bituminous_coal"),
    ] {
        let f = emission_factor(class).unwrap();
        let fuel = standard(fuel).unwrap();
        let ipcc_hhv = f.ipcc_kg_co2_per_tj_ncv / 1e3 * fuel.lhv() / fuel.hhv();
        let epa = f.kg_per_gj_hhv();
        assert!(
            (ipcc_hhv / epa - 1.0).abs() < 0.025,
            "{class:?}: {ipcc_hhv} vs {epa}"
        );
    }
    // 53.06 kg/mmBtu = 50.291 kg/GJ (1 mmBtu = 1.05505585262 GJ).
    let gas = emission_factor(FuelClass::Gas).unwrap();
    assert!((gas.kg_per_gj_hhv() - 50.291_18).abs() < 1e-4);
}

#[test]
fn carbon_balance_agrees_with_the_epa_factors() {
    // CO2 from the library fuels' carbon against EPA Table C-1: within 2 % for the fossil
    // fuels (their compositions come from other publications than EPA's defaults).
    for (class, fuel) in [
        (FuelClass::Gas, "natural_gas"),
        (FuelClass::Oil, "fuel_oil_no2"),
        (FuelClass::Coal, "bituminous_coal"),
    ] {
        let epa = emission_factor(class).unwrap().kg_per_gj_hhv();
        let own = stoichiometric_emission_factor(&standard(fuel).unwrap());
        assert!((own / epa - 1.0).abs() < 0.02, "{fuel}: {own} vs {epa}");
    }
    assert_eq!(
        stoichiometric_emission_factor(&standard("hydrogen").unwrap()),
        0.0
    );
    assert!(emission_factor(FuelClass::Biomass).unwrap().biogenic);
}
