//! `kubectl graceful restart`.

pub mod status;
pub mod trigger;
pub mod workload;

use crate::cli::{GlobalArgs, RestartArgs};
use crate::error::{Error, Result};
use crate::exit::Exit;

pub async fn run(_args: RestartArgs, _global: &GlobalArgs) -> Result<Exit> {
    Err(Error::usage("restart is not implemented yet"))
}
