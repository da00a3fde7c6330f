//! Enums that stay open to a newer API.

/// Serializes `inner`'s fields with a leading `"type": tag`.
#[derive(serde::Serialize)]
pub(crate) struct Tagged<'a, T> {
    #[serde(rename = "type")]
    pub(crate) tag: &'a str,
    #[serde(flatten)]
    pub(crate) inner: &'a T,
}

/// An internally tagged enum (`{"type": "...", ...}`) with an `Unknown(Value)`
/// variant for tags this version does not know. A known tag is parsed strictly:
/// a malformed known variant is an error, never an `Unknown`.
///
/// A variant may name, in braces after its type, fields of type
/// `serde_json::Value` (a tool's `input`, ...): these are moved out of the
/// parsed value before the variant's struct is read and moved back after,
/// instead of being copied through serde's buffer for `#[serde(flatten)]`
/// structs, which costs as much as parsing them again. The result is the same:
/// a `Value` field accepts any JSON, and a missing one is still an error.
macro_rules! open_tagged_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($ty:ty) $({ $($moved:ident),* })?, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
            /// A type this version does not know, kept verbatim (with its `type`).
            Unknown(serde_json::Value),
        }

        impl $name {
            /// Every `type` tag this version knows.
            pub const KNOWN_TYPES: &'static [&'static str] = &[$($tag),*];

            /// The wire `type` tag.
            pub fn type_tag(&self) -> &str {
                match self {
                    $( $name::$variant(_) => $tag, )*
                    $name::Unknown(v) => v.get("type").and_then(|t| t.as_str()).unwrap_or(""),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(inner) => $crate::api::open_enum::Tagged { tag: $tag, inner }.serialize(s), )*
                    $name::Unknown(v) => v.serialize(s),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let mut value = serde_json::Value::deserialize(d)?;
                let tag = match value.get("type").and_then(|t| t.as_str()) {
                    Some(t) => t.to_owned(),
                    None => return Err(D::Error::custom(concat!($what, " without a string `type`"))),
                };
                match tag.as_str() {
                    $( $tag => {
                        if let Some(m) = value.as_object_mut() { m.remove("type"); }
                        $($( let $moved = value.get_mut(stringify!($moved)).map(core::mem::take); )*)?
                        <$ty as serde::Deserialize>::deserialize(value)
                            .map(|inner| {
                                #[allow(unused_mut)]
                                let mut inner = inner;
                                $($( if let Some(v) = $moved { inner.$moved = v; } )*)?
                                $name::$variant(inner)
                            })
                            .map_err(|e| D::Error::custom(format_args!("malformed {} `{}`: {}", $what, $tag, e)))
                    } )*
                    _ => Ok($name::Unknown(value)),
                }
            }
        }
    };
}

/// A string enum with an `Other(String)` variant for values this version does
/// not know.
macro_rules! open_str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $s:literal => $variant:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $s, )*
                    $name::Other(s) => s,
                }
            }

            /// The value for a wire string.
            pub fn parse(s: &str) -> $name {
                match s {
                    $( $s => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}
