//! `kubectl graceful restart`, through the built binary against kubesim, by strategy: `usage` (no
//! cluster), `rollouts` (every workload kind and strategy), `releases` (bad releases, rollback),
//! `faults` (signals, a hung or absent API server, refused evictions, watches dropped), `writers`
//! (someone else acting on the workload), `zerodowntime` (EndpointSlices while it rolls),
//! `terminal` (a pseudo-terminal). `common` is what they share beyond `support`.

pub(crate) mod common;
mod faults;
mod releases;
mod rollouts;
mod terminal;
mod usage;
mod writers;
mod zerodowntime;
