//! The Sankey model of one or several fired units: inputs → units → outputs, in W, on the
//! HHV or LHV energy basis or on the exergy basis, balanced at every node.
//!
//! Every term of thermo's balance becomes a link. Energy: fuel (one node per unit), the
//! credits (entering-air and fuel sensible heat, auxiliary power) as inputs; useful heat, each
//! loss by its [`LossKind`] and the unaccounted rest as outputs. Exergy: fuel, combustion air
//! and auxiliary power in; useful exergy, each exergy loss and the destruction out. A term
//! with a negative value flows the other way, so it moves to the other side under a name that
//! says so: a negative unaccounted rest is the input "Unaccounted gain", a negative credit
//! (air or fuel colder than the 25 °C reference) is an output. Because thermo defines the
//! unaccounted rest and the destruction as the balance residuals, every unit node balances to
//! rounding; source and sink nodes carry the sum of their links.

mod svg;

use serde::Serialize;
use thermo::results::{Basis, CreditKind, ExergyLossKind, FiredResult, LossKind};

use crate::{Error, Result};

pub use svg::{PowerUnits, SvgOptions, render_svg};

/// What the flows measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SankeyBasis {
    /// Energy with the fuel at its higher (gross) heating value.
    #[serde(rename = "HHV")]
    Hhv,
    /// Energy with the fuel at its lower (net) heating value.
    #[serde(rename = "LHV")]
    Lhv,
    /// Exergy (work potential) against the calculation's dead state.
    #[serde(rename = "exergy")]
    Exergy,
}

impl SankeyBasis {
    /// `"HHV"`, `"LHV"` or `"exergy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hhv => "HHV",
            Self::Lhv => "LHV",
            Self::Exergy => "exergy",
        }
    }
}

/// One fired unit of the diagram: its id and name (from the facility) and its result.
#[derive(Debug, Clone, Copy)]
pub struct UnitResult<'a> {
    /// Equipment id, unique within the diagram (`BLR-001`).
    pub id: &'a str,
    /// Display name (`Steam boiler 1`).
    pub name: &'a str,
    /// The unit's calculation.
    pub result: &'a FiredResult,
}

/// Which column of the diagram a node stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    /// Energy or exergy entering the units.
    Source,
    /// A fired unit.
    Unit,
    /// Energy or exergy leaving the units.
    Sink,
}

/// What a node or link stands for; it fixes the colour and the stable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Fuel at its heating value (energy) or chemical exergy.
    Fuel,
    /// A credit of the heat-loss method.
    Credit(CreditKind),
    /// Thermomechanical exergy of the combustion air.
    AirExergy,
    /// Auxiliary power on the exergy basis (pure work).
    AuxiliaryWork,
    /// A fired unit.
    Unit,
    /// Useful heat, or the exergy delivered with it.
    Useful,
    /// A loss of the heat-loss method.
    Loss(LossKind),
    /// A loss of work potential leaving the boundary.
    ExergyLoss(ExergyLossKind),
    /// Exergy destroyed by irreversibilities.
    Destruction,
    /// The energy balance residual (output when positive, input "gain" when negative).
    Unaccounted,
}

impl Category {
    /// Stable key used in JSON and for the colour table (`loss.dry_flue_gas`, ...).
    pub fn key(self) -> String {
        match self {
            Self::Fuel => "fuel".to_string(),
            Self::Credit(k) => format!("credit.{}", k.as_str()),
            Self::AirExergy => "air_exergy".to_string(),
            Self::AuxiliaryWork => "auxiliary_work".to_string(),
            Self::Unit => "unit".to_string(),
            Self::Useful => "useful".to_string(),
            Self::Loss(k) => format!("loss.{}", k.as_str()),
            Self::ExergyLoss(k) => format!("exergy_loss.{}", k.as_str()),
            Self::Destruction => "destruction".to_string(),
            Self::Unaccounted => "unaccounted".to_string(),
        }
    }

