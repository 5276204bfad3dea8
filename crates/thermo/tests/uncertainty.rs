//! Uncertainty propagation against analytic answers of the GUM (JCGM 100:2008) and the
//! standard normal distribution.

use thermo::combustion::O2Basis;
use thermo::fuel::library::natural_gas;
use thermo::inputs::{
    Blowdown, CombustionAir, DeadState, FiredInputs, FiredKind, FlueGasMeasurement, SteamCondition,
    SteamOutput, SurfaceLoss, UsefulOutput,
};
use thermo::uncertainty::{
    COVERAGE_FACTOR, Figure, InputId, InputUncertainty, MonteCarlo, UncertaintySpec, first_order,
    monte_carlo, monte_carlo_fired, propagate_fired,
};
use thermo::{ErrorKind, Fraction, MassFlow, Power, Pressure, Result, Temperature};

/// 97.5 % quantile of the standard normal distribution, 1.959964 (NIST/SEMATECH
/// e-Handbook of Statistical Methods, §1.3.6.7.1, table of the normal distribution).
const Z_975: f64 = 1.959_964;

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn stated_uncertainties_are_expanded_with_k_2() {
    // Convention of ASME PTC 19.1-2018 and JCGM 100:2008 §6.3.3: U95 = 2 u.
    assert_eq!(UncertaintySpec::Absolute(0.4).standard(100.0), 0.2);
    assert_eq!(UncertaintySpec::Relative(0.01).standard(-300.0), 1.5);
    assert_eq!(UncertaintySpec::Relative(0.01).expanded(300.0), 3.0);
    assert!(UncertaintySpec::Absolute(-1.0).validate("x").is_err());
    assert!(UncertaintySpec::Relative(f64::NAN).validate("x").is_err());
    assert_eq!(COVERAGE_FACTOR, 2.0);
}

#[test]
fn product_and_quotient_add_relative_uncertainties_in_quadrature() {
    // JCGM 100:2008 §5.1.6, eq. (12): for Y = c X1^p1 X2^p2, (u_c/y)² = Σ (p_i u_i / x_i)².
    // x1 = 10 (u 1 %), x2 = 5 (u 2 %): product and quotient both have u_c/y = √5 %.
    let x = [10.0, 5.0];
    let u = [0.1, 0.1];
    let fo = first_order(&x, &u, |v: &[f64]| -> Result<[f64; 2]> {
        Ok([v[0] * v[1], v[0] / v[1]])
    })
    .unwrap();
    let expected_rel = (0.01f64.powi(2) + 0.02f64.powi(2)).sqrt();
    assert_eq!(fo.outputs[0].value, 50.0);
    assert!(rel(fo.outputs[0].standard_uncertainty, 50.0 * expected_rel) < 1e-9);
    assert!(rel(fo.outputs[1].standard_uncertainty, 2.0 * expected_rel) < 1e-9);
    assert!(rel(fo.outputs[1].expanded_uncertainty, 2.0 * 2.0 * expected_rel) < 1e-9);
    // Sensitivities of a/b: 1/b and −a/b² (exact derivatives).
    assert!(rel(fo.effects[0][1].sensitivity, 0.2) < 1e-9);
    assert!(rel(fo.effects[1][1].sensitivity, -0.4) < 1e-9);
    // Shares: 1 %² : 2 %² = 1 : 4.
    assert!((fo.effects[0][0].variance_share - 0.2).abs() < 1e-9);
    assert!((fo.effects[1][0].variance_share - 0.8).abs() < 1e-9);
    assert!(rel(fo.effects[1][1].contribution, -0.04) < 1e-8);
}

#[test]
fn power_law_follows_the_exponents() {
    // JCGM 100:2008 eq. (12) with p1 = 3, p2 = −1/2: (u_c/y)² = (3·0.5 %)² + (0.5·1 %)².
    let x = [2.0, 9.0];
    let u = [0.01, 0.09];
    let fo = first_order(&x, &u, |v: &[f64]| -> Result<[f64; 1]> {
        Ok([v[0].powi(3) / v[1].sqrt()])
    })
    .unwrap();
    let y = 8.0 / 3.0;
    let expected = y * ((3.0f64 * 0.005).powi(2) + (0.5f64 * 0.01).powi(2)).sqrt();
    assert!(rel(fo.outputs[0].standard_uncertainty, expected) < 1e-8);
}

