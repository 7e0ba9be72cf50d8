//! Response shaping: the client's operation executed (by apollo-compiler's executor) over the
//! merged subgraph data. This is where field order follows the request, aliases, fragments
//! on abstract types and `@skip`/`@include` take effect, `__typename` and introspection are
//! answered, and a null in a non-null position propagates up to the nearest nullable field —
//! across subgraph boundaries — exactly as the GraphQL spec executes a single server.

use apollo_compiler::{
    ExecutableDocument,
    executable::Operation,
    resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue},
    response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment},
    schema::ExtendedType,
    validation::Valid,
};
use common::ErrorCode;

use crate::compose::Supergraph;

static NULL: JsonValue = JsonValue::Null;

struct DataObject<'a> {
    type_name: &'a str,
    map: &'a JsonMap,
}

impl ObjectValue for DataObject<'_> {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let key = info
            .field_selections()
            .first()
            .map(|f| f.response_key().as_str())
            .unwrap_or_else(|| info.field_name());
        let value = self.map.get(key).unwrap_or(&NULL);
        resolve(value, &info.field_definition().ty, info)
    }
}

fn resolve<'a>(
    value: &'a JsonValue,
    ty: &'a apollo_compiler::ast::Type,
    info: &'a ResolveInfo<'a>,
) -> Result<ResolvedValue<'a>, FieldError> {
    match value {
        JsonValue::Null => Ok(ResolvedValue::null()),
        JsonValue::Array(items) if ty.is_list() => {
            let item_ty = ty.item_type();
            Ok(ResolvedValue::List(Box::new(
                items.iter().map(move |item| resolve(item, item_ty, info)),
            )))
        }
        JsonValue::Object(map) => {
            let named = ty.inner_named_type();
            match info.schema().types.get(named) {
                Some(ExtendedType::Object(_)) => Ok(ResolvedValue::Object(Box::new(DataObject {
                    type_name: named.as_str(),
                    map,
                }))),
                Some(ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                    let type_name = map
                        .get("__typename")
                        .and_then(JsonValue::as_str)
                        .ok_or_else(|| FieldError {
                            message: format!("a subgraph returned a {named} without __typename"),
                        })?;
                    Ok(ResolvedValue::Object(Box::new(DataObject {
                        type_name,
                        map,
                    })))
                }
                _ => Ok(ResolvedValue::leaf(value.clone())),
            }
        }
        other => Ok(ResolvedValue::leaf(other.clone())),
    }
}

/// The client's response: `data` shaped from `merged`, and the errors — subgraph errors
/// first (paths already rewritten), then the gateway's own.
pub struct Shaped {
    /// `data` (null when a null reached the root).
    pub data: JsonValue,
    /// Every error.
    pub errors: Vec<JsonValue>,
}

/// Shapes the merged data for `operation`. `variables` are the coerced variable values.
pub fn shape(
    supergraph: &Supergraph,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Valid<JsonMap>,
    merged: &JsonValue,
    subgraph_errors: Vec<JsonValue>,
    introspection: bool,
) -> Shaped {
    let empty = JsonMap::new();
    let root = DataObject {
        type_name: operation.object_type().as_str(),
        map: merged.as_object().unwrap_or(&empty),
    };
    let result = Execution::new(supergraph.api_schema(), document)
        .operation(operation)
        .implementers_map(supergraph.implementers())
        .coerced_variable_values(variables)
        .enable_schema_introspection(introspection)
        .execute_sync(&root);
    let error_paths: Vec<Vec<JsonValue>> = subgraph_errors
        .iter()
        .filter_map(|e| e.get("path").and_then(JsonValue::as_array).cloned())
        .collect();
    // A subgraph error without a path refused a whole fetch (a subgraph's own limit, say):
    // it explains the nulls that fetch left, which the shaping cannot tell apart.
    let fetch_refused = subgraph_errors.iter().any(|e| e.get("path").is_none());
    let mut errors = subgraph_errors;
    match result {
        Ok(response) => {
            for e in response.errors {
                // A null a subgraph already explained needs no second error.
                let path = path_json(&e);
                let explained = e.message.contains("resolved to null")
                    && (fetch_refused
                        || error_paths
                            .iter()
                            .any(|p| is_prefix(p, &path) || is_prefix(&path, p)));
                if !explained {
                    errors.push(gateway_error(e, ErrorCode::Internal));
                }
            }
            Shaped {
                data: response
                    .data
                    .map(JsonValue::Object)
                    .unwrap_or(JsonValue::Null),
                errors,
            }
        }
        Err(e) => {
            let err = e.to_graphql_error(&document.sources);
            errors.push(gateway_error(err, ErrorCode::BadUserInput));
            Shaped {
                data: JsonValue::Null,
                errors,
            }
        }
    }
}

fn path_json(e: &GraphQLError) -> Vec<JsonValue> {
    e.path
        .iter()
        .map(|s| match s {
            ResponseDataPathSegment::Field(n) => JsonValue::String(n.as_str().into()),
            ResponseDataPathSegment::ListIndex(i) => JsonValue::from(*i as u64),
        })
        .collect()
}

fn is_prefix(prefix: &[JsonValue], path: &[JsonValue]) -> bool {
    prefix.len() <= path.len() && prefix.iter().zip(path).all(|(a, b)| a == b)
}

/// A gateway-made error as JSON with a code.
pub fn gateway_error(e: GraphQLError, code: ErrorCode) -> JsonValue {
    let mut v = serde_json_bytes_value(&e);
    if let Some(obj) = v.as_object_mut() {
        let ext = obj
            .entry("extensions")
            .or_insert_with(|| JsonValue::Object(JsonMap::new()));
        if let Some(ext) = ext.as_object_mut()
            && !ext.contains_key("code")
        {
            ext.insert("code", JsonValue::String(code.as_str().into()));
        }
    }
    v
}

fn serde_json_bytes_value(e: &GraphQLError) -> JsonValue {
    apollo_compiler::response::serde_json_bytes::to_value(e).unwrap_or(JsonValue::Null)
}
