//! The calculation document: one equipment calculation read from JSON, converted once into
//! `thermo`'s SI inputs, calculated, and written back as JSON with every unit in its key.
//!
//! The input format is documented for engineers in `docs/CALC_INPUT.md`; its JSON Schema,
//! `docs/schema/calculation-input.schema.json`, is generated from the types of [`input`] by
//! [`input_schema`]. Every refusal is a [`BoundaryError`] naming the JSON path of the field.

mod convert;
mod error;
pub mod input;
pub mod output;
pub mod quantity;

use thermo::inputs::EquipmentInputs;
use thermo::provenance;
use thermo::uncertainty;

pub use convert::{Converted, Note, Plan, StatedInput, convert};
pub(crate) use error::serde_error_path;
pub use error::{BoundaryError, BoundaryErrorKind};
pub use input::CalculationInput;
pub use output::OutputDocument;

/// Choices of the caller that are not part of the calculation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Include the canonical text that was hashed in the provenance.
    pub canonical_inputs: bool,
}

/// Reads the input document, naming the JSON path of any unknown, missing or malformed field.
pub fn read(json: &str) -> Result<CalculationInput, BoundaryError> {
    // Well-formedness first, so that a shape error is never reported as a syntax error.
    serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| {
        BoundaryError::new(
            BoundaryErrorKind::Syntax,
            "",
            format!("the document is not valid JSON: {e}"),
        )
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let doc: CalculationInput =
        serde_path_to_error::deserialize(&mut deserializer).map_err(error::from_serde)?;
    Ok(doc)
}

/// Calculates a document read by [`read`]: converts it, runs `thermo`, propagates the
/// stated uncertainties and writes the output document.
pub fn run(doc: &CalculationInput, options: RunOptions) -> Result<OutputDocument, BoundaryError> {
    let converted = convert(doc)?;
    let stated: Vec<_> = converted.stated.iter().map(|s| s.uncertainty).collect();
    let monte_carlo_run = converted
        .plan
        .and_then(|plan| plan.monte_carlo)
        .map(|(samples, seed)| provenance::MonteCarloRun { samples, seed });
    let canonical = provenance::canonical_text(&converted.inputs, &stated, monte_carlo_run);
    let provenance = output::Provenance {
        sha256: provenance::sha256_hex(canonical.as_bytes()),
        method_version: provenance::METHOD_VERSION,
        canonical_inputs: options.canonical_inputs.then_some(canonical),
    };
    match &converted.inputs {
        EquipmentInputs::Fired(inputs) => {
            let r = thermo::fired::calculate_fired(inputs).map_err(|e| converted.error(&e))?;
            let uncertainty = match converted.plan {
                None => None,
                Some(plan) => {
                    let first_order = plan
                        .first_order
                        .then(|| uncertainty::propagate_fired(inputs, &stated))
                        .transpose()
                        .map_err(|e| converted.error(&e))?;
                    let monte_carlo = plan
                        .monte_carlo
                        .map(|(samples, seed)| {
                            uncertainty::monte_carlo_fired(inputs, &stated, samples, seed)
                        })
                        .transpose()
                        .map_err(|e| converted.error(&e))?;
                    Some(output::uncertainty_document(
                        &converted.stated,
                        first_order.as_ref(),
                        monte_carlo.as_ref(),
                    ))
                }
            };
            Ok(OutputDocument::Fired(Box::new(output::fired_document(
                &converted,
                inputs,
                &r,
                uncertainty,
                provenance,
            ))))
        }
        EquipmentInputs::HeatExchanger(inputs) => {
            let r =
                thermo::exchanger::calculate_exchanger(inputs).map_err(|e| converted.error(&e))?;
            Ok(OutputDocument::HeatExchanger(Box::new(
                output::exchanger_document(&converted, inputs, &r, provenance),
            )))
        }
    }
}

/// Reads and calculates a document in one step.
pub fn calculate_json(json: &str, options: RunOptions) -> Result<OutputDocument, BoundaryError> {
    run(&read(json)?, options)
}

/// The JSON Schema (draft 2020-12) of the input document, generated from [`input`].
pub fn input_schema() -> serde_json::Value {
    serde_json::Value::from(schemars::schema_for!(CalculationInput))
}
