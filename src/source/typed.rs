//! One YAML document read straight into a typed object (a k8s-openapi `Deployment` …), in one pass,
//! instead of YAML → `serde_yaml::Value` → `serde_json::Value` → typed. It is only a short cut: it
//! answers `None` wherever the long way could answer differently, and the caller then takes the long
//! way, which keeps every message and every refusal as it was. So the short cut is as strict as the
//! long way, never more lenient:
//! - serde_yaml reads any scalar as a string (`value: 8080` into a `String`); the long way refuses
//!   that, as the API server does (`cannot unmarshal number into Go struct field EnvVar.value of
//!   type string`). Here every scalar is resolved first (YAML 1.2 core schema, as a `Value` is), so
//!   `8080` reaches a string field as a number and is refused.
//! - A `Value` refuses a mapping with a key twice; k8s-openapi's structs and maps keep the last one.
//!   Here every mapping remembers its keys and refuses a second one.
//! - Keys must be strings (the long way turns numeric keys into strings: here they are refused).
//! - Enums, tags (`!Ref`), and non-finite floats (JSON has none) are refused.
//! - The top-level mapping must hold `apiVersion` and `kind` (k8s-openapi checks their values when
//!   they are there, but does not require them).

use std::borrow::Cow;
use std::cell::Cell;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};

/// `doc` read as `T`, or None when it is not exactly what the long way would read (see the module).
pub fn typed<T: DeserializeOwned>(doc: &str) -> Option<T> {
    if may_have_tag(doc) {
        return None;
    }
    let root = Cell::new(0u8);
    let de = serde_yaml::Deserializer::from_str(doc);
    let t = T::deserialize(Strict {
        de,
        root: Some(&root),
    })
    .ok()?;
    (root.get() == API_VERSION | KIND).then_some(t)
}

/// Flags of the top-level keys seen.
const API_VERSION: u8 = 1;
const KIND: u8 = 2;

/// A `!` that may start a tag: at the start of a token and followed by a non-blank. It may also be in
/// a quoted string (then the long way reads the document, only slower).
fn may_have_tag(doc: &str) -> bool {
    let b = doc.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'!'
            && (i == 0
                || matches!(
                    b[i - 1],
                    b' ' | b'\t' | b'\n' | b'-' | b':' | b'[' | b'{' | b','
                ))
            && b.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace())
    })
}

/// Reads every scalar through `deserialize_any` (resolved as a `Value` resolves it) and wraps what it
/// hands on, so nested values are read the same way. `root` is set only on the document's own node.
struct Strict<'r, D> {
    de: D,
    root: Option<&'r Cell<u8>>,
}

fn nested<D>(de: D) -> Strict<'static, D> {
    Strict { de, root: None }
}