#[test]
fn nonlinear_model_matches_its_exact_linearisation() {
    // Arrhenius form k = A exp(−E/T); exact derivatives ∂k/∂A = exp(−E/T),
    // ∂k/∂E = −k/T, ∂k/∂T = k E/T², combined by JCGM 100:2008 eq. (10).
    let (a, e, t) = (1.0e6, 5000.0, 600.0);
    let (ua, ue, ut) = (2.0e4, 50.0, 1.5);
    let fo = first_order(&[a, e, t], &[ua, ue, ut], |v: &[f64]| -> Result<[f64; 1]> {
        Ok([v[0] * (-v[1] / v[2]).exp()])
    })
    .unwrap();
    let k = a * (-e / t).exp();
    let c = [(-e / t).exp(), -k / t, k * e / (t * t)];
    let expected = ((c[0] * ua).powi(2) + (c[1] * ue).powi(2) + (c[2] * ut).powi(2)).sqrt();
    for (i, ci) in c.iter().enumerate() {
        assert!(rel(fo.effects[i][0].sensitivity, *ci) < 1e-7, "input {i}");
    }
    assert!(rel(fo.outputs[0].standard_uncertainty, expected) < 1e-8);
}

#[test]
fn first_order_costs_two_calls_per_input_plus_one() {
    let mut calls = 0usize;
    let x = [1.0; 15];
    let u = [0.01; 15];
    first_order(&x, &u, |v: &[f64]| -> Result<[f64; 1]> {
        calls += 1;
        Ok([v.iter().sum()])
    })
    .unwrap();
    assert_eq!(calls, 2 * 15 + 1);
}

#[test]
fn input_at_a_bound_uses_a_one_sided_difference() {
    // A fraction at 0 (CO not detected) cannot be perturbed below 0: f = 3 x + 1, c = 3.
    let fo = first_order(&[0.0], &[1e-5], |v: &[f64]| -> Result<[f64; 1]> {
        if v[0] < 0.0 {
            Err(thermo::Error::invalid("co", "negative"))
        } else {
            Ok([3.0 * v[0] + 1.0])
        }
    })
    .unwrap();
    assert!(rel(fo.effects[0][0].sensitivity, 3.0) < 1e-6);
    assert!(rel(fo.outputs[0].standard_uncertainty, 3e-5) < 1e-6);
}

#[test]
fn refuses_bad_uncertainties() {
    let model = |v: &[f64]| -> Result<[f64; 1]> { Ok([v[0]]) };
    let err = first_order(&[1.0], &[-0.1], model).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    assert_eq!(err.field(), "inputs[0]");
    assert!(first_order(&[1.0, 2.0], &[0.1], model).is_err());
    assert!(monte_carlo(&[1.0], &[0.1], 10, 1, model).is_err());
}

fn product_mc(samples: usize, seed: u64) -> MonteCarlo<2> {
    monte_carlo(
        &[10.0, 5.0],
        &[0.05, 0.025],
        samples,
        seed,
        |v: &[f64]| Ok([v[0] * v[1], v[0] / v[1]]),
    )
    .unwrap()
}

#[test]
fn monte_carlo_agrees_with_first_order_in_the_linear_regime() {
    // Standard uncertainties of 0.5 %: the second-order term of the product is 0.5 %² of the
    // first-order one (JCGM 100:2008 §5.1.2 note), so MCM and the GUM framework must agree
    // (JCGM 101:2008 §8). The MCM 95 % half-width of a normal output is 1.96 u_c, while the
    // conventional U95 uses k = 2: compare the half-width with 1.96 u_c. Tolerance 2 %: the
    // sampling standard error of a 95 % half-width from 10⁵ samples is about 0.3 %.
    let mc = product_mc(100_000, 20_251_101);
    let fo = first_order(
        &[10.0, 5.0],
        &[0.05, 0.025],
        |v: &[f64]| -> Result<[f64; 2]> { Ok([v[0] * v[1], v[0] / v[1]]) },
    )
    .unwrap();
    for j in 0..2 {
        let uc = fo.outputs[j].standard_uncertainty;
        assert!(
            rel(mc.outputs[j].standard_deviation, uc) < 0.02,
            "output {j}"
        );
        assert!(
            rel(mc.outputs[j].expanded_uncertainty, Z_975 * uc) < 0.02,
            "output {j}"
        );
        assert!((mc.outputs[j].mean - fo.outputs[j].value).abs() < 0.05 * uc);
        assert!(mc.outputs[j].low < mc.outputs[j].mean && mc.outputs[j].mean < mc.outputs[j].high);
    }
    assert_eq!(mc.rejected, 0);
    assert!(mc.first_rejection.is_none());
}

