//! What every operation takes and may answer whatever its handler says:
//! the document must declare each status a client can get (these come from
//! the layers around the handlers: the token check, the body limit, the
//! store) and the `Tessera-Actor` header every model call reads. Added once
//! to the generated document, so no handler can forget one.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, Type,
};

/// Declares the common error answers on every `/v1/` operation.
pub(crate) fn declare_common_answers(api: &mut OpenApi) {
    for (path, item) in &mut api.paths.paths {
        if !path.starts_with("/v1/") {
            continue;
        }
        let public = path == "/v1/keys";
        for (method, operation) in operations(item) {
            let writes = matches!(method, "post" | "put" | "patch");
            let model = operation
                .tags
                .as_ref()
                .is_some_and(|tags| tags.iter().any(|tag| tag == "model"));
            if model {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(actor_header());
            }
            let mut add = |status: &str, why: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_answer(why));
            };
            add(
                "503",
                "UNAVAILABLE: the store cannot be reached or is busy; retry",
            );
            if public {
                continue;
            }
            add("400", "BAD_REQUEST: a malformed id, parameter or body");
            add("401", "UNAUTHENTICATED: a missing or unknown token");
            add(
                "403",
                "FORBIDDEN: the token or the acting user may not do this",
            );
            add(
                "404",
                "NOT_FOUND: an unknown org or id, or one the token does not reach",
            );
            if writes {
                add("413", "PAYLOAD_TOO_LARGE: a body over 1 MiB");
            }
            if writes && path.starts_with("/v1/orgs/{org}/") {
                add("409", "QUOTA_EXCEEDED or an invariant of the model");
            }
        }
    }
}

/// `Tessera-Actor`: the user a model call acts for (the gate and every
/// escalation rule apply); without it, the trusted backend.
fn actor_header() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("Tessera-Actor")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "the user the call acts for; without it, the trusted backend",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9._~-]{1,128}$")),
        ))
        .build()
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation?)))
    .collect()
}

fn error_answer(why: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(why)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}
