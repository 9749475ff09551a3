//! `kubectl graceful explain`.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use crate::cli::{ExplainArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::target::{Kind, Target};

pub async fn run(args: ExplainArgs, global: &GlobalArgs) -> Result<Exit> {
    let kube = crate::connect(global).await?;
    for t in &args.targets {
        let target = Target::parse(t, Some(Kind::Pod), &[Kind::Pod])?;
        let pods: Api<Pod> = Api::namespaced(kube.client.clone(), &kube.namespace);
        kube.call(
            "get",
            &format!("pod {}", target.name),
            Some(&kube.namespace),
            pods.get(&target.name),
        )
        .await?;
    }
    Err(Error::usage("explain is not implemented yet"))
}
