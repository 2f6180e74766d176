//! The `pages` Lambda: serves the web pages (`/`, `/login`, `/dashboard`, `/static/*`)
//! on the same origin as the API, so the token the pages keep in localStorage works
//! exactly as under local-dev. It also answers the API Gateway `$default` route, so
//! an unknown path gets the API's JSON 404 rather than the gateway's own body.
//!
//! The files are `local-dev/static`, embedded at build time; which path shows which
//! file and the headers they carry come from `site`, as local-dev's do.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, service_fn};
use rust_embed::{EmbeddedFile, RustEmbed};

#[derive(RustEmbed)]
#[folder = "../../local-dev/static/"]
struct Static;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(|event: lambda_http::Request| async move {
        let started = Instant::now();
        let response = answer(&event);
        // The same fields as the API functions' lines (api::lambda); no headers, no body.
        let (gateway_request_id, route) = match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                (context.request_id.clone(), context.route_key.clone())
            }
            _ => (None, None),
        };
        tracing::info!(
            request_id = event.lambda_context_ref().map(|c| c.request_id.as_str()),
            gateway_request_id,
            method = %event.method(),
            route,
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        Ok::<_, std::convert::Infallible>(response.map(into_body))
    }))
    .await
}

/// The response to a request for `request`'s method and path; bodies are ignored.
fn answer<B>(request: &Request<B>) -> Response<Bytes> {
    let path = request.uri().path();
    let file = match site::page(path) {
        Some(page) => Some(page.file),
        None => path
            .strip_prefix(site::STATIC_PREFIX)
            .and_then(|rest| rest.strip_prefix('/')),
    };
    let mut response = match file {
        None => api::ApiError::NotFound.into_response(),
        Some(_) if !matches!(*request.method(), Method::GET | Method::HEAD) => {
            api::ApiError::MethodNotAllowed(&[Method::GET]).into_response()
        }
        Some(name) => match Static::get(name) {
            Some(file) => serve(&file, request, *request.method() == Method::HEAD),
            None => api::ApiError::NotFound.into_response(),
        },
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// One embedded file with the pages' headers and an ETag from its content, so that
/// a browser revalidating (the pages are `no-cache`) gets a 304 without the body.
fn serve<B>(file: &EmbeddedFile, request: &Request<B>, head: bool) -> Response<Bytes> {
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
    let mut response = Response::new(body);
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
    for (name, value) in site::SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Text as text; anything else as bytes, which the runtime base64-encodes for API Gateway.
fn into_body(bytes: Bytes) -> Body {
    if bytes.is_empty() {
        return Body::Empty;
    }
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(error) => Body::Binary(error.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Response<Bytes> {
        answer(&Request::get(path).body(()).unwrap())
    }

    fn json_error(response: &Response<Bytes>) -> String {
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["success"], false);
        body["error"].as_str().unwrap().to_owned()
    }

    #[test]
    fn every_page_is_served_from_its_file_with_the_security_headers() {
        for page in site::PAGES {
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
            for (name, value) in site::SECURITY_HEADERS {
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
            let response = get(&format!("{}/{name}", site::STATIC_PREFIX));
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(
                response.body().as_ref(),
                std::fs::read(&path).unwrap(),
                "{name}"
            );
            files += 1;
        }
        assert!(
            files >= site::PAGES.len(),
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
            let response = answer(&Request::post(path).body(()).unwrap());
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(json_error(&response), "method_not_allowed");
            assert_eq!(response.headers()[header::ALLOW], "GET");
        }
    }

    #[test]
    fn head_has_the_headers_without_the_body() {
        let response = answer(&Request::head("/login").body(()).unwrap());
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
            &Request::get("/static/app.js")
                .header(header::IF_NONE_MATCH, etag.clone())
                .body(())
                .unwrap(),
        );
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.body().is_empty());
        assert_eq!(again.headers()[header::ETAG], etag);
        let stale = answer(
            &Request::get("/static/app.js")
                .header(header::IF_NONE_MATCH, "\"0123\"")
                .body(())
                .unwrap(),
        );
        assert_eq!(stale.status(), StatusCode::OK);
    }
}
