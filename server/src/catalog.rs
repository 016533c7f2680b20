//! The operator catalog and the examples gallery, from the Python package
//! (so new operators appear without server changes), read once at start-up.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::model::Pipeline;
use crate::pycli::{self, CliError, CliOutcome, PipelineCommand};

/// One gallery example, as `python -m rillet.pipeline gallery` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub pipeline: Pipeline,
}

#[derive(Debug)]
pub struct Catalog {
    /// Served as is: its format belongs to the Python package.
    pub catalog: serde_json::Value,
    pub examples: Vec<Example>,
}

impl Catalog {
    pub async fn load(config: &Config) -> Result<Catalog, CliError> {
        let (catalog, gallery) = tokio::try_join!(
            pycli::run(config, PipelineCommand::Catalog, ""),
            pycli::run(config, PipelineCommand::Gallery, "")
        )?;
        let (CliOutcome::Ok(catalog), CliOutcome::Ok(gallery)) = (catalog, gallery) else {
            return Err(CliError::Garbled { command: "catalog", detail: "it reported input errors".into() });
        };
        let catalog = serde_json::from_str(&catalog)
            .map_err(|e| CliError::Garbled { command: "catalog", detail: e.to_string() })?;
        let examples = serde_json::from_str(&gallery)
            .map_err(|e| CliError::Garbled { command: "gallery", detail: e.to_string() })?;
        Ok(Catalog { catalog, examples })
    }

    pub fn example(&self, slug: &str) -> Option<&Example> {
        self.examples.iter().find(|e| e.slug == slug)
    }
}

async fn get_catalog(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(state.catalog.catalog.clone())
}

/// `GET /api/catalog`.
pub fn router() -> axum::Router<crate::state::AppState> {
    axum::Router::new().route("/api/catalog", axum::routing::get(get_catalog))
}
