//! The `pages` function's router (feature `embedded`): the web pages (`/`, `/login`, `/dashboard`,
//! `/static/*`) and the OpenAPI document, on the same origin as the API, so the token
//! the pages keep in localStorage works exactly as under local-dev. It also answers
//! the API Gateway `$default` route, so an unknown path gets the API's JSON 404 rather
//! than the gateway's own body. The infra checks ask it, in process, which paths it
//! serves.
//!
//! The files are `local-dev/static`, embedded at build time; which path shows which
//! file and the headers they carry come from `site`, as local-dev's do.

use axum::Router;
use axum::extract::{Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use rust_embed::{EmbeddedFile, RustEmbed};

#[derive(RustEmbed)]
#[folder = "../../local-dev/static/"]
struct Static;

/// Each page at its path, every static file under `/static/`, the OpenAPI document,
/// and the API's JSON 404 and 405 for anything else.
pub fn router() -> Router {
    let mut router =
        Router::new()
            .route(
                &format!("{}/{{*file}}", crate::STATIC_PREFIX),
                get(|Path(file): Path<String>, request: Request| async move {
                    embedded(&file, &request)
                }),
            )
            .route(
                crate::OPENAPI_PATH,
                get(|request: Request| async move { embedded(crate::OPENAPI_FILE, &request) }),
            );
    for page in crate::PAGES {
        router = router.route(
            page.path,
            get(move |request: Request| async move { embedded(page.file, &request) }),
        );
    }
    router
        .method_not_allowed_fallback(|| async {
            api::ApiError::MethodNotAllowed(vec![Method::GET])
        })
        .fallback(|| async { api::ApiError::NotFound })
        .layer(axum::middleware::map_response(
            |mut response: Response| async {
                response.headers_mut().insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                response
            },
        ))
}

/// The embedded file `name`, or the API's JSON 404.
fn embedded(name: &str, request: &Request) -> Response {
    match Static::get(name) {
        Some(file) => serve(&file, request, *request.method() == Method::HEAD)
            .map(axum::body::Body::from)
            .into_response(),
        None => api::ApiError::NotFound.into_response(),
    }
}

/// One embedded file with the pages' headers and an ETag from its content, so that
/// a browser revalidating (the pages are `no-cache`) gets a 304 without the body.
fn serve(file: &EmbeddedFile, request: &Request, head: bool) -> http::Response<Bytes> {
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    let unchanged = request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let body = if unchanged || head {
        Bytes::new()
    } else {
        Bytes::from(file.data.to_vec())
    };
    let mut response = http::Response::new(body);
    if unchanged {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    for (name, value) in crate::SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// `request` answered by the function's router, body collected.
    fn answer(request: http::Request<()>) -> http::Response<Bytes> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let response = router()
                .oneshot(request.map(|()| axum::body::Body::empty()))
                .await
                .unwrap();
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            http::Response::from_parts(parts, body)
        })
    }

    fn get(path: &str) -> http::Response<Bytes> {
        answer(http::Request::get(path).body(()).unwrap())
    }

    fn json_error(response: &http::Response<Bytes>) -> String {
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["success"], false);
        body["error"].as_str().unwrap().to_owned()
    }

    #[test]
    fn every_page_is_served_from_its_file_with_the_security_headers() {
        for page in crate::PAGES {
            let response = get(page.path);
            assert_eq!(response.status(), StatusCode::OK, "{}", page.path);
            let on_disk = std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../local-dev/static")
                    .join(page.file),
            )
            .unwrap();
            assert_eq!(
                response.body().as_ref(),
                on_disk.as_slice(),
                "{}",
                page.path
            );
            assert!(
                response.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            for (name, value) in crate::SECURITY_HEADERS {
                assert_eq!(response.headers()[&name], value, "{} {name}", page.path);
            }
        }
    }

    #[test]
    fn every_file_of_the_static_folder_is_served_as_it_is_on_disk() {
        let folder =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../local-dev/static");
        let mut files = 0;
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let response = get(&format!("{}/{name}", crate::STATIC_PREFIX));
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(
                response.body().as_ref(),
                std::fs::read(&path).unwrap(),
                "{name}"
            );
            files += 1;
        }
        assert!(
            files >= crate::PAGES.len(),
            "the folder has the pages at least"
        );
    }

    #[test]
    fn static_files_get_their_content_type() {
        for (path, content_type) in [
            ("/static/app.css", "text/css"),
            ("/static/app.js", "text/javascript"),
            ("/static/favicon.svg", "image/svg+xml"),
        ] {
            let response = get(path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
            assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
            assert!(!response.body().is_empty());
        }
    }

    #[test]
    fn unknown_paths_get_the_api_json_404() {
        for path in [
            "/nope",
            "/static/missing.js",
            "/static/",
            "/static/../Cargo.toml",
            "/static/%2e%2e/Cargo.toml",
            "/login/extra",
            "/auth/unknown",
        ] {
            let response = get(path);
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(json_error(&response), "not_found", "{path}");
            assert_eq!(
                response.headers()[header::X_CONTENT_TYPE_OPTIONS],
                "nosniff"
            );
        }
    }

    #[test]
    fn other_methods_on_pages_get_the_api_json_405() {
        for path in ["/", "/dashboard", "/static/app.js"] {
            let response = answer(http::Request::post(path).body(()).unwrap());
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(json_error(&response), "method_not_allowed");
            assert_eq!(response.headers()[header::ALLOW], "GET");
        }
    }

    #[test]
    fn the_committed_openapi_document_is_the_one_the_code_declares() {
        let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../local-dev/static")
            .join(crate::OPENAPI_FILE);
        let generated = api::openapi::json();
        if std::env::var_os("MEM0_WRITE_OPENAPI").is_some() {
            std::fs::write(&committed, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{} is stale: run `MEM0_WRITE_OPENAPI=1 cargo test -p site --features embedded openapi` and commit it",
            committed.display()
        );
        let served = get(crate::OPENAPI_PATH);
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn head_has_the_headers_without_the_body() {
        let response = answer(http::Request::head("/login").body(()).unwrap());
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.body().is_empty());
        assert!(
            response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
    }

    #[test]
    fn a_revalidation_with_the_current_etag_is_304_without_a_body() {
        let etag = get("/static/app.js").headers()[header::ETAG].clone();
        let again = answer(
            http::Request::get("/static/app.js")
                .header(header::IF_NONE_MATCH, etag.clone())
                .body(())
                .unwrap(),
        );
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.body().is_empty());
        assert_eq!(again.headers()[header::ETAG], etag);
        let stale = answer(
            http::Request::get("/static/app.js")
                .header(header::IF_NONE_MATCH, "\"0123\"")
                .body(())
                .unwrap(),
        );
        assert_eq!(stale.status(), StatusCode::OK);
    }
}
