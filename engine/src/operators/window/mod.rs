//! Native windowing: `EventClock`/`SystemClock`, tumbling, sliding and
//! session windowers, and the keyed operator that drives them.
//!
//! The plan runs a `window` step here when its clock and windower are
//! exactly the built-in classes (see `rillet.operators.windowing.
//! _native_plan`); anything subclassed keeps the Python path through the
//! step's substeps. Python is entered once per activation, and only the
//! user's callables (timestamp getter, builder, folder, merger, window
//! logic, `now_getter`, `to_system_utc`) run in it. See `engine/DESIGN.md`.

pub mod clock;
pub mod group;
pub mod logic;
pub mod operator;
pub mod plan;
pub mod session;
pub mod sliding;
pub mod state;
pub mod time;

pub use operator::window;
pub use state::WindowSpec;
