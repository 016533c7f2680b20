//! What every handler shares.

use std::sync::Arc;

use sqlx::PgPool;

use crate::assets::Assets;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::runs::RunsState;
use crate::security::Sessions;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    /// The operator catalog and gallery, read once at start-up.
    pub catalog: Arc<Catalog>,
    /// The login token (the configured secret, or a random one).
    pub token: Arc<str>,
    pub sessions: Sessions,
    pub assets: Arc<Assets>,
    pub runs: RunsState,
}
