//! The workload domain, shared by explain, diagnose and restart: what a workload is, how to read one,
//! and the arithmetic of its rollouts and disruption budgets. Nothing here prints or decides policy.
//!
//! - [`Object`] (`object.rs`): a workload object as the API serves it (status included), of any kind,
//!   with the accessors restart's waiting reads (generations, desired pods, partition, revisions);
//! - [`Workload`] (`model.rs`): its spec normalised into one shape for every kind, live or from a
//!   manifest (what diagnose's rules and restart's plan read);
//! - [`fetch`]: `GET`/`PATCH` a workload by kind, the one match from a [`Kind`](crate::target::Kind) to a typed request;
//! - [`rollout`]: int-or-percent values, each kind's strategy with the API defaults, maxSurge and
//!   maxUnavailable in pods as each controller rounds them;
//! - [`pdb`]: PodDisruptionBudget arithmetic (allowed disruptions, what a budget counts, what the
//!   Eviction API lets go);
//! - [`progress`]: where a workload's own rollout stands, from its status (`kubectl rollout status`);
//! - [`owner`]: owner references (the controller, else the first owner).
//!
//! Which PDBs, HPAs and Services surround a workload is matched by [`crate::diagnose::RelatedIndex`];
//! the pods of a workload are listed by each command (explain's targets, restart's waiting).

pub mod fetch;
mod model;
mod object;
pub mod owner;
pub mod pdb;
pub mod progress;
pub mod rollout;

pub use model::Workload;
#[cfg(test)]
pub use object::from_yaml;
pub use object::{Object, FIELD_MANAGER, RESTARTED_AT};
pub use rollout::Strategy;
