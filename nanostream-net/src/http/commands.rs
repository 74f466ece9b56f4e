//! [`Commands`]: broker commands built by a request (a batch of `XADD`s), kept as one byte
//! buffer and the ranges of their arguments, so that a batch of any size costs a few
//! allocations rather than a few per argument; and [`push_fields`], which reads a JSON object
//! of fields straight into it, without building a JSON tree first.

use std::fmt;
use std::ops::Range;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Commands, each a list of arguments, the command's name first.
#[derive(Debug, Default)]
pub(crate) struct Commands {
    bytes: Vec<u8>,
    args: Vec<Range<usize>>,
    commands: Vec<Range<usize>>,
    /// Where the command being built starts in `args`.
    open: Option<usize>,
}

impl Commands {
    /// Starts a command.
    pub(crate) fn begin(&mut self) {
        self.open = Some(self.args.len());
    }

    /// Appends an argument to the command being built.
    pub(crate) fn arg(&mut self, bytes: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        self.args.push(start..self.bytes.len());
    }

    /// Ends the command being built.
    pub(crate) fn end(&mut self) {
        if let Some(first) = self.open.take() {
            self.commands.push(first..self.args.len());
        }
    }

    /// Drops the command being built.
    pub(crate) fn abandon(&mut self) {
        if let Some(first) = self.open.take() {
            let start = self.args.get(first).map_or(self.bytes.len(), |r| r.start);
            self.args.truncate(first);
            self.bytes.truncate(start);
        }
    }

    /// How many commands there are.
    pub(crate) fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether there is none.
    pub(crate) fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The arguments of command `i`.
    pub(crate) fn command(&self, i: usize) -> impl Iterator<Item = &[u8]> {
        self.args[self.commands[i].clone()]
            .iter()
            .map(|r| &self.bytes[r.clone()])
    }
}

/// Why a message's JSON was refused.
#[derive(Debug)]
pub(crate) struct FieldsError(pub(crate) String);

impl fmt::Display for FieldsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads one JSON object of fields from `json` and appends them to the command being built
/// as name, value, name, value... A string value is its UTF-8 bytes, `{"base64": "..."}` the
/// bytes it decodes to, any other value its compact JSON text (numbers in their shortest form:
/// `1.50` is stored as `1.5`). Returns how many fields.
pub(crate) fn push_fields(json: &[u8], commands: &mut Commands) -> Result<usize, FieldsError> {
    let mut reader = serde_json::Deserializer::from_slice(json);
    let fields = reader
        .deserialize_any(ObjectVisitor(commands))
        .map_err(|e| FieldsError(e.to_string()))?;
    reader.end().map_err(|e| FieldsError(e.to_string()))?;
    if fields == 0 {
        return Err(FieldsError("a message needs at least one field".into()));
    }
    Ok(fields)
}

struct ObjectVisitor<'a>(&'a mut Commands);

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while map.next_key_seed(NameSeed(&mut *self.0))?.is_some() {
            map.next_value_seed(ValueSeed(&mut *self.0))?;
            n += 1;
        }
        Ok(n)
    }
}

/// A field name, appended as an argument.
struct NameSeed<'a>(&'a mut Commands);

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<(), E> {
        self.0.arg(name.as_bytes());
        Ok(())
    }
}

/// A field value, appended as an argument.
struct ValueSeed<'a>(&'a mut Commands);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn text(self, value: impl fmt::Display) {
        self.0.arg(value.to_string().as_bytes());
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.0.arg(value.as_bytes());
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.text(v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.text(v);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.text(v);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.text(Value::from(v));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.arg(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value: Value = serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.text(value);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value: Value = serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        match value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("base64"))
        {
            Some(Value::String(b64)) => {
                let bytes = STANDARD
                    .decode(b64)
                    .map_err(|e| de::Error::custom(format!("a base64 value does not decode: {e}")))?;
                self.0.arg(&bytes);
            }
            Some(_) => return Err(de::Error::custom("a {\"base64\": ...} value must hold a string")),
            None => self.text(value),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Result<Vec<Vec<u8>>, FieldsError> {
        let mut commands = Commands::default();
        commands.begin();
        push_fields(json.as_bytes(), &mut commands)?;
        commands.end();
        Ok(commands.command(0).map(<[u8]>::to_vec).collect())
    }

    #[test]
    fn values_become_their_bytes() {
        let got = fields(r#"{"s": "x\n\u00e9", "n": 5, "f": 1.5, "b": true, "z": null, "a": [1, "2"], "o": {"k": 1}, "bin": {"base64": "/wA="}}"#).unwrap();
        let expected: Vec<&[u8]> = vec![
            b"s",
            "x\né".as_bytes(),
            b"n",
            b"5",
            b"f",
            b"1.5",
            b"b",
            b"true",
            b"z",
            b"null",
            b"a",
            b"[1,\"2\"]",
            b"o",
            b"{\"k\":1}",
            b"bin",
            b"\xff\x00",
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn anything_but_a_nonempty_object_is_refused() {
        for bad in [
            "",
            "[]",
            "{}",
            "5",
            "\"x\"",
            "{\"a\": 1} trailing",
            "{\"a\": ",
            "{\"b\": {\"base64\": 5}}",
            "{\"b\": {\"base64\": \"!!\"}}",
        ] {
            assert!(fields(bad).is_err(), "{bad}");
        }
    }

    /// What a field value stands for, computed the slow way: through a JSON tree.
    fn expected_bytes(value: &Value) -> Vec<u8> {
        match value {
            Value::String(s) => s.as_bytes().to_vec(),
            other => other.to_string().into_bytes(),
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<String>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            (-1e12f64..1e12).prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().filter(|(k, _)| k != "base64").collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Reading fields straight into the batch gives what parsing into a JSON tree and
        /// converting each value would, for any object (escapes, unicode, numbers, nesting).
        #[test]
        fn the_streaming_reader_agrees_with_a_json_tree(
            fields in proptest::collection::vec((".{0,8}", json_value()), 1..6)
        ) {
            // Unique names: a JSON object keeps one value per name.
            let mut seen = std::collections::HashSet::new();
            let fields: Vec<(String, Value)> = fields.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
            let object = Value::Object(fields.iter().cloned().collect());
            let text = object.to_string();
            let got = super::tests::fields(&text).unwrap();
            let want: Vec<Vec<u8>> = fields
                .iter()
                .flat_map(|(k, v)| [k.as_bytes().to_vec(), expected_bytes(v)])
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn an_abandoned_command_leaves_nothing() {
        let mut commands = Commands::default();
        commands.begin();
        commands.arg(b"XADD");
        commands.end();
        commands.begin();
        commands.arg(b"half");
        commands.abandon();
        assert_eq!(commands.len(), 1);
        assert_eq!(commands.command(0).collect::<Vec<_>>(), vec![b"XADD".as_slice()]);
    }
}
