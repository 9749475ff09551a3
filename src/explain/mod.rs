//! `kubectl graceful explain`.

use crate::cli::{ExplainArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::exit::Exit;

pub async fn run(_args: ExplainArgs, _global: &GlobalArgs) -> Result<Exit> {
    Err(Error::usage("explain is not implemented yet"))
}