    /// Fill colour (sRGB hex) of this category: a fixed table, so a loss kind has the same
    /// colour in every diagram.
    pub fn colour(self) -> &'static str {
        match self {
            Self::Fuel => "#d9480f",
            Self::Credit(CreditKind::EnteringAir) => "#f59f00",
            Self::Credit(CreditKind::FuelSensibleHeat) => "#e8b004",
            Self::Credit(CreditKind::AuxiliaryPower) | Self::AuxiliaryWork => "#7048e8",
            Self::AirExergy => "#f59f00",
            Self::Unit => "#495057",
            Self::Useful => "#2b8a3e",
            Self::Loss(LossKind::DryFlueGas) | Self::ExergyLoss(ExergyLossKind::FlueGas) => {
                "#c92a2a"
            }
            Self::Loss(LossKind::WaterFromHydrogen) => "#1971c2",
            Self::Loss(LossKind::MoistureInFuel) => "#0b7285",
            Self::Loss(LossKind::MoistureInAir) => "#4dabf7",
            Self::Loss(LossKind::CarbonMonoxide)
            | Self::ExergyLoss(ExergyLossKind::CarbonMonoxide) => "#5f3dc4",
            Self::Loss(LossKind::UnburnedCarbon)
            | Self::ExergyLoss(ExergyLossKind::UnburnedCarbon) => "#343a40",
            Self::Loss(LossKind::Surface) | Self::ExergyLoss(ExergyLossKind::Surface) => "#e8590c",
            Self::Loss(LossKind::Blowdown) | Self::ExergyLoss(ExergyLossKind::Blowdown) => {
                "#15aabf"
            }
            Self::Destruction => "#862e9c",
            Self::Unaccounted => "#868e96",
        }
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

/// A node of the diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Stable id (`fuel:BLR-001`, `unit:BLR-001`, `loss.dry_flue_gas`, ...).
    pub id: String,
    /// Display name, without value.
    pub name: String,
    /// Column.
    pub column: Column,
    /// What it stands for.
    pub category: Category,
    /// Flow through the node, W: the sum of its links (inflow for units).
    pub value: f64,
    /// The value as a percentage of the diagram's reference input.
    pub percent: f64,
}

/// A flow between two nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Index of the source node in [`SankeyModel::nodes`].
    pub source: usize,
    /// Index of the target node.
    pub target: usize,
    /// Flow, W (always positive).
    pub value: f64,
    /// What flows (the category of the source or sink end that is not a unit).
    pub category: Category,
}

/// A balanced Sankey diagram, ready for rendering or for JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SankeyModel {
    /// Basis of the flows.
    pub basis: SankeyBasis,
    /// The reference of the percentages, W: total fuel input on the basis (fuel exergy on the
    /// exergy basis), so the useful output of one unit reads as its efficiency.
    pub reference: f64,
    /// Nodes: sources, then units, then sinks, each column in a fixed order.
    pub nodes: Vec<Node>,
    /// Links, ordered by source then target node.
    pub links: Vec<Link>,
}

/// One signed term of a unit's balance before it is placed on a side.
struct Term {
    /// Position in the canonical order of terms (fixes the node order within a column).
    order: usize,
    /// Whether a positive value enters the unit.
    input: bool,
    category: Category,
    /// Node id and name when the value is positive / negative.
    id: String,
    name: String,
    flipped_id: String,
    flipped_name: String,
    value: f64,
}

/// The display name of a loss kind (`Dry flue gas`), as the diagram labels it.
pub fn loss_name(kind: LossKind) -> &'static str {
    match kind {
        LossKind::DryFlueGas => "Dry flue gas",
        LossKind::WaterFromHydrogen => "Water from hydrogen",
        LossKind::MoistureInFuel => "Moisture in fuel",
        LossKind::MoistureInAir => "Moisture in air",
        LossKind::CarbonMonoxide => "Carbon monoxide",
        LossKind::UnburnedCarbon => "Unburned carbon",
        LossKind::Surface => "Surface radiation and convection",
        LossKind::Blowdown => "Blowdown",
    }
}

fn credit_name(kind: CreditKind) -> &'static str {
    match kind {
        CreditKind::EnteringAir => "Combustion air sensible heat",
        CreditKind::FuelSensibleHeat => "Fuel sensible heat",
        CreditKind::AuxiliaryPower => "Auxiliary power",
    }
}