fn refuse<E: de::Error>(what: &str) -> E {
    E::custom(format_args!("{what}: left to the YAML → JSON path"))
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_any(Wrap { v, root: self.root })
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_option(Wrap { v, root: None })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_newtype_struct(name, Wrap { v, root: None })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_seq(Wrap { v, root: None })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, D::Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_map(Wrap { v, root: self.root })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_struct(name, fields, Wrap { v, root: self.root })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, D::Error> {
        Err(refuse("an enum"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct identifier ignored_any
    }
}

/// The caller's visitor, handed wrapped maps, sequences and nested deserializers.
struct Wrap<'r, V> {
    v: V,
    root: Option<&'r Cell<u8>>,
}

macro_rules! forward_visits {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<E: de::Error>(self, x: $t) -> Result<Self::Value, E> {
            self.v.$name(x)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.v.expecting(f)
    }

    forward_visits!(visit_bool: bool, visit_i8: i8, visit_i16: i16, visit_i32: i32, visit_i64: i64,
        visit_i128: i128, visit_u8: u8, visit_u16: u16, visit_u32: u32, visit_u64: u64,
        visit_u128: u128, visit_char: char, visit_str: &str, visit_borrowed_str: &'de str,
        visit_string: String, visit_bytes: &[u8], visit_borrowed_bytes: &'de [u8],
        visit_byte_buf: Vec<u8>);

    fn visit_f32<E: de::Error>(self, x: f32) -> Result<Self::Value, E> {
        if !x.is_finite() {
            return Err(refuse("a non-finite number"));
        }
        self.v.visit_f32(x)
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
        if !x.is_finite() {
            return Err(refuse("a non-finite number"));
        }
        self.v.visit_f64(x)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.v.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.v.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.v.visit_some(nested(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.v.visit_newtype_struct(nested(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.v.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.v.visit_map(Map {
            map,
            keys: Vec::new(),
            root: self.root,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(refuse("an enum"))
    }
}

/// A seed whose value is read strictly.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(nested(d))
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A mapping that refuses a key it has already had, and keys that are not strings.
struct Map<'r, 'de, A> {
    map: A,
    keys: Vec<Cow<'de, str>>,
    root: Option<&'r Cell<u8>>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = self.map.next_key_seed(KeySeed {
            seed,
            keys: &mut self.keys,
        })?;
        if let (Some(root), Some(last)) = (self.root, self.keys.last()) {
            if key.is_some() {
                match last.as_ref() {
                    "apiVersion" => root.set(root.get() | API_VERSION),
                    "kind" => root.set(root.get() | KIND),
                    _ => {}
                }
            }
        }
        Ok(key)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.map.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

struct KeySeed<'k, 'de, S> {
    seed: S,
    keys: &'k mut Vec<Cow<'de, str>>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Key {
            de: d,
            keys: self.keys,
        })
    }
}

/// A key: a string scalar, once per mapping.
struct Key<'k, 'de, D> {
    de: D,
    keys: &'k mut Vec<Cow<'de, str>>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Key<'_, 'de, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_any(KeyVisitor { v, keys: self.keys })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct KeyVisitor<'k, 'de, V> {
    v: V,
    keys: &'k mut Vec<Cow<'de, str>>,
}

impl<'de, V> KeyVisitor<'_, 'de, V> {
    fn remember<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        if self.keys.contains(&key) {
            return Err(refuse("a duplicate key"));
        }
        self.keys.push(key);
        Ok(())
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for KeyVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(mut self, s: &'de str) -> Result<Self::Value, E> {
        self.remember(Cow::Borrowed(s))?;
        self.v.visit_borrowed_str(s)
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<Self::Value, E> {
        self.remember(Cow::Owned(s.to_string()))?;
        self.v.visit_str(s)
    }

    fn visit_string<E: de::Error>(mut self, s: String) -> Result<Self::Value, E> {
        self.remember(Cow::Owned(s.clone()))?;
        self.v.visit_string(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;

    const HEAD: &str = "apiVersion: apps/v1\nkind: Deployment\n";

    /// The long way: YAML → Value → JSON → typed.
    fn long_way<T: DeserializeOwned>(doc: &str) -> Option<T> {
        let v: serde_yaml::Value = serde_yaml::from_str(doc).ok()?;
        serde_json::from_value(serde_json::to_value(v).ok()?).ok()
    }

    #[test]
    fn reads_what_the_long_way_reads() {
        let doc = format!("{HEAD}metadata:\n  name: web\n  labels: {{app: web, 'n': \"1\"}}\n  uid: 7e1a\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: web}}}}\n  strategy: {{rollingUpdate: {{maxSurge: 25%, maxUnavailable: 0}}}}\n  template:\n    spec:\n      containers:\n      - name: app\n        image: &img nginx\n        resources: {{requests: {{cpu: 0.5, memory: 1e3}}, limits: {{cpu: 1}}}}\n        ports: [{{containerPort: 80}}]\n        readinessProbe: {{httpGet: {{port: http}}}}\n        env: [{{name: A, value: \"8080\"}}, {{name: B, value: *img}}, {{name: C}}]\n      terminationGracePeriodSeconds: ~\nstatus: {{}}\nextra: [1, {{a: b}}]\n");
        let short: Deployment = typed(&doc).expect("read directly");
        assert_eq!(Some(short), long_way::<Deployment>(&doc));
        let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPort: 8080}], selector: {app: web}}\n";
        assert_eq!(typed::<Service>(svc), long_way::<Service>(svc));
        assert!(typed::<Service>(svc).is_some());
    }

    #[test]
    fn leaves_to_the_long_way_what_it_would_read_differently() {
        let cases = [
            // serde_yaml alone would read the number as the string "8080" (the API server refuses it).
            "metadata: {name: w}\nspec: {template: {spec: {containers: [{name: a, env: [{name: P, value: 8080}]}]}}}\n",
            "metadata: {name: w, labels: {enabled: true}}\n",
            // A key twice: a Value refuses it; a struct or a map would keep the last.
            "metadata: {name: w}\nmetadata: {name: v}\n",
            "metadata: {name: w, labels: {a: x, a: y}}\n",
            "metadata: {name: w}\nstatus: {a: 1, a: 2}\n",
            // Keys that are not strings (the long way makes `1` a string key).
            "metadata: {name: w, labels: {1: x}}\n",
            // Tags, non-finite numbers, another kind.
            "metadata: {name: !Sub w}\n",
            "metadata: {name: w}\nspec: {template: {spec: {containers: [{name: a, resources: {limits: {cpu: .inf}}}]}}}\n",
        ];
        for body in cases {
            let doc = format!("{HEAD}{body}");
            assert!(typed::<Deployment>(&doc).is_none(), "{doc}");
        }
        // apiVersion and kind are required, with k8s-openapi's values.
        for doc in [
            "kind: Deployment\nmetadata: {name: w}\n",
            "apiVersion: apps/v1\nmetadata: {name: w}\n",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: w}\n",
            "apiVersion: apps/v1\nnote: \"x\nkind: Deployment\"\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\n---\nkind: Pod\n",
            "- a\n",
        ] {
            assert!(typed::<Deployment>(doc).is_none(), "{doc}");
        }
        assert!(typed::<Deployment>(&format!("{HEAD}metadata: {{name: w}}\n")).is_some());
    }

    #[test]
    fn tags_are_told_from_exclamation_marks() {
        assert!(may_have_tag("a: !Ref b"));
        assert!(may_have_tag("- !!str 1"));
        assert!(!may_have_tag(
            "command: [sh, -c, 'test ! -f x && echo hi!']"
        ));
        assert!(!may_have_tag("a: x!=y"));
    }
}
