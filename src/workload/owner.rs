//! Owner references: the controller of an object, or its first owner of any kind.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The owner reference marked `controller: true`: the object that manages this one, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// The controller, else the first owner of any kind.
pub fn controller_or_first_owner(meta: &ObjectMeta) -> Option<&OwnerReference> {
    controller_of(meta).or_else(|| meta.owner_references.iter().flatten().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(kind: &str, controller: Option<bool>) -> OwnerReference {
        OwnerReference {
            kind: kind.into(),
            name: kind.to_lowercase(),
            controller,
            ..Default::default()
        }
    }

    #[test]
    fn the_controller_wins_over_other_owners() {
        let mut meta = ObjectMeta::default();
        assert!(controller_of(&meta).is_none());
        meta.owner_references = Some(vec![
            owner("ConfigMap", None),
            owner("ReplicaSet", Some(true)),
        ]);
        assert_eq!(
            controller_of(&meta).map(|o| o.kind.as_str()),
            Some("ReplicaSet")
        );
        assert_eq!(
            controller_or_first_owner(&meta).map(|o| o.kind.as_str()),
            Some("ReplicaSet")
        );
        meta.owner_references = Some(vec![owner("ConfigMap", Some(false))]);
        assert!(controller_of(&meta).is_none());
        assert_eq!(
            controller_or_first_owner(&meta).map(|o| o.kind.as_str()),
            Some("ConfigMap")
        );
    }
}