fn exergy_loss_name(kind: ExergyLossKind) -> &'static str {
    match kind {
        ExergyLossKind::FlueGas => "Flue gas exergy",
        ExergyLossKind::CarbonMonoxide => "Carbon monoxide exergy",
        ExergyLossKind::UnburnedCarbon => "Unburned carbon exergy",
        ExergyLossKind::Surface => "Surface heat exergy",
        ExergyLossKind::Blowdown => "Blowdown exergy",
    }
}

/// A term whose node is shared by all units (credits, losses, ...).
fn shared(order: usize, input: bool, category: Category, name: &str, flipped: &str) -> Term {
    let key = category.key();
    Term {
        order,
        input,
        category,
        id: key.clone(),
        name: name.to_string(),
        flipped_id: format!("{key}.reversed"),
        flipped_name: flipped.to_string(),
        value: 0.0,
    }
}

fn energy_terms(unit: &UnitResult, basis: Basis) -> Vec<Term> {
    let r = unit.result;
    let mut terms = Vec::with_capacity(14);
    let fuel = Term {
        order: 0,
        input: true,
        category: Category::Fuel,
        id: format!("fuel:{}", unit.id),
        name: format!("Fuel, {}", unit.name),
        flipped_id: format!("fuel:{}.reversed", unit.id),
        flipped_name: format!("Fuel (negative), {}", unit.name),
        value: r.fuel_input.on(basis),
    };
    terms.push(fuel);
    for (i, c) in r.credits.iter().enumerate() {
        let name = credit_name(c.kind);
        let mut t = shared(
            1 + i,
            true,
            Category::Credit(c.kind),
            name,
            &format!("{name} below reference"),
        );
        t.value = c.power;
        terms.push(t);
    }
    let mut useful = shared(
        10,
        false,
        Category::Useful,
        "Useful heat",
        "Useful heat (negative)",
    );
    useful.value = r.useful_output;
    terms.push(useful);
    for (i, l) in r.losses.iter().enumerate() {
        let name = loss_name(l.kind);
        let mut t = shared(
            11 + i,
            false,
            Category::Loss(l.kind),
            name,
            &format!("{name} (gain)"),
        );
        t.value = l.power.on(basis);
        terms.push(t);
    }
    let mut unaccounted = shared(
        30,
        false,
        Category::Unaccounted,
        "Unaccounted",
        "Unaccounted gain",
    );
    unaccounted.value = r.unaccounted.on(basis);
    terms.push(unaccounted);
    terms
}

fn exergy_terms(unit: &UnitResult) -> Vec<Term> {
    let x = &unit.result.exergy;
    let mut terms = Vec::with_capacity(10);
    terms.push(Term {
        order: 0,
        input: true,
        category: Category::Fuel,
        id: format!("fuel:{}", unit.id),
        name: format!("Fuel exergy, {}", unit.name),
        flipped_id: format!("fuel:{}.reversed", unit.id),
        flipped_name: format!("Fuel exergy (negative), {}", unit.name),
        value: x.fuel,
    });
    let mut air = shared(
        1,
        true,
        Category::AirExergy,
        "Combustion air exergy",
        "Combustion air exergy (negative)",
    );
    air.value = x.combustion_air;
    terms.push(air);
    let mut aux = shared(
        2,
        true,
        Category::AuxiliaryWork,
        "Auxiliary power",
        "Auxiliary power (negative)",
    );
    aux.value = x.auxiliary_power;
    terms.push(aux);
    let mut useful = shared(
        10,
        false,
        Category::Useful,
        "Useful exergy",
        "Useful exergy (negative)",
    );
    useful.value = x.useful;
    terms.push(useful);
    for (i, (kind, value)) in x.losses.iter().enumerate() {
        let name = exergy_loss_name(*kind);
        let mut t = shared(
            11 + i,
            false,
            Category::ExergyLoss(*kind),
            name,
            &format!("{name} (negative)"),
        );
        t.value = *value;
        terms.push(t);
    }
    let mut destruction = shared(
        30,
        false,
        Category::Destruction,
        "Exergy destruction",
        "Negative destruction (inconsistent data)",
    );
    destruction.value = x.destruction;
    terms.push(destruction);
    terms
}

