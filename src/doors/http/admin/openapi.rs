//! The OpenAPI 3.1 document of the admin API, generated from the handlers' `#[utoipa::path]`
//! attributes and the request/response types' `ToSchema` derives. Nothing is downloaded or
//! generated at build time; the document is built once when the router is.
//!
//! [`finish`] adds what every operation shares, so no handler can forget it: the bearer
//! security requirement and the error answers any request may get (400, 401, 500, and for
//! operations with a body 413, 415, 422).

use utoipa::openapi::content::Content;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Doc, Ref};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use super::{
    ErrorBody, audit, events, grants, notifications, photographers, tokens, uploads, usage,
};
use crate::core::gateway::Gateway;

/// The name of the security scheme in the document (also spelt out in `ApiDoc`).
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ftpgate admin API",
        description = "Operator API of ftpgate, the FTP/FTPS ingest gateway for event photos: \
                       photographers, events, grants, usage, uploads and the audit log. Every \
                       operation needs `Authorization: Bearer <token>`; `ftpgate admin-token \
                       create NAME` prints one. Errors are `{\"error\": code, \"message\": text}`. \
                       Times are RFC 3339."
    ),
    security(("bearer" = [])),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody)),
    tags(
        (name = "photographers", description = "Who may log in"),
        (name = "events", description = "Where photos go, with windows and quotas"),
        (name = "grants", description = "Which photographer may use which event"),
        (name = "usage", description = "Bytes and files per event and photographer"),
        (name = "uploads", description = "The files of an event"),
        (name = "audit", description = "Logins, file operations and admin changes"),
        (name = "tokens", description = "Admin API tokens"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every resource group's routes, with the document they describe.
pub fn router() -> OpenApiRouter<Gateway> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(photographers::routes())
        .merge(events::routes())
        .merge(grants::routes())
        .merge(usage::routes())
        .merge(uploads::routes())
        .merge(audit::routes())
        .merge(tokens::routes())
        .merge(notifications::routes())
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

/// Adds the shared error answers to every operation (keeping any an operation declares itself).
pub fn finish(mut doc: Doc) -> Doc {
    let common = [
        (
            "400",
            "Invalid input (identifier, value, query parameter, cursor…)",
        ),
        ("401", "Missing, unknown or revoked bearer token"),
        ("500", "The gateway failed (its log has the details)"),
    ];
    let with_body = [
        ("413", "Body too large"),
        ("415", "Body not JSON"),
        (
            "422",
            "JSON of the wrong shape (missing field, wrong type, unknown field)",
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            let has_body = op.request_body.is_some();
            let extra = if has_body { &with_body[..] } else { &[][..] };
            for (code, description) in common.iter().chain(extra) {
                op.responses
                    .responses
                    .entry(code.to_string())
                    .or_insert_with(|| error_response(description).into());
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc() -> Value {
        let (_, doc) = router().split_for_parts();
        serde_json::to_value(finish(doc)).unwrap()
    }

    #[test]
    fn every_operation_is_secured_and_declares_its_errors() {
        let d = doc();
        assert!(d["openapi"].as_str().unwrap().starts_with("3."));
        assert_eq!(
            d["components"]["securitySchemes"][BEARER]["scheme"],
            "bearer"
        );
        assert_eq!(d["security"][0][BEARER], serde_json::json!([]));
        let paths = d["paths"].as_object().unwrap();
        let mut ops = 0;
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in paths {
            assert!(path.starts_with("/api/v1/"), "{path}");
            for (method, op) in item.as_object().unwrap() {
                ops += 1;
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(
                    ids.insert(id),
                    "{method} {path}: operationId missing or not unique"
                );
                let responses = op["responses"].as_object().unwrap();
                for code in ["400", "401", "500"] {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
                if op.get("requestBody").is_some() {
                    for code in ["413", "415", "422"] {
                        assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                    }
                }
                assert!(
                    responses.keys().any(|c| c.starts_with('2')),
                    "{method} {path} has no success answer"
                );
            }
        }
        // photographers 6 (with unlock), events 4, grants 5, usage 2, uploads 3, audit 1,
        // tokens 2, notifications 2
        assert_eq!(ops, 25, "{:?}", paths.keys().collect::<Vec<_>>());
    }

    #[test]
    fn documented_patterns_are_the_checked_ones() {
        let text = serde_json::to_string(&doc()).unwrap();
        let quoted = |p: &str| serde_json::to_string(p).unwrap();
        assert!(text.contains(&quoted(super::super::USERNAME_PATTERN)));
        assert!(text.contains(&quoted(super::super::EVENT_ID_PATTERN)));
        assert!(text.contains(&quoted(super::super::NO_CONTROL_PATTERN)));
        assert!(text.contains("9007199254740991"));
    }
}
