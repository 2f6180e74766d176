//! The API's description of itself: the OpenAPI 3.1 document generated from the routes'
//! own declarations (`routes::all`), served at `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToResponse, ToSchema};

use crate::error::{self, ErrorBody};
use crate::routes;

/// The whole API: every route, body and error.
pub fn document() -> OpenApi {
    let (_, mut document) = routes::all().split_for_parts();
    document.info = InfoBuilder::new()
        .title("mem0")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Long-lived memories for AI agents, kept in named contexts. Log in at \
             `/auth/login` and send the `jwt_token` as `Authorization: Bearer <token>`.",
        ))
        .build();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    // Every route can answer these: the body limit and the store sit in front of all.
    let everywhere = [
        ("413", error::PayloadTooLarge::response().0),
        ("503", error::Unavailable::response().0),
    ];
    for (name, response) in error::documented() {
        components.responses.insert(name.to_owned(), response);
    }
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            for (status, name) in everywhere {
                operation.responses.responses.insert(
                    status.to_owned(),
                    RefOr::Ref(Ref::from_response_name::<&str>(name)),
                );
            }
        }
    }
    document
}

/// [`document`] as pretty JSON, as `/openapi.json` serves it.
pub fn json() -> String {
    // Our own document always serialises; an empty object would fail every check loudly.
    document()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`.
    fn refs<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let document: serde_json::Value = serde_json::from_str(&json()).unwrap();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 20, "{found:?}");
        for target in found {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(document.pointer(pointer).is_some(), "{target} resolves");
        }
    }

    /// The `enum` of the document's schema `name`.
    fn enum_values(name: &str) -> Vec<String> {
        let document: serde_json::Value = serde_json::from_str(&json()).unwrap();
        let values = document["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has an enum"));
        values
            .iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_documented_enums_are_exactly_the_values_the_store_writes() {
        use store::{AccountType, OrgRole, Role, Visibility};
        // Exhaustive matches: a new variant fails to compile here until it is listed.
        let account_types = [
            AccountType::Individual,
            AccountType::OrganizationAdmin,
            AccountType::OrganizationMember,
        ]
        .map(|v| match v {
            AccountType::Individual
            | AccountType::OrganizationAdmin
            | AccountType::OrganizationMember => v.as_str(),
        });
        let roles = [Role::User, Role::Admin, Role::Member, Role::Viewer].map(|v| match v {
            Role::User | Role::Admin | Role::Member | Role::Viewer => v.as_str(),
        });
        let org_roles = [OrgRole::Admin, OrgRole::Member, OrgRole::Viewer].map(|v| match v {
            OrgRole::Admin | OrgRole::Member | OrgRole::Viewer => v.as_str(),
        });
        let visibilities = [Visibility::Private, Visibility::Organization].map(|v| match v {
            Visibility::Private | Visibility::Organization => v.as_str(),
        });
        assert_eq!(enum_values("AccountType"), account_types);
        assert_eq!(enum_values("Role"), roles);
        assert_eq!(enum_values("OrgRole"), org_roles);
        assert_eq!(enum_values("Visibility"), visibilities);
    }

    #[test]
    fn every_operation_documents_its_errors_and_protected_ones_their_401() {
        let document: serde_json::Value = serde_json::from_str(&json()).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                for status in ["413", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
                if operation.get("security").is_some() {
                    assert!(responses.contains_key("401"), "{method} {path} 401");
                }
            }
        }
    }
}