/// Builds the balanced diagram of `units` on `basis`.
///
/// Errors: no units, a repeated unit id, or a non-finite or non-positive fuel input (the
/// reference of the percentages).
pub fn build(units: &[UnitResult], basis: SankeyBasis) -> Result<SankeyModel> {
    if units.is_empty() {
        return Err(Error::invalid(
            "units",
            "a Sankey diagram needs at least one unit",
        ));
    }
    for (i, u) in units.iter().enumerate() {
        if units[..i].iter().any(|v| v.id == u.id) {
            return Err(Error::invalid(
                "units.id",
                format!("equipment id {:?} appears twice", u.id),
            ));
        }
    }
    let per_unit: Vec<Vec<Term>> = units
        .iter()
        .map(|u| match basis {
            SankeyBasis::Hhv => energy_terms(u, Basis::Hhv),
            SankeyBasis::Lhv => energy_terms(u, Basis::Lhv),
            SankeyBasis::Exergy => exergy_terms(u),
        })
        .collect();
    for (u, terms) in units.iter().zip(&per_unit) {
        if let Some(t) = terms.iter().find(|t| !t.value.is_finite()) {
            return Err(Error::invalid(
                format!("units.{}", u.id),
                format!("{} is not a finite number", t.name),
            ));
        }
    }
    let reference: f64 = per_unit
        .iter()
        .map(|terms| {
            terms
                .iter()
                .filter(|t| t.order == 0)
                .map(|t| t.value)
                .sum::<f64>()
        })
        .sum();
    if reference.is_nan() || reference <= 0.0 {
        return Err(Error::invalid(
            "units",
            "the total fuel input is not positive: no reference for the percentages",
        ));
    }

    let mut nodes: Vec<Node> = units
        .iter()
        .map(|u| Node {
            id: format!("unit:{}", u.id),
            name: u.name.to_string(),
            column: Column::Unit,
            category: Category::Unit,
            value: 0.0,
            percent: 0.0,
        })
        .collect();
    let mut links: Vec<(usize, usize, f64, Category)> = Vec::new();
    // Sources then sinks, each in the canonical term order then the unit order, so the node
    // order does not depend on which unit happens to have which term.
    let mut orders: Vec<usize> = per_unit.iter().flatten().map(|t| t.order).collect();
    orders.sort_unstable();
    orders.dedup();
    for column in [Column::Source, Column::Sink] {
        for &order in &orders {
            for (unit, terms) in per_unit.iter().enumerate() {
                for t in terms.iter().filter(|t| t.order == order && t.value != 0.0) {
                    let enters = t.input == (t.value > 0.0);
                    if (column == Column::Source) != enters {
                        continue;
                    }
                    let (id, name) = if t.value > 0.0 {
                        (&t.id, &t.name)
                    } else {
                        (&t.flipped_id, &t.flipped_name)
                    };
                    let node = match nodes.iter().position(|n| &n.id == id) {
                        Some(i) => i,
                        None => {
                            nodes.push(Node {
                                id: id.clone(),
                                name: name.clone(),
                                column,
                                category: t.category,
                                value: 0.0,
                                percent: 0.0,
                            });
                            nodes.len() - 1
                        }
                    };
                    let value = t.value.abs();
                    if enters {
                        links.push((node, unit, value, t.category));
                    } else {
                        links.push((unit, node, value, t.category));
                    }
                }
            }
        }
    }
    // Reorder the nodes by column (sources, units, sinks), keeping the order within each.
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| (nodes[i].column, i));
    let mut position = vec![0; nodes.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let mut nodes: Vec<Node> = order.iter().filter_map(|&i| slots[i].take()).collect();
    for l in &mut links {
        l.0 = position[l.0];
        l.1 = position[l.1];
    }
    links.sort_by_key(|a| (a.0, a.1));
    let links: Vec<Link> = links
        .into_iter()
        .map(|(source, target, value, category)| Link {
            source,
            target,
            value,
            category,
        })
        .collect();
    for (i, node) in nodes.iter_mut().enumerate() {
        let value: f64 = match node.column {
            Column::Source => links
                .iter()
                .filter(|l| l.source == i)
                .map(|l| l.value)
                .sum(),
            Column::Unit | Column::Sink => links
                .iter()
                .filter(|l| l.target == i)
                .map(|l| l.value)
                .sum(),
        };
        node.value = value;
        node.percent = 100.0 * value / reference;
    }
    Ok(SankeyModel {
        basis,
        reference,
        nodes,
        links,
    })
}
