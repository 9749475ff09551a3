//! `kubectl graceful diagnose`.

use crate::cli::{DiagnoseArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::exit::Exit;

pub async fn run(_args: DiagnoseArgs, _global: &GlobalArgs) -> Result<Exit> {
    Err(Error::usage("diagnose is not implemented yet"))
}
