//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa).

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use super::routes;

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "THERMALIQ API",
        description = "Thermal-efficiency calculations for industrial plants: facilities, meter \
                       readings and calculations. Bearer tokens (`tq_...`) with roles viewer < \
                       operator < admin. Errors are `{\"error\":{\"code\",\"message\",\"field\"?}}`."
    ),
    servers((url = "/v1/thermaliq")),
    paths(
        routes::health,
        routes::ready,
        routes::list_facilities,
        routes::get_facility,
        routes::put_facility,
        routes::delete_facility,
        routes::post_readings,
        routes::calculate,
        routes::recalculate,
        routes::get_calculation,
        routes::calculation_sankey,
        routes::calculation_benchmark,
        super::analysis::calculation_recommendations,
        super::report::calculation_report,
        super::analysis::list_benchmarks,
        routes::list_calculations,
        super::export::export_calculations,
        routes::latest_calculation,
        routes::flag_equipment,
        routes::invalidate_cache,
        routes::cache_stats,
        super::integrations::integrations_status,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "service", description = "Health and readiness (no token)"),
        (name = "facilities", description = "Facilities and their specs"),
        (name = "readings", description = "Meter readings"),
        (name = "calculations", description = "Facility calculations for a period"),
        (name = "equipment", description = "Equipment units"),
        (name = "admin", description = "Administration (admin role)"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme the protected paths name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