fn bits(mc: &MonteCarlo<2>) -> Vec<u64> {
    mc.outputs
        .iter()
        .flat_map(|o| {
            [
                o.mean,
                o.standard_deviation,
                o.low,
                o.high,
                o.expanded_uncertainty,
            ]
        })
        .map(f64::to_bits)
        .collect()
}

#[test]
fn same_seed_gives_the_same_result_bit_for_bit() {
    let a = product_mc(10_000, 7);
    let b = product_mc(10_000, 7);
    let c = product_mc(10_000, 8);
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&c));
    assert_eq!(a.seed, 7);
}

#[test]
fn rejected_samples_are_counted_and_limited_to_one_percent() {
    // x ~ N(3, 1) refused below 0: probability Φ(−3) = 0.00135 (NIST/SEMATECH e-Handbook
    // §1.3.6.7.1), so 10⁵ samples reject 135 ± 12 (binomial σ): accept 95..=175.
    let model = |v: &[f64]| -> Result<[f64; 1]> {
        if v[0] < 0.0 {
            Err(thermo::Error::invalid("o2", "below zero"))
        } else {
            Ok([v[0]])
        }
    };
    let mc = monte_carlo(&[3.0], &[1.0], 100_000, 42, model).unwrap();
    assert!(
        (95..=175).contains(&mc.rejected),
        "{} rejected",
        mc.rejected
    );
    assert_eq!(mc.first_rejection.as_ref().map(|e| e.field()), Some("o2"));
    // x ~ N(2, 1): Φ(−2) = 0.0228 of the draws are refused, above the 1 % limit.
    let err = monte_carlo(&[2.0], &[1.0], 100_000, 42, model).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Inconsistent);
    assert!(err.reason().contains("o2"), "{err}");
}

fn c(celsius: f64) -> Temperature {
    Temperature::from_celsius(celsius).unwrap()
}

/// A 5 MW natural-gas steam boiler: 0.1 kg/s of gas, 1.8 kg/s of dry saturated steam at
/// 10 bar(a) from 105 °C feedwater, 3 % dry O2, stack 180 °C.
fn gas_boiler() -> FiredInputs {
    FiredInputs {
        kind: FiredKind::SteamBoiler,
        fuel: natural_gas(),
        fuel_flow: MassFlow::from_kg_per_s(0.1).unwrap(),
        fuel_temperature: c(20.0),
        fuel_specific_heat: None,
        output: UsefulOutput::Steam(SteamOutput {
            steam_flow: MassFlow::from_kg_per_s(1.8).unwrap(),
            steam_pressure: Pressure::from_pascal(1.0e6).unwrap(),
            steam_condition: SteamCondition::Saturated {
                quality: Fraction::new(1.0).unwrap(),
            },
            feedwater_temperature: c(105.0),
            feedwater_pressure: None,
            blowdown: Blowdown::None,
        }),
        flue_gas: FlueGasMeasurement {
            o2: Fraction::new(0.03).unwrap(),
            o2_basis: O2Basis::Dry,
            temperature: c(180.0),
            co_dry: Fraction::new(0.0).unwrap(),
        },
        combustion_air: CombustionAir {
            temperature: c(25.0),
            relative_humidity: Fraction::new(0.5).unwrap(),
            pressure: Pressure::from_pascal(101_325.0).unwrap(),
        },
        unburned_carbon: None,
        surface: SurfaceLoss::NotAccounted,
        auxiliary_power: Power::from_watts(0.0).unwrap(),
        dead_state: DeadState::standard(),
    }
}

