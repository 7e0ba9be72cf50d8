//! The `Decimal` scalar.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// A decimal number carried as a string (`"101.25"`), never a float.
///
/// The scalar accepts any string: what a valid number is depends on the asset (its
/// decimals) and the field (positive, a tick multiple, ...), so the domain parses it with
/// `common::money` and answers `BAD_USER_INPUT` naming the field. Output is canonical
/// (no trailing zeros), so equal numbers are equal strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(pub String);

impl Decimal {
    /// The text as the client sent it (or as the domain formatted it).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Decimal {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// A decimal number as a string, such as `"101.25"`: no exponent, no sign where amounts
/// must be positive, at most the asset's decimals.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Self(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}
