//! Fleet facts the model accepts but that are almost certainly mistakes. The model already
//! refuses what cannot work (overlapping networks, bad names and versions, unknown references);
//! what is left here are findings about what the fleet does not do.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::Fleet;

pub fn check(fleet: &Fleet) -> Diagnostics {
    let mut diagnostics = crate::model::capi::warnings(&fleet.clusters);
    for tenant in fleet.tenants.values() {
        if !fleet
            .environments
            .values()
            .any(|env| env.tenants.contains_key(&tenant.name))
        {
            diagnostics.push(
                Diagnostic::warning(
                    "unused-tenant",
                    format!(
                        "tenant {} is in no environment; nothing is rendered for it",
                        tenant.name
                    ),
                )
                .at_file(&tenant.file)
                .with_hint(format!(
                    "add environments/<env>/tenants/{}.yaml (fleetgen add-tenant)",
                    tenant.name
                )),
            );
        }
    }
    for env in fleet.environments.values() {
        let file = env.dir.join(crate::load::ENVIRONMENT_FILE);
        if env.clusters.is_empty() {
            diagnostics.push(
                Diagnostic::warning(
                    "empty-environment",
                    format!(
                        "environment {} has no clusters; its branch reaches none",
                        env.name
                    ),
                )
                .at_file(&file)
                .with_hint(format!(
                    "add environments/{}/clusters/<cluster>.env",
                    env.name
                )),
            );
        }
        for (tenant, membership) in &env.tenants {
            if membership.clusters.is_empty() {
                diagnostics.push(
                    Diagnostic::warning(
                        "empty-membership",
                        format!(
                            "tenant {tenant} is in environment {} on no cluster",
                            env.name
                        ),
                    )
                    .at_file(&membership.file),
                );
            }
        }
    }
    diagnostics
}