fn one_percent(ids: &[InputId]) -> Vec<InputUncertainty> {
    ids.iter()
        .map(|&input| InputUncertainty {
            input,
            expanded: UncertaintySpec::Relative(0.01),
        })
        .collect()
}

#[test]
fn input_names_round_trip() {
    for (i, id) in InputId::ALL.into_iter().enumerate() {
        assert_eq!(InputId::parse(id.as_str()), Some(id));
        assert_eq!(id.position(), i);
    }
    assert_eq!(InputId::parse("flue_gas.o2"), Some(InputId::FlueGasO2));
    assert_eq!(InputId::parse("flue_gas.oxygen"), None);
    assert_eq!(Figure::DirectHhv.as_str(), "direct_hhv");
}

#[test]
fn inputs_that_do_not_apply_are_refused_by_name() {
    let inputs = gas_boiler();
    for id in [
        InputId::OutputDuty,
        InputId::OutputFlow,
        InputId::SteamTemperature,
        InputId::Blowdown,
        InputId::SurfaceArea,
        InputId::CarbonInRefuse,
    ] {
        let err = propagate_fired(&inputs, &one_percent(&[id])).unwrap_err();
        assert_eq!(err.field(), id.as_str());
        assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    }
    let twice = one_percent(&[InputId::FuelFlow, InputId::FuelFlow]);
    assert_eq!(
        propagate_fired(&inputs, &twice).unwrap_err().field(),
        "fuel_flow"
    );
}

#[test]
fn direct_efficiency_of_a_boiler_follows_the_product_rule() {
    // η = m_steam Δh / (m_fuel HHV): by JCGM 100:2008 eq. (12) with exponents +1, −1, −1,
    // 1 % expanded (0.5 % standard) on each of the three gives u_c/η = √3 · 0.5 %.
    let inputs = gas_boiler();
    let ids = [
        InputId::FuelFlow,
        InputId::SteamFlow,
        InputId::FuelHeatingValue,
    ];
    let report = propagate_fired(&inputs, &one_percent(&ids)).unwrap();
    let direct = &report.figures[0];
    assert_eq!(direct.figure, Figure::DirectHhv);
    let expected = direct.value * 3f64.sqrt() * 0.005;
    assert!(rel(direct.standard_uncertainty, expected) < 1e-6);
    for contribution in &direct.contributions {
        assert!((contribution.variance_share - 1.0 / 3.0).abs() < 1e-6);
    }
}

#[test]
fn monte_carlo_agrees_with_first_order_on_a_gas_boiler() {
    // JCGM 101:2008 §8: the GUM framework is validated by MCM when both 95 % intervals agree;
    // with 1 % inputs the boiler is close to linear. Half-width vs 1.96 u_c (k = 2 vs the
    // normal 1.96, see the linear test), tolerance 5 % (sampling error ≈ 0.7 % at 2·10⁴).
    let inputs = gas_boiler();
    let ids = [
        InputId::FuelFlow,
        InputId::FuelHeatingValue,
        InputId::FlueGasO2,
        InputId::FlueGasTemperature,
        InputId::CombustionAirTemperature,
        InputId::CombustionAirRelativeHumidity,
        InputId::SteamFlow,
        InputId::SteamPressure,
        InputId::FeedwaterTemperature,
    ];
    let u = one_percent(&ids);
    let fo = propagate_fired(&inputs, &u).unwrap();
    let mc = monte_carlo_fired(&inputs, &u, 20_000, 2024).unwrap();
    assert_eq!(mc.rejected, 0);
    for (f, m) in fo.figures.iter().zip(&mc.figures) {
        assert_eq!(f.figure, m.figure);
        let name = f.figure.as_str();
        assert!(f.standard_uncertainty > 0.0, "{name}");
        assert!(
            rel(
                m.estimate.expanded_uncertainty,
                Z_975 * f.standard_uncertainty
            ) < 0.05,
            "{name}: MC {} vs first order {}",
            m.estimate.expanded_uncertainty,
            Z_975 * f.standard_uncertainty
        );
        assert!(
            (m.estimate.mean - f.value).abs() < 0.1 * f.standard_uncertainty,
            "{name}"
        );
    }
}
